"""The partner side before anything is sent: read events from a file and check them as the
workers will (publishing them and awaiting the acks is ``vigie.kafka.publish``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from vigie.contracts.models import PartnerEvent
from vigie.contracts.validation import Issue, validate_event


def read_events(path: Path | str) -> list[PartnerEvent]:
    """A JSON object, a JSON array, or JSON Lines of partner events ('-' reads stdin)."""
    text = (Path("/dev/stdin") if str(path) == "-" else Path(path)).read_text(encoding="utf-8")
    stripped = text.strip()
    if stripped.startswith("["):
        items = json.loads(stripped)
    elif "\n" in stripped and not stripped.startswith("{\n"):
        items = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    else:
        items = [json.loads(stripped)]
    return [PartnerEvent.model_validate(item) for item in items]


def check_locally(event: PartnerEvent) -> list[Issue]:
    """The same business rules the workers apply, before anything leaves the partner."""
    return validate_event(event, topic_partner_id=event.partner_id, now=datetime.now(UTC))

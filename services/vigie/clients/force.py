"""The force side: a unit's status update about an event routed to it (reading what is
routed to a unit is ``vigie.kafka.follow.follow_unit``)."""

from __future__ import annotations

from datetime import UTC, datetime

from vigie.contracts import topics
from vigie.contracts.codec import encode
from vigie.contracts.enums import Force, ForceStatus
from vigie.contracts.models import StatusUpdate


def status_record(
    unit_id: str,
    event_id: str,
    status: ForceStatus,
    *,
    at: datetime | None = None,
    transfer_to_force: Force | None = None,
    root_id: str | None = None,
) -> tuple[str, bytes, bytes]:
    """(topic, key, value) for a status: on the unit's own status topic, keyed by the
    incident's root id (the key of the routed copy the unit received: the event's partition,
    where Vigie remembers it). ``event_id`` may be the root's or a follow-up's own id; give
    ``root_id`` when it is a follow-up's."""
    update = StatusUpdate(
        event_id=event_id,
        unit_id=unit_id,
        status=status,
        at=at or datetime.now(UTC),
        transfer_to_force=transfer_to_force,
    )
    return topics.unit_status(unit_id), (root_id or event_id).encode(), encode(update)

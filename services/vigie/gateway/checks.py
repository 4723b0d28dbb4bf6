"""A partner's JSON body turned into records to publish, or into every problem it has.

The same checks as a worker, in the same order, by the same functions: the model check
(``contracts.codec.model_check``: SCHEMA_VIOLATION), the size of the encoded message
(OVERSIZED, the codec's limit), then ``contracts.validation.validate_event`` with the
partner from the credential as the channel's owner (SENDER_MISMATCH otherwise). So a partner
gets over HTTP the reason codes and French messages its Kafka acknowledgement would carry.
What needs the workers' state or reference data (DUPLICATE, UNKNOWN_REFERENCE, routing) is
still answered by the pipeline, in the acknowledgements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigie.contracts.codec import DecodeError, model_check
from vigie.contracts.models import PartnerEvent
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.validation import Issue, validate_event
from vigie.kafka.publish import Record, partner_record
from vigie.settings import Settings


@dataclass(frozen=True, slots=True)
class Refusal:
    """Every problem of one item of the body (``index`` 0 for a single event)."""

    index: int
    event_id: str | None
    issues: list[Issue]
    detail: str | None = None

    @property
    def reason(self) -> ReasonCode:
        """What the Kafka acknowledgement would say: the first, most fundamental issue."""
        return self.issues[0].reason


@dataclass
class Checked:
    """The body's events, checked: all accepted, or the refusals (nothing is published)."""

    batch: bool
    accepted: list[tuple[PartnerEvent, Record]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def sender_mismatch(self) -> bool:
        return any(i.reason is ReasonCode.SENDER_MISMATCH
                   for r in self.refusals for i in r.issues)


def _schema_issue() -> Issue:
    return Issue(ReasonCode.SCHEMA_VIOLATION, "", ReasonCode.SCHEMA_VIOLATION.message_fr)


def _event_id_of(item: Any) -> str | None:
    value = item.get("event_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


def check_item(
    item: Any, index: int, partner_id: str, settings: Settings, now: datetime
) -> tuple[PartnerEvent, Record] | Refusal:
    """One event of the body: its record to publish, or why it is refused."""
    try:
        event = model_check(item, PartnerEvent)
    except DecodeError as exc:
        return Refusal(index, _event_id_of(item), [_schema_issue()], exc.detail)
    try:
        record = partner_record(event)
    except Exception as exc:  # a value the model takes but Avro cannot carry
        return Refusal(index, _event_id_of(item), [_schema_issue()],
                       f"not encodable ({type(exc).__name__})")
    issues: list[Issue] = []
    if len(record[2]) > settings.max_message_bytes:
        reason = ReasonCode.OVERSIZED
        issues.append(Issue(reason, "", reason.message_fr))
    issues += validate_event(event, topic_partner_id=partner_id, now=now,
                             future_tolerance=settings.future_tolerance,
                             past_horizon=settings.past_horizon)
    if issues:
        return Refusal(index, event.event_id if len(event.event_id) <= 64 else None, issues)
    return event, record


def check_body(
    body: bytes, partner_id: str, settings: Settings, now: datetime, max_batch: int
) -> Checked:
    """A single event (a JSON object) or a batch (an array of them), all or nothing."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return Checked(False, refusals=[Refusal(0, None, [_schema_issue()], "body is not JSON")])
    batch = isinstance(payload, list)
    items = payload if batch else [payload]
    if batch and not 1 <= len(items) <= max_batch:
        return Checked(True, refusals=[Refusal(0, None, [_schema_issue()],
                                               f"a batch holds 1 to {max_batch} events")])
    checked = Checked(batch)
    for index, item in enumerate(items):
        outcome = check_item(item, index, partner_id, settings, now)
        if isinstance(outcome, Refusal):
            checked.refusals.append(outcome)
        else:
            checked.accepted.append(outcome)
    if checked.refusals:
        checked.accepted = []
    return checked

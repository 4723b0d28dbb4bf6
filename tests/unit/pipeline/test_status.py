"""The status relay without Kafka: a unit's status about an event routed to it, and what
it refuses."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.factories import partner_event, record_for
from tests.stages import NOW, Table, acks, inbound, routed
from vigie.acks.lifecycle import check_sequence
from vigie.clients.force import status_record
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Force, ForceStatus
from vigie.contracts.models import DeadLetter
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.messages import Inbound, Outcome
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings


def test_transfer_to_the_other_force(stages) -> None:  # type: ignore[no-untyped-def]
    intake, status, _ = stages
    table = Table()
    event = partner_event("opac-oise", "60395", fresh=True, sent_at=NOW - timedelta(minutes=1))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    unit = table[event.event_id].units[0]
    assert unit.startswith("gn-")
    result = table.apply(status.handle(inbound(status_record(
        unit, event.event_id, ForceStatus.TRANSFER_REQUESTED, at=NOW,
        transfer_to_force=Force.PN)), table.get))
    assert [a.status for a in acks(result)] == [AckStatus.TRANSFER_REQUESTED,
                                                 AckStatus.TRANSFERRED]
    assert [r.decision.force.value for _, r in routed(result)] == ["PN"]  # type: ignore[union-attr]
    assert check_sequence(list(table[event.event_id].lifecycle)) == []


def test_a_status_off_its_key_partition_or_keyed_otherwise_is_refused(
        store: ReferenceStore) -> None:
    status = StatusProcessor(store, Settings(), lambda: NOW)
    event_id = str(uuid.uuid4())
    topic, key, value = status_record("pn-csp-creil", event_id, ForceStatus.TAKEN_IN_CHARGE,
                                      at=NOW)
    misplaced = status.handle(Inbound(topic, 0, 0, key, value, 1), lambda _: None)
    other_key = status.handle(Inbound(topic, 1, 0, b"other", value, 1), lambda _: None)
    for result, reason in ((misplaced, ReasonCode.WRONG_PARTITION),
                           (other_key, ReasonCode.KEY_MISMATCH)):
        [letter] = [decode(o.value, DeadLetter) for o in result.outbound]
        assert result.outcome is Outcome.REJECTED and letter.reason_code == reason.value

"""The stages' logic without Kafka: what each input becomes (records out, table writes)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.scenarios import incident, record_for
from vigie.acks.lifecycle import check_sequence
from vigie.clients.force import status_record
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category, Force, ForceStatus, MessageType
from vigie.contracts.models import Acknowledgement, DeadLetter, RoutedEvent
from vigie.pipeline.escalation import ESCALATION_TIMER, EscalationProcessor
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import EventRecord, Inbound, Outcome, StageResult
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import follow_up

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Table(dict[str, EventRecord]):
    """The events table, in memory."""

    def apply(self, result: StageResult) -> StageResult:
        for record in (result.related, result.record):
            if record is not None:
                self[record.event_id] = record
        return result


@pytest.fixture(scope="module")
def store() -> ReferenceStore:
    return ReferenceStore.with_defaults()


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def stages(store: ReferenceStore, clock: list[datetime]):  # type: ignore[no-untyped-def]
    settings = Settings(alert_takeover_delay_seconds=60)
    now = lambda: clock[0]  # noqa: E731
    return (IntakeProcessor(store, settings, now), StatusProcessor(store, settings, now),
            EscalationProcessor(store, now))


def inbound(record: tuple[str, bytes | None, bytes], offset: int = 0) -> Inbound:
    topic, key, value = record
    return Inbound(topic, 0, offset, key, value)


def acks(result: StageResult) -> list[Acknowledgement]:
    return [decode(o.value, Acknowledgement) for o in result.outbound
            if o.topic.endswith("acks.v1")]


def routed(result: StageResult) -> list[tuple[str, RoutedEvent]]:
    return [(o.topic, decode(o.value, RoutedEvent)) for o in result.outbound
            if o.topic.startswith("force.")]


def test_new_incident_routed_once_then_duplicate(stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    event = incident("opac-oise", "60175", sent_at=NOW - timedelta(minutes=1))
    first = table.apply(intake.handle(inbound(record_for(event)), table.get))
    assert first.outcome is Outcome.ROUTED
    assert [(t, r.unit_id) for t, r in routed(first)] == [
        (topics.unit_incidents("pn-csp-creil"), "pn-csp-creil")]
    assert [a.status for a in acks(first)] == [AckStatus.ROUTED]
    again = table.apply(intake.handle(inbound(record_for(event), offset=7), table.get))
    assert again.outcome is Outcome.DUPLICATE and routed(again) == []
    assert [(a.status, a.units) for a in acks(again)] == [(AckStatus.DUPLICATE, ["pn-csp-creil"])]
    # The very same record consumed again (a crash before the commit) repeats its outputs.
    replay = intake.handle(inbound(record_for(event)), table.get)
    assert replay.outcome is Outcome.REPLAYED
    assert [a.ack_id for a in acks(replay)] == [a.ack_id for a in acks(first)]


def test_wrong_key_and_other_partner_id_rejected(stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    event = incident("opac-oise", "60175", sent_at=NOW - timedelta(minutes=1))
    topic, _, value = record_for(event)
    result = intake.handle(Inbound(topic, 0, 0, b"another-key", value), table.get)
    assert [a.reason_code for a in acks(result)] == ["KEY_MISMATCH"]
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    stolen = record_for(event.model_copy(update={"partner_id": "clesence"}))
    result = intake.handle(inbound(stolen, offset=3), table.get)
    assert [(a.partner_id, a.reason_code) for a in acks(result)] == [
        ("clesence", "EVENT_ID_CONFLICT")]
    assert result.outbound[0].topic == topics.partner_acks("clesence")


def test_update_follows_original_routing(stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    event = incident("opac-oise", "60175", sent_at=NOW - timedelta(minutes=2))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    update = follow_up(event, MessageType.UPDATE, NOW - timedelta(minutes=1), random.Random(1))
    # Even if the update now points elsewhere, it goes where the original went.
    moved = update.model_copy(update={"location": incident("x-y", "60395").location})
    result = intake.handle(inbound(record_for(moved), offset=1), table.get)
    assert [r.unit_id for _, r in routed(result)] == ["pn-csp-creil"]
    unknown = incident("opac-oise", "60175", sent_at=NOW - timedelta(minutes=3))
    orphan = follow_up(unknown, MessageType.CANCEL, NOW, random.Random(2))
    result = intake.handle(inbound(record_for(orphan), offset=2), table.get)
    assert [a.reason_code for a in acks(result)] == ["UNKNOWN_REFERENCE"]


def test_alert_lifecycle_take_in_charge_transfer_escalation(stages, clock) -> None:  # type: ignore[no-untyped-def]
    intake, status, escalation = stages
    table = Table()
    alert = incident("opac-oise", "60175", category=Category.STAFF_AGGRESSION,
                     sent_at=NOW - timedelta(seconds=10))
    result = table.apply(intake.handle(inbound(record_for(alert)), table.get))
    assert routed(result)[0][0] == topics.unit_alerts("pn-csp-creil")
    assert table[alert.event_id].alert_deadline == (NOW + timedelta(seconds=60)).timestamp()

    # Not due yet: nothing happens; once due: escalated to the police command centre.
    ask = Inbound(ESCALATION_TIMER, 0, 0, alert.event_id.encode(), b"")
    assert escalation.handle(ask, table[alert.event_id]).outbound == []
    clock[0] = NOW + timedelta(seconds=61)
    result = table.apply(escalation.handle(ask, table[alert.event_id]))
    assert [(t, r.unit_id) for t, r in routed(result)] == [
        (topics.unit_alerts("pn-cic-oise"), "pn-cic-oise")]
    assert [a.status for a in acks(result)] == [AckStatus.ESCALATED]
    assert escalation.handle(ask, table[alert.event_id]).outbound == []  # at most once

    # The command centre takes it in charge; a unit it was never routed to is refused.
    ok = table.apply(status.handle(inbound(status_record(
        "pn-cic-oise", alert.event_id, ForceStatus.TAKEN_IN_CHARGE, at=clock[0])), table.get))
    assert [a.status for a in acks(ok)] == [AckStatus.TAKEN_IN_CHARGE]
    refused = status.handle(inbound(status_record(
        "gn-bt-meru", alert.event_id, ForceStatus.CLOSED, at=clock[0])), table.get)
    assert refused.outcome is Outcome.REJECTED
    assert [decode(o.value, DeadLetter).reason_code for o in refused.outbound] == [
        "STATUS_NOT_ALLOWED"]
    assert check_sequence(list(table[alert.event_id].lifecycle)) == []


def test_transfer_to_the_other_force(stages) -> None:  # type: ignore[no-untyped-def]
    intake, status, _ = stages
    table = Table()
    event = incident("opac-oise", "60395", sent_at=NOW - timedelta(minutes=1))
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


def test_replays_repeat_the_first_answer_whatever_it_was(stages) -> None:  # type: ignore[no-untyped-def]
    """After a crash before the commit, an input is read again: its answer must be the same
    record (same ack id, same status), not a DUPLICATE of itself."""
    intake, _, _ = stages
    table = Table()
    event = incident("opac-oise", "60175", sent_at=NOW - timedelta(minutes=2))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    update = follow_up(event, MessageType.UPDATE, NOW - timedelta(minutes=1), random.Random(3))
    late = incident("opac-oise", "60175", sent_at=NOW + timedelta(days=1))  # refused
    for record, offset, replayed in ((record_for(update), 1, Outcome.REPLAYED),
                                     (record_for(late), 2, Outcome.REJECTED)):
        first = table.apply(intake.handle(inbound(record, offset), table.get))
        again = intake.handle(inbound(record, offset), table.get)
        # A rejection leaves no state entry: its replay is judged afresh, to the same answer.
        assert again.outcome is replayed and again.record is None
        assert [(a.ack_id, a.status) for a in acks(again)] == [
            (a.ack_id, a.status) for a in acks(first)]
        assert [r.unit_id for _, r in routed(again)] == [r.unit_id for _, r in routed(first)]

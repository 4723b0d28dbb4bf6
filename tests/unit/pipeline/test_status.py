"""The status relay without Kafka: a unit's status about an event routed to it, and what
it refuses."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from tests.factories import partner_event, record_for, unit_rules
from tests.stages import NOW, Table, acks, dead_letters, feedback, inbound, routed
from vigie.acks.lifecycle import check_sequence
from vigie.clients.force import status_record
from vigie.contracts.enums import (
    AckStatus,
    Category,
    EventStatus,
    Force,
    ForceStatus,
    MessageType,
)
from vigie.contracts.models import ExerciseWindow
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import Inbound, Outcome
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import follow_up


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
        [letter] = dead_letters(result)
        assert result.outcome is Outcome.REJECTED and letter.reason_code == reason.value
        [(topic, answer)] = feedback(result)
        assert topic == "force.pn-csp-creil.feedback.v1"
        assert (answer.unit_id, answer.event_id, answer.status, answer.reason_code) == (
            "pn-csp-creil", event_id, "TAKEN_IN_CHARGE", reason.value)


def test_a_status_citing_a_follow_up_id_keyed_by_the_root_acts_on_the_root(
        stages) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: a unit may cite any id of the incident it received (the root's or an
    update's own), keyed by the root id; a take in charge then stops the root's timer."""
    intake, status, _ = stages
    table = Table()
    alert = partner_event("opac-oise", "60395", fresh=True, category=Category.STAFF_THREAT,
                          sent_at=NOW - timedelta(minutes=1))
    table.apply(intake.handle(inbound(record_for(alert)), table.get))
    [unit] = table[alert.event_id].units
    assert table[alert.event_id].alert_deadline is not None
    update = follow_up(alert, MessageType.UPDATE, NOW, random.Random(7))
    table.apply(intake.handle(inbound(record_for(update), offset=1), table.get))
    assert table[update.event_id].root_id == alert.event_id

    topic, _, value = status_record(unit, update.event_id, ForceStatus.TAKEN_IN_CHARGE, at=NOW)
    # Keyed by the update's own id: refused (the root id is the key), and told so.
    wrong = status.handle(Inbound(topic, 0, 0, update.event_id.encode(), value), table.get)
    assert [(t, a.reason_code) for t, a in feedback(wrong)] == [
        (f"force.{unit}.feedback.v1", "KEY_MISMATCH")]
    assert table[alert.event_id].alert_deadline is not None
    # Keyed by the root id: the root is taken in charge, its timer stopped.
    ok = table.apply(status.handle(Inbound(topic, 0, 1, alert.event_id.encode(), value),
                                   table.get))
    assert [(a.event_id, a.status) for a in acks(ok)] == [
        (alert.event_id, AckStatus.TAKEN_IN_CHARGE)]
    assert table[alert.event_id].alert_deadline is None
    assert feedback(ok) == [] and dead_letters(ok) == []


def test_a_refused_status_is_answered_on_the_units_feedback_topic_in_french(
        stages) -> None:  # type: ignore[no-untyped-def]
    intake, status, _ = stages
    table = Table()
    event = partner_event("opac-oise", "60395", fresh=True, sent_at=NOW - timedelta(minutes=1))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    closed = status_record("gn-bt-meru", event.event_id, ForceStatus.CLOSED, at=NOW)
    table.apply(status.handle(inbound(closed), table.get))
    again = status.handle(inbound(closed, 1), table.get)
    [(topic, answer)] = feedback(again)
    assert topic == "force.gn-bt-meru.feedback.v1"
    assert (answer.event_id, answer.status, answer.reason_code) == (
        event.event_id, "CLOSED", "STATUS_NOT_ALLOWED")
    assert answer.reason_message == (
        "Changement de statut non autorisé. CLOSED n'est pas accepté après CLOSED.")
    assert (answer.source.topic, answer.source.offset) == ("force.gn-bt-meru.status.v1", 1)
    # Operations still get the bytes.
    assert [letter.reason_code for letter in dead_letters(again)] == ["STATUS_NOT_ALLOWED"]


def test_no_unit_can_speak_for_a_test_event(stages) -> None:  # type: ignore[no-untyped-def]
    intake, status, _ = stages
    table = Table()
    test = partner_event("opac-oise", "60395", fresh=True, status=EventStatus.TEST,
                         sent_at=NOW - timedelta(minutes=1))
    table.apply(intake.handle(inbound(record_for(test)), table.get))
    assert table[test.event_id].units == ("gn-bt-meru",)  # where it would have gone
    result = status.handle(inbound(status_record(
        "gn-bt-meru", test.event_id, ForceStatus.TAKEN_IN_CHARGE, at=NOW)), table.get)
    assert [a.reason_code for _, a in feedback(result)] == ["UNKNOWN_REFERENCE"]
    assert acks(result) == []


def test_an_exercise_is_transferred_only_to_a_unit_taking_part() -> None:
    """An EXERCISE the brigade sends back as the police's stays in the exercise: refused when
    the police's unit takes part in none (issue 18)."""
    store = ReferenceStore.with_defaults()
    window = ExerciseWindow(name="EXO-OISE", start=NOW - timedelta(hours=1),
                            end=NOW + timedelta(hours=1))
    store.upsert_rules(unit_rules("gn-bt-meru", exercises=[window]))
    settings = Settings()
    intake = IntakeProcessor(store, settings, lambda: NOW)
    status = StatusProcessor(store, settings, lambda: NOW)
    table = Table()
    event = partner_event("opac-oise", "60395", fresh=True, status=EventStatus.EXERCISE,
                          sent_at=NOW - timedelta(minutes=1))
    first = table.apply(intake.handle(inbound(record_for(event)), table.get))
    assert [r.unit_id for _, r in routed(first)] == ["gn-bt-meru"]
    result = status.handle(inbound(status_record(
        "gn-bt-meru", event.event_id, ForceStatus.TRANSFER_REQUESTED, at=NOW,
        transfer_to_force=Force.PN)), table.get)
    assert routed(result) == [] and acks(result) == []
    assert [(a.reason_code, a.reason_message) for _, a in feedback(result)] == [(
        "STATUS_NOT_ALLOWED", "Changement de statut non autorisé. L'unité visée par le "
        "transfert ne participe à aucun exercice en cours.")]
    # Once the police's centre takes part, the transfer goes there.
    store.upsert_rules(unit_rules("pn-cic-oise", exercises=[window]))
    moved = status.handle(inbound(status_record(
        "gn-bt-meru", event.event_id, ForceStatus.TRANSFER_REQUESTED, at=NOW,
        transfer_to_force=Force.PN), 1), table.get)
    assert [r.unit_id for _, r in routed(moved)] == ["pn-cic-oise"]

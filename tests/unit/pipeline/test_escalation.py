"""The escalation stage without Kafka: an alert nobody took in charge in time goes to the
command centre on duty, once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.factories import partner_event, record_for, unit_availability, unit_rules
from tests.stages import NOW, Table, acks, dead_letters, feedback, inbound, routed
from vigie.acks.lifecycle import check_sequence
from vigie.clients.force import status_record
from vigie.contracts import topics
from vigie.contracts.enums import AckStatus, Category, EventStatus, ForceStatus
from vigie.contracts.models import ExerciseWindow
from vigie.pipeline.escalation import ESCALATION_TIMER, EscalationProcessor
from vigie.pipeline.intake import IntakeProcessor, rules_context
from vigie.pipeline.messages import Inbound, Outcome
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings

MERU = "60395"


def test_alert_lifecycle_take_in_charge_transfer_escalation(stages, clock) -> None:  # type: ignore[no-untyped-def]
    intake, status, escalation = stages
    table = Table()
    alert = partner_event("opac-oise", "60175", fresh=True, category=Category.STAFF_AGGRESSION,
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
    assert [letter.reason_code for letter in dead_letters(refused)] == ["STATUS_NOT_ALLOWED"]
    assert [(topic, answer.reason_code) for topic, answer in feedback(refused)] == [
        ("force.gn-bt-meru.feedback.v1", "STATUS_NOT_ALLOWED")]
    assert check_sequence(list(table[alert.event_id].lifecycle)) == []


def test_escalation_goes_to_the_centre_on_duty() -> None:
    store = ReferenceStore.with_defaults()
    monday = datetime.fromisoformat("2026-11-30T10:00+01:00")
    settings = Settings(routing_clock_at=monday, alert_takeover_delay_seconds=60)
    table = Table()
    intake = IntakeProcessor(store, settings, lambda: NOW)
    event = partner_event("opac-oise", MERU, fresh=True, category=Category.STAFF_THREAT,
                          sent_at=NOW - timedelta(minutes=1))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    assert table[event.event_id].units == ("gn-bt-meru",)
    store.set_availability(unit_availability("gn-corg-oise", monday + timedelta(hours=1)))
    later = NOW + timedelta(minutes=2)
    escalation = EscalationProcessor(store, lambda: later, context=rules_context(settings))
    timer = Inbound(ESCALATION_TIMER, 0, 0, event.event_id.encode(), b"")
    result = table.apply(escalation.handle(timer, table[event.event_id]))
    [(topic, copy)] = routed(result)
    assert topic == topics.unit_alerts("pn-cic-oise")
    assert copy.decision.routing_rule == "UNIT_UNAVAILABLE"
    assert copy.decision.competent_unit_id == "gn-bt-meru"
    assert "gn-corg-oise UNIT_UNAVAILABLE" in copy.decision.explanation
    [ack] = acks(result)
    assert ack.status is AckStatus.ESCALATED and ack.units == ["pn-cic-oise"]
    assert result.diversion == ("UNIT_UNAVAILABLE", "gn-corg-oise")


@pytest.mark.parametrize("centre_takes_part", [True, False])
def test_an_exercise_alert_escalates_only_to_a_centre_taking_part(
        centre_takes_part: bool) -> None:
    """The exercise of pn-csp-creil escalates; its alert reaches the police centre only if
    the centre takes part in an exercise too (issue 18, docs/routing.md)."""
    store = ReferenceStore.with_defaults()
    window = ExerciseWindow(name="EXO-OISE", start=NOW - timedelta(hours=1),
                            end=NOW + timedelta(hours=1), escalate=True)
    store.upsert_rules(unit_rules("pn-csp-creil", exercises=[window]))
    if centre_takes_part:
        store.upsert_rules(unit_rules("pn-cic-oise", exercises=[window]))
    clock = [NOW]
    settings = Settings(alert_takeover_delay_seconds=60)
    intake = IntakeProcessor(store, settings, lambda: clock[0])
    escalation = EscalationProcessor(store, lambda: clock[0])
    table = Table()
    alert = partner_event("opac-oise", "60175", fresh=True, category=Category.STAFF_AGGRESSION,
                          status=EventStatus.EXERCISE, sent_at=NOW - timedelta(seconds=10))
    first = table.apply(intake.handle(inbound(record_for(alert)), table.get))
    assert [t for t, _ in routed(first)] == [topics.unit_alerts("pn-csp-creil")]
    clock[0] = NOW + timedelta(seconds=61)
    ask = Inbound(ESCALATION_TIMER, 0, 0, alert.event_id.encode(), b"")
    result = escalation.handle(ask, table[alert.event_id])
    if centre_takes_part:
        assert [t for t, _ in routed(result)] == [topics.unit_alerts("pn-cic-oise")]
        assert [a.status for a in acks(result)] == [AckStatus.ESCALATED]
    else:
        assert (result.outbound, result.record) == ([], None)

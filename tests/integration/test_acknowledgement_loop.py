"""The acknowledgement loop on the real broker: statuses relayed, alerts escalated, transfers."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from tests.factories import partner_event, record_for
from tests.integration.kafka_tools import consume, produce, run
from vigie.acks.lifecycle import check_sequence
from vigie.clients.force import status_record
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import (
    AckStatus,
    Category,
    EventStatus,
    Force,
    ForceStatus,
    MessageType,
)
from vigie.contracts.models import Acknowledgement, DeadLetter, RoutedEvent, UnitFeedback
from vigie.settings import Settings
from vigie.simulation.feed import follow_up

pytestmark = pytest.mark.integration

CREIL, MERU = "60175", "60395"


def _acks(settings: Settings, partner: str, until) -> dict[str, list[AckStatus]]:  # type: ignore[no-untyped-def]
    records = run(consume(settings, [topics.partner_acks(partner)], until=until, timeout=60,
                          settle=1.0))
    seen: dict[str, list[AckStatus]] = defaultdict(list)
    ids: set[str] = set()
    for r in records:
        ack = decode(r.value, Acknowledgement)
        if ack.ack_id not in ids:  # a copy re-sent after a crash carries the same id
            ids.add(ack.ack_id)
            seen[ack.event_id or "?"].append(ack.status)
    return seen


def _count(event_ids: set[str], status: AckStatus):  # type: ignore[no-untyped-def]
    def until(records) -> bool:  # type: ignore[no-untyped-def]
        acks = [decode(r.value, Acknowledgement) for r in records]
        return sum(a.status is status and a.event_id in event_ids for a in acks) >= len(event_ids)
    return until


def test_status_relay_escalation_and_transfer(start_worker, kafka_settings, partners) -> None:  # type: ignore[no-untyped-def]
    start_worker(extra_env={"VIGIE_ALERT_TAKEOVER_DELAY_SECONDS": "4"})
    settings, partner = kafka_settings, partners[0]
    answered = partner_event(partner, CREIL, fresh=True, category=Category.STAFF_AGGRESSION)
    ignored = partner_event(partner, CREIL, fresh=True, category=Category.STAFF_AGGRESSION)
    misrouted = partner_event(partner, MERU, fresh=True)
    # Issue 18: an alert the unit takes in charge citing its update's own id (keyed by the
    # root id, the contract), and a TEST alert, which must reach no unit and never escalate.
    followed = partner_event(partner, CREIL, fresh=True, category=Category.STAFF_AGGRESSION)
    update = follow_up(followed, MessageType.UPDATE, followed.sent_at, random.Random(18))
    test = partner_event(partner, CREIL, fresh=True, category=Category.STAFF_AGGRESSION,
                         status=EventStatus.TEST)
    events = (answered, ignored, misrouted, followed, update, test)
    records = [record_for(e) for e in events]
    records = [(topics.partner_alerts(partner) if e is not misrouted else t, k, v)
               for e, (t, k, v) in zip(events, records, strict=True)]
    run(produce(settings, records))
    ids = {e.event_id for e in events}
    _acks(settings, partner, _count(ids, AckStatus.ROUTED))

    # Creil's police takes the first alert in charge at once; a Méru brigade sends the
    # incident back as not its own; another unit tries to speak for an event not its own.
    gn_unit = None
    routed = run(consume(settings, [topics.unit_incidents(u) for u in _gn_units()],
                         until=lambda rs: any(decode(r.value, RoutedEvent).event.event_id
                                              == misrouted.event_id for r in rs), settle=0))
    for r in routed:
        copy = decode(r.value, RoutedEvent)
        if copy.event.event_id == misrouted.event_id:
            gn_unit = copy.unit_id
    assert gn_unit is not None
    run(produce(settings, [
        status_record("pn-csp-creil", answered.event_id, ForceStatus.TAKEN_IN_CHARGE),
        status_record(gn_unit, misrouted.event_id, ForceStatus.TRANSFER_REQUESTED,
                      transfer_to_force=Force.PN),
        status_record("pn-csp-beauvais", answered.event_id, ForceStatus.CLOSED),  # not its own
        status_record("pn-csp-creil", update.event_id, ForceStatus.TAKEN_IN_CHARGE,
                      root_id=followed.event_id),
    ]))

    seen = _acks(settings, partner, lambda rs: _escalated(rs, ignored.event_id)
                 and _has(rs, misrouted.event_id, AckStatus.TRANSFERRED))
    assert seen[answered.event_id] == [AckStatus.ROUTED, AckStatus.TAKEN_IN_CHARGE]
    assert seen[ignored.event_id] == [AckStatus.ROUTED, AckStatus.ESCALATED]
    assert seen[misrouted.event_id] == [AckStatus.ROUTED, AckStatus.TRANSFER_REQUESTED,
                                        AckStatus.TRANSFERRED]
    # Taken in charge through its update's id: the root alert did not escalate (the ignored
    # one, routed with it, did); the TEST alert had no timer at all.
    assert seen[followed.event_id] == [AckStatus.ROUTED, AckStatus.TAKEN_IN_CHARGE]
    assert seen[update.event_id] == [AckStatus.ROUTED]
    assert seen[test.event_id] == [AckStatus.ROUTED]
    for statuses in seen.values():
        assert check_sequence(statuses) == []
    issued = {(a.event_id, a.status): a.issued_at for a in _all_acks(settings, partner)}
    late = (issued[(ignored.event_id, AckStatus.ESCALATED)]
            - issued[(ignored.event_id, AckStatus.ROUTED)]).total_seconds()
    print(f"\nescalated {late:.1f}s after routing (delay 4s)")

    # The escalated alert reached the police command centre, on its alert topic.
    centre = run(consume(settings, [topics.unit_alerts("pn-cic-oise")],
                         until=lambda rs: any(decode(r.value, RoutedEvent).event.event_id
                                              == ignored.event_id for r in rs), settle=0))
    assert any(decode(r.value, RoutedEvent).event.event_id == ignored.event_id for r in centre)
    # The transferred incident reached the police (the other force).
    police = run(consume(settings, [topics.unit_incidents(u) for u in _pn_units()],
                         until=lambda rs: any(decode(r.value, RoutedEvent).event.event_id
                                              == misrouted.event_id for r in rs), settle=0))
    assert any(decode(r.value, RoutedEvent).event.event_id == misrouted.event_id for r in police)
    # The status from a unit the event was not routed to is refused with a reason.
    letters = run(consume(settings, [topics.DEADLETTER], until=lambda rs: any(
        decode(r.value, DeadLetter).event_id == answered.event_id for r in rs), settle=0))
    refused = [decode(r.value, DeadLetter) for r in letters]
    refused = [d for d in refused if d.event_id == answered.event_id]
    assert [d.reason_code for d in refused] == ["STATUS_NOT_ALLOWED"]
    assert refused[0].source.topic == topics.unit_status("pn-csp-beauvais")
    # ... and the unit is told, on its own feedback topic, in French (issue 18).
    told = run(consume(settings, [topics.unit_feedback("pn-csp-beauvais")], until=lambda rs: any(
        decode(r.value, UnitFeedback).event_id == answered.event_id for r in rs), settle=0))
    answers = [a for r in told if (a := decode(r.value, UnitFeedback)).event_id
               == answered.event_id]
    assert [(a.unit_id, a.status, a.reason_code) for a in answers] == [
        ("pn-csp-beauvais", "CLOSED", "STATUS_NOT_ALLOWED")]
    assert answers[0].reason_message.startswith("Changement de statut non autorisé.")

    # The TEST alert: answered from the partner's sandbox with what would have happened, and
    # no unit topic holds it (its copy and any unit's would be in the same transaction).
    [ack] = [a for a in _all_acks(settings, partner) if a.event_id == test.event_id]
    assert (ack.reason_code, ack.units) == ("TEST_EVENT", ["pn-csp-creil"])
    sandbox = run(consume(settings, [topics.partner_sandbox(partner)], until=lambda rs: any(
        decode(r.value, RoutedEvent).event.event_id == test.event_id for r in rs), settle=0))
    assert [decode(r.value, RoutedEvent).unit_id for r in sandbox] == ["pn-csp-creil"]
    reached = run(consume(settings, [topics.unit_alerts(u) for u in _units()],
                          until=lambda rs: True, settle=1.0))
    assert not any(decode(r.value, RoutedEvent).event.event_id == test.event_id
                   for r in reached)



def _all_acks(settings: Settings, partner: str) -> list[Acknowledgement]:
    records = run(consume(settings, [topics.partner_acks(partner)], until=lambda rs: True,
                          settle=1.0))
    return [decode(r.value, Acknowledgement) for r in records]


def _has(records, event_id: str, status: AckStatus) -> bool:  # type: ignore[no-untyped-def]
    return any((a := decode(r.value, Acknowledgement)).event_id == event_id
               and a.status is status for r in records)


def _escalated(records, event_id: str) -> bool:  # type: ignore[no-untyped-def]
    return _has(records, event_id, AckStatus.ESCALATED)


def _units():  # type: ignore[no-untyped-def]
    from vigie.reference.snapshot import ReferenceStore

    return ReferenceStore.with_defaults().snapshot().units


def _gn_units() -> list[str]:
    return [u for u in _units() if u.startswith("gn-")]


def _pn_units() -> list[str]:
    return [u for u in _units() if u.startswith("pn-")]

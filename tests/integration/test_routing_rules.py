"""The routing rules on the real broker (issue 15), with the workers' rules clock set.

Night: an urgent alert in Méru (gendarmerie zone) at 02:00 on a Sunday arrives on the CORG's
alert topic, naming the brigade whose zone it is; the landlord's acknowledgement says so.
Day (Monday 10:00, same consumer group, so the worker goes on where the night one stopped):
the same alert reaches the brigade; with the CORG declared unavailable its escalation goes to
the unit on duty in its place (the police CIC); the brigade declared unavailable with
``vigie unit unavailable`` gets nothing new — alert and incident go to its compagnie —
until ``vigie unit available``.

Availability is shared reference data on the session's broker: every declaration made here
is undone in ``finally`` (latest record per unit wins).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord

import vigie
from tests.factories import partner_event, record_for, unit_availability
from tests.integration.kafka_tools import consume, produce, run
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category
from vigie.contracts.models import Acknowledgement, PartnerEvent, RoutedEvent
from vigie.kafka.publish import publish_reference
from vigie.settings import Settings

pytestmark = pytest.mark.integration

MERU = "60395"
BRIGADE, COMPANY, CORG, CIC = "gn-bt-meru", "gn-cie-meru", "gn-corg-oise", "pn-cic-oise"
NIGHT = "2026-11-29T02:00:00+01:00"  # a Sunday: the brigade and its compagnie are closed
DAY = "2026-11-30T10:00:00+01:00"  # a Monday: both on duty
#: Far in the future of both the real clock and the rules' clock.
LATER = "2031-01-01T00:00+01:00"


def _alert(partner: str) -> tuple[PartnerEvent, tuple[str, bytes, bytes]]:
    event = partner_event(partner, MERU, fresh=True, category=Category.STAFF_THREAT)
    return event, record_for(event)  # on the partner's alerts topic


def _incident(partner: str) -> tuple[PartnerEvent, tuple[str, bytes, bytes]]:
    event = partner_event(partner, MERU, fresh=True, category=Category.GRAFFITI)
    return event, record_for(event)


def _copies(settings: Settings, units: list[str], wanted: set[str], settle: float = 0.5,
            require: set[str] | None = None) -> dict[str, list[tuple[str, RoutedEvent]]]:
    """Routed copies of the ``wanted`` events on the units' topics: event id -> [(topic,
    copy)], once each ``require``d event (default: each wanted one) has at least one."""
    required = wanted if require is None else require
    names = [t for u in units for t in (topics.unit_alerts(u), topics.unit_incidents(u))]

    def by_event(records: list[ConsumerRecord]) -> dict[str, list[tuple[str, RoutedEvent]]]:
        found: dict[str, list[tuple[str, RoutedEvent]]] = {}
        for r in records:
            copy = decode(r.value, RoutedEvent)
            if copy.event.event_id in wanted:
                found.setdefault(copy.event.event_id, []).append((r.topic, copy))
        return found

    records = run(consume(settings, names, until=lambda rs: set(by_event(rs)) >= required,
                          timeout=60, settle=settle))
    return by_event(records)


def _acks(settings: Settings, partner: str,
          until: Callable[[list[Acknowledgement]], bool]) -> list[Acknowledgement]:
    records = run(consume(settings, [topics.partner_acks(partner)],
                          until=lambda rs: until([decode(r.value, Acknowledgement) for r in rs]),
                          timeout=60, settle=0.5))
    return [decode(r.value, Acknowledgement) for r in records]


def _vigie(settings: Settings, *args: str) -> str:
    """The real command line, as operations would type it, with this test's broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(settings.environment())
    env["PYTHONPATH"] = str(Path(vigie.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-m", "vigie", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _available(settings: Settings, *units: str) -> None:
    run(publish_reference(settings, availability=[
        unit_availability(u, declared_at=datetime.now(UTC)) for u in units]))


def _routed_once(acks: list[Acknowledgement], event_id: str) -> Acknowledgement:
    [ack] = [a for a in acks if a.event_id == event_id and a.status is AckStatus.ROUTED]
    return ack


def test_rules_route_by_the_clock_and_by_availability(  # type: ignore[no-untyped-def]
    start_worker, kafka_settings, partners
) -> None:
    partner = partners[0]
    settings = kafka_settings

    # -- night: the alert goes to the CORG, naming the brigade ----------------------------
    night = start_worker(extra_env={"VIGIE_ROUTING_CLOCK_AT": NIGHT,
                                    "VIGIE_ALERT_TAKEOVER_DELAY_SECONDS": "3600"})
    at_night, record = _alert(partner)
    run(produce(settings, [record]))
    copies = _copies(settings, [BRIGADE, CORG], {at_night.event_id})[at_night.event_id]
    assert [(t, c.unit_id) for t, c in copies] == [(topics.unit_alerts(CORG), CORG)]
    decision = copies[0][1].decision
    assert decision.competent_unit_id == BRIGADE and decision.routing_rule == "OUTSIDE_HOURS"
    assert decision.rules_version and "gn-bt-meru OUTSIDE_HOURS" in decision.explanation
    ack = _routed_once(_acks(settings, partner, lambda acks: any(
        a.event_id == at_night.event_id for a in acks)), at_night.event_id)
    assert ack.units == [CORG] and ack.routing_rule == "OUTSIDE_HOURS"
    assert ack.competent_unit_id == BRIGADE
    night.stop()

    # -- day: the same alert reaches the brigade; its escalation the centre on duty -----------
    start_worker(extra_env={"VIGIE_ROUTING_CLOCK_AT": DAY,
                            "VIGIE_ALERT_TAKEOVER_DELAY_SECONDS": "4"})
    try:
        run(publish_reference(settings, availability=[unit_availability(
            CORG, datetime.fromisoformat(LATER), declared_at=datetime.now(UTC))]))
        by_day, record = _alert(partner)
        run(produce(settings, [record]))
        copies = _copies(settings, [BRIGADE], {by_day.event_id})[by_day.event_id]
        assert [(t, c.unit_id) for t, c in copies] == [(topics.unit_alerts(BRIGADE), BRIGADE)]
        assert copies[0][1].decision.routing_rule is None
        acks = _acks(settings, partner, lambda acks: any(
            a.event_id == by_day.event_id and a.status is AckStatus.ESCALATED for a in acks))
        [escalated] = [a for a in acks if a.event_id == by_day.event_id
                       and a.status is AckStatus.ESCALATED]
        assert escalated.units == [CIC] and escalated.routing_rule == "UNIT_UNAVAILABLE"
        centre = _copies(settings, [CIC, CORG], {by_day.event_id})[by_day.event_id]
        assert [c.unit_id for _, c in centre] == [CIC]
        _available(settings, CORG)

        # -- the brigade declared unavailable gets nothing new until available again ---------
        out = _vigie(settings, "unit", "unavailable", "--unit", BRIGADE, "--until", LATER,
                     "--reason", "test")
        assert BRIGADE in out
        diverted = _route_until(settings, partner, COMPANY)
        also, record = _incident(partner)
        run(produce(settings, [record]))
        moved = _copies(settings, [BRIGADE, COMPANY], {diverted.event_id, also.event_id})
        assert [(t, c.unit_id) for t, c in moved[also.event_id]] == [
            (topics.unit_incidents(COMPANY), COMPANY)]
        for event_id in (diverted.event_id, also.event_id):
            [(_, copy)] = moved[event_id]
            assert copy.decision.routing_rule == "UNIT_UNAVAILABLE"
            assert copy.decision.competent_unit_id == BRIGADE

        _vigie(settings, "unit", "available", "--unit", BRIGADE)
        back = _route_until(settings, partner, BRIGADE)
        seen = _copies(settings, [BRIGADE], {diverted.event_id, also.event_id, back.event_id},
                       settle=1.0, require={back.event_id})
        assert set(seen) == {back.event_id}, "the unavailable brigade received a new event"
        print(f"\nnight alert -> {CORG} naming {BRIGADE}; day alert -> {BRIGADE}, escalated "
              f"to {CIC} (CORG unavailable); {BRIGADE} unavailable -> {COMPANY}, then back")
    finally:
        _available(settings, CORG, BRIGADE)


def _route_until(settings: Settings, partner: str, unit: str) -> PartnerEvent:
    """Alerts until one is routed to ``unit`` (the workers apply a declaration within a
    second or so); the alerts sent before went elsewhere and are left as they are."""
    for _ in range(20):
        event, record = _alert(partner)
        run(produce(settings, [record]))
        ack = _routed_once(_acks(settings, partner, lambda acks, e=event: any(
            a.event_id == e.event_id for a in acks)), event.event_id)
        if ack.units == [unit]:
            return event
    raise AssertionError(f"no alert routed to {unit}")

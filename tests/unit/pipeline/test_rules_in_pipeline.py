"""The routing rules through the stages, without Kafka: what the CORG and the landlord
receive at night, follow-ups, escalation to the centre on duty, the worker's open-alert
counts and the diversion counter."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from tests.integration.scenarios import incident, record_for
from tests.unit.pipeline.test_processors import Table, acks, inbound, routed
from vigie import metrics
from vigie.contracts import topics
from vigie.contracts.enums import AckStatus, Category, Lane, MessageType
from vigie.contracts.models import UnitAvailability
from vigie.pipeline.escalation import ESCALATION_TIMER, EscalationProcessor
from vigie.pipeline.intake import IntakeProcessor, rules_context
from vigie.pipeline.messages import EventRecord, Inbound
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.chain import RoutingContext
from vigie.settings import Settings
from vigie.simulation.feed import follow_up
from vigie.workers.state import EventState

#: Real time of the test (events are valid against it); the rules' clock is set apart.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NIGHT = datetime.fromisoformat("2026-11-29T02:00+01:00")
MERU = "60395"


def night_settings(**changes: object) -> Settings:
    return Settings(routing_clock_at=NIGHT, alert_takeover_delay_seconds=60, **changes)


def alert_record(partner: str = "opac-oise", insee: str = MERU):  # type: ignore[no-untyped-def]
    event = incident(partner, insee, category=Category.STAFF_THREAT,
                     sent_at=NOW - timedelta(minutes=1))
    _topic, key, value = record_for(event)
    return event, (topics.partner_alerts(partner), key, value)


def test_settings_routing_clock() -> None:
    assert Settings().routing_time(NOW) == NOW
    assert night_settings().routing_time(NOW) == NIGHT
    assert Settings(routing_clock_offset_seconds=3600).routing_time(NOW) == (
        NOW + timedelta(hours=1))
    naive = Settings(routing_clock_at=datetime(2026, 11, 29, 1, 0))
    assert naive.routing_time(NOW) == datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def test_an_alert_at_night_reaches_the_corg_naming_the_brigade() -> None:
    store = ReferenceStore.with_defaults()
    intake = IntakeProcessor(store, night_settings(), lambda: NOW)
    table = Table()
    event, record = alert_record()
    result = table.apply(intake.handle(inbound(record), table.get))
    [(topic, copy)] = routed(result)
    assert topic == topics.unit_alerts("gn-corg-oise") and copy.unit_id == "gn-corg-oise"
    assert copy.decision.competent_unit_id == "gn-bt-meru"
    assert copy.decision.routing_rule == "OUTSIDE_HOURS"
    assert copy.decision.rules_version and copy.decision.rules_version.startswith("rules-oise")
    [ack] = acks(result)
    assert ack.status is AckStatus.ROUTED and ack.units == ["gn-corg-oise"]
    assert ack.routing_rule == "OUTSIDE_HOURS" and ack.competent_unit_id == "gn-bt-meru"
    assert result.diversion == ("OUTSIDE_HOURS", "gn-bt-meru")
    kept = table[event.event_id]
    assert kept.routing_rule == "OUTSIDE_HOURS" and kept.competent_unit == "gn-bt-meru"
    assert EventRecord.from_json(kept.to_json()) == kept  # survives the changelog

    # A follow-up goes where the alert went, and says why, whatever the time now.
    day = IntakeProcessor(store, Settings(), lambda: NOW)
    update = follow_up(event, MessageType.UPDATE, NOW, random.Random(7))
    _topic, key, value = record_for(update)
    followed = table.apply(day.handle(Inbound(topics.partner_alerts("opac-oise"), 0, 1, key,
                                              value), table.get))
    [(_, copy)] = routed(followed)
    assert copy.unit_id == "gn-corg-oise" and copy.decision.routing_rule == "OUTSIDE_HOURS"
    assert acks(followed)[0].routing_rule == "OUTSIDE_HOURS"


def test_the_same_alert_in_service_hours_reaches_the_brigade() -> None:
    store = ReferenceStore.with_defaults()
    monday = datetime.fromisoformat("2026-11-30T10:00+01:00")
    intake = IntakeProcessor(store, Settings(routing_clock_at=monday), lambda: NOW)
    _, record = alert_record()
    result = intake.handle(inbound(record), Table().get)
    [(_, copy)] = routed(result)
    assert copy.unit_id == "gn-bt-meru" and copy.decision.routing_rule is None
    [ack] = acks(result)
    assert ack.routing_rule is None and ack.competent_unit_id == "gn-bt-meru"
    assert result.diversion is None


def test_overflow_reads_the_load_the_worker_passes() -> None:
    store = ReferenceStore.with_defaults()
    rules = store.snapshot().rules.lookup("gn-bt-meru")
    assert rules is not None
    store.upsert_rules(rules.model_copy(update={"overflow_limit": 1}))
    monday = datetime.fromisoformat("2026-11-30T10:00+01:00")
    state = EventState(Settings())

    def context(now: datetime) -> RoutingContext:
        return RoutingContext(at=monday, open_alerts=state.open_alerts)

    intake = IntakeProcessor(store, Settings(alert_takeover_delay_seconds=60), lambda: NOW,
                             context=context)
    units = []
    for offset in range(3):
        _, record = alert_record()
        result = intake.handle(inbound(record, offset), lambda _id: None)
        assert result.record is not None
        state.put(result.record, 0)
        units.append(result.units)
    assert units == [("gn-bt-meru",), ("gn-cie-meru",), ("gn-cie-meru",)]
    assert state.open_alerts == {"gn-bt-meru": 1, "gn-cie-meru": 2}
    # The brigade takes its alert in charge: the limit is released.
    first = next(e for e, (_, p) in state.deadlines.items()
                 if state.lookup(e, p).units == ("gn-bt-meru",))  # type: ignore[union-attr]
    answered = state.lookup(first, 0)
    assert answered is not None
    state.put(replace(answered, alert_deadline=None), 0)
    assert state.open_alerts == {"gn-cie-meru": 2}
    _, record = alert_record()
    assert intake.handle(inbound(record, 9), lambda _id: None).units == ("gn-bt-meru",)
    state.forget_deadline(next(iter(state.deadlines)))
    state.drop([0])
    assert state.open_alerts == {} and state.deadlines == {}


def test_escalation_goes_to_the_centre_on_duty() -> None:
    store = ReferenceStore.with_defaults()
    monday = datetime.fromisoformat("2026-11-30T10:00+01:00")
    settings = Settings(routing_clock_at=monday, alert_takeover_delay_seconds=60)
    table = Table()
    intake = IntakeProcessor(store, settings, lambda: NOW)
    event, record = alert_record()
    table.apply(intake.handle(inbound(record), table.get))
    assert table[event.event_id].units == ("gn-bt-meru",)
    store.set_availability(UnitAvailability(
        unit_id="gn-corg-oise", unavailable_until=monday + timedelta(hours=1),
        declared_at=NOW, declared_by="ops"))
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


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_diversions_are_counted_by_rule_lane_and_unit() -> None:
    labels = {"rule": "OUTSIDE_HOURS", "lane": "alert", "unit": "gn-bt-meru"}
    metrics.init_unit_series(["gn-bt-meru"])
    before = _sample("vigie_diversions_total", labels)
    store = ReferenceStore.with_defaults()
    intake = IntakeProcessor(store, night_settings(), lambda: NOW)
    _, record = alert_record()
    result = intake.handle(inbound(record), Table().get)
    metrics.record_intake(Lane.ALERT.value.lower(), result, None)
    assert _sample("vigie_diversions_total", labels) == before + 1
    assert _sample("vigie_diversions_total", {**labels, "rule": "OVERFLOW"}) == 0.0
    metrics.set_unavailable_units(["gn-bt-meru"], ["gn-bt-meru", "gn-bt-chambly"])
    assert _sample("vigie_unit_unavailable", {"unit": "gn-bt-meru"}) == 1.0
    assert _sample("vigie_unit_unavailable", {"unit": "gn-bt-chambly"}) == 0.0


def test_the_engine_hands_its_clock_and_open_alerts_to_every_stage() -> None:
    from vigie.workers.engine import RoutingEngine

    engine = RoutingEngine(night_settings(), ReferenceStore.with_defaults())
    context = engine.routing_context(NOW)
    assert context.at == NIGHT and context.share == 1.0
    assert context.open_alerts is engine.state.open_alerts

"""The foundation, end to end on the real broker: route, acknowledge, reject, survive."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.factories import partner_event, record_for
from tests.integration.kafka_tools import consume, produce, run
from tests.integration.scenarios import COMMUNES
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.policy import decide

pytestmark = pytest.mark.integration

MALFORMED = [
    b"",  # empty
    b"not avro at all",
    b"\xc3\x01" + b"\x00" * 8 + b"body",  # unknown fingerprint
    b"\xc3\x01",  # marker only
    b"\xc3",
    b'{"event_id": "json instead of avro"}',
    b"\xc3\x02" + b"\x00" * 20,  # wrong marker version
    b"\x00\x00\x00\x00\x01rest",  # Confluent-style framing
    b"\xff" * 64,
    bytes(range(256)),
]


def _unit_topics() -> list[str]:
    units = ReferenceStore.with_defaults().snapshot().units
    return [t for u in units for t in (topics.unit_incidents(u), topics.unit_alerts(u))]


def _expected_units(events):  # type: ignore[no-untyped-def]
    snapshot = ReferenceStore.with_defaults().snapshot()
    return {e.event_id: decide(e, snapshot).decision for e in events}


def test_100_events_10_malformed(start_worker, kafka_settings, partners) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    partner = partners[0]
    events = [partner_event(partner, COMMUNES[i % len(COMMUNES)], fresh=True) for i in range(90)]
    records = [record_for(e) for e in events]
    records += [(topics.partner_incidents(partner), str(uuid.uuid4()).encode(), raw)
                for raw in MALFORMED]
    assert run(produce(kafka_settings, records)) == 100

    acks_topic = topics.partner_acks(partner)
    ids = {e.event_id for e in events}
    found = run(consume(
        kafka_settings, [acks_topic, *_unit_topics()],
        until=lambda rs: sum(r.topic == acks_topic for r in rs) >= 100
        and sum(r.topic != acks_topic for r in rs) >= 90,
        timeout=90, settle=2.0,
    ))
    acks = [decode(r.value, Acknowledgement) for r in found if r.topic == acks_topic]
    routed = [(r.topic, decode(r.value, RoutedEvent)) for r in found if r.topic != acks_topic]
    routed = [(t, r) for t, r in routed if r.event.partner_id == partner]

    # Exactly 100 acknowledgements: 90 ROUTED (the right units), 10 REJECTED with a reason.
    assert len(acks) == 100
    assert Counter(a.status for a in acks) == {AckStatus.ROUTED: 90, AckStatus.REJECTED: 10}
    assert all(a.reason_code and a.reason_message for a in acks if a.status is AckStatus.REJECTED)
    assert {a.event_id for a in acks if a.status is AckStatus.ROUTED} == ids
    # Rejections without a recoverable event id still say which record: Kafka coordinates.
    assert all(a.source is not None for a in acks)

    # Exactly 90 routed copies, one per event, each on its competent unit's topic.
    expected = _expected_units(events)
    assert len(routed) == 90
    assert {r.event.event_id for _, r in routed} == ids
    for topic, r in routed:
        assert [r.unit_id] == expected[r.event.event_id].units
        assert topic == topics.unit_incidents(r.unit_id)
    by_insee = {r.event.location.address.insee_code: r.unit_id for _, r in routed}  # type: ignore[union-attr]
    assert by_insee["60175"] == "pn-csp-creil"  # CSP Creil (domain.md)
    assert by_insee["60395"].startswith("gn-")  # Méru: gendarmerie zone


def test_broker_restart_between_batches_loses_nothing(  # type: ignore[no-untyped-def]
    start_worker, kafka_settings, partners, broker
) -> None:
    worker = start_worker()
    partner = partners[1]
    acks_topic = topics.partner_acks(partner)
    first = [partner_event(partner, COMMUNES[i % len(COMMUNES)], fresh=True) for i in range(40)]
    run(produce(kafka_settings, [record_for(e) for e in first]))
    run(consume(kafka_settings, [acks_topic],
                until=lambda rs: len(rs) >= 40, timeout=60, settle=0))

    broker.stop()
    broker.start()

    second = [partner_event(partner, COMMUNES[i % len(COMMUNES)], fresh=True) for i in range(40)]
    run(produce(kafka_settings, [record_for(e) for e in second]))
    found = run(consume(kafka_settings, [acks_topic, *_unit_topics()],
                        until=lambda rs: len({decode(r.value, Acknowledgement).event_id
                                              for r in rs if r.topic == acks_topic}) >= 80,
                        timeout=240, settle=2.0))
    # At least once with stable ids (README, "Delivery guarantee"): a worker that stops
    # during the outage processes its uncommitted inputs again and re-sends the same ids.
    acks = list({a.ack_id: a for r in found if r.topic == acks_topic
                 for a in [decode(r.value, Acknowledgement)]}.values())
    routed = [decode(r.value, RoutedEvent) for r in found if r.topic != acks_topic]
    routed = [r for r in routed if r.event.partner_id == partner]
    ids = {e.event_id for e in first + second}
    assert Counter(a.status for a in acks) == {AckStatus.ROUTED: 80}
    assert {a.event_id for a in acks} == ids
    assert {r.event.event_id for r in routed} == ids
    assert len({(r.event.event_id, r.unit_id) for r in routed}) == 80
    assert worker.process is not None and worker.process.poll() is None

"""A scripted day of 1,000 messages from four landlords, end to end on the real broker.

Alerts, duplicates, malformed messages, updates, cancels and expired events; the forces
answer every alert at once, except one unit that never answers. Checked: one routing outcome
per message, one routed copy per event and destination, allowed acknowledgement sequences,
and escalations for exactly the alerts of the silent unit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict

import pytest

from tests.integration.kafka_tools import consume, produce, run
from vigie.acks.lifecycle import check_sequence
from vigie.clients.force import status_record
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, ForceStatus, MessageType
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.kafka import clients
from vigie.kafka.admin import partitions_of
from vigie.kafka.publish import publish_reference
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import scripted_day

pytestmark = pytest.mark.integration

SILENT_UNIT = "pn-csp-beauvais"
DELAY = 12.0
#: A Monday at 10:00 in Oise: every unit on duty under the shipped routing rules.
WORKING_MORNING = "2026-11-30T10:00:00+01:00"
ROUTING = {AckStatus.ROUTED, AckStatus.REJECTED, AckStatus.EXPIRED, AckStatus.DUPLICATE}


@pytest.fixture
def partners() -> list[str]:
    suffix = uuid.uuid4().hex[:6]
    return [f"{p}-{suffix}" for p in ("opac-oise", "oise-habitat", "clesence", "sa-hlm-oise")]


def _sites(partners: list[str]):  # type: ignore[no-untyped-def]
    """The sample sites, handed to this test's partners (ids kept distinct)."""
    rename = dict(zip(("opac-oise", "oise-habitat", "clesence", "sa-hlm-oise"), partners,
                      strict=True))
    return [s.model_copy(update={"partner_id": rename[s.partner_id],
                                 "site_id": s.site_id.replace(s.partner_id, rename[s.partner_id])})
            for s in load_sample_sites()]


async def _answer_alerts(settings: Settings, units: list[str], stop: asyncio.Event) -> set[str]:
    """The forces: every unit but the silent one takes each NEW alert in charge at once."""
    answered: set[str] = set()
    tps = await partitions_of(settings, [topics.unit_alerts(u) for u in units])
    consumer = clients.consumer(settings, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            answers = []
            for records in batch.values():
                for record in records:
                    routed = decode(record.value, RoutedEvent)
                    if (routed.event.message_type is MessageType.NEW
                            and routed.unit_id != SILENT_UNIT
                            and routed.decision.status.value == "ROUTED"
                            and not routed.unit_id.endswith(("-cic-oise", "-corg-oise"))):
                        answers.append(status_record(routed.unit_id, routed.event.event_id,
                                                     ForceStatus.TAKEN_IN_CHARGE))
                        answered.add(routed.event.event_id)
            if answers:
                await produce(settings, answers)
    finally:
        await consumer.stop()
    return answered


def test_scripted_day_of_1000_messages(start_worker, kafka_settings, partners) -> None:  # type: ignore[no-untyped-def]
    settings = kafka_settings
    # The forces answer every alert but those of the silent unit and of the command centres
    # (which receive escalations): the routing rules' clock is set to a working morning, so
    # that no alert is diverted to a centre by the service hours of the hour the test runs.
    start_worker(extra_env={"VIGIE_ALERT_TAKEOVER_DELAY_SECONDS": str(DELAY),
                            "VIGIE_ROUTING_CLOCK_AT": WORKING_MORNING})
    sites = _sites(partners)
    run(publish_reference(settings, sites=sites))
    feed = list(scripted_day(sites, 1000, seed=60))
    units = sorted(ReferenceStore.with_defaults().snapshot().units)

    async def scenario() -> tuple[list, set[str]]:  # type: ignore[type-arg]
        stop = asyncio.Event()
        forces = asyncio.create_task(_answer_alerts(settings, units, stop))
        await produce(settings, [(m.topic, m.key, m.value) for m in feed])
        ack_topics = [topics.partner_acks(p) for p in partners]
        unit_topics = [t for u in units for t in (topics.unit_incidents(u), topics.unit_alerts(u))]

        def settled(records) -> bool:  # type: ignore[no-untyped-def]
            acks = [r for r in records if r.topic.endswith(".acks.v1")]
            outcomes = sum(decode(r.value, Acknowledgement).status in ROUTING for r in acks)
            escalated = sum(decode(r.value, Acknowledgement).status is AckStatus.ESCALATED
                            for r in acks)
            return outcomes >= len(feed) and escalated >= 1

        records = await consume(settings, ack_topics + unit_topics, until=settled,
                                timeout=120, settle=DELAY + 5)
        stop.set()
        return records, await forces

    records, answered = run(scenario())
    acks = [decode(r.value, Acknowledgement) for r in records if r.topic.endswith(".acks.v1")]
    copies = [decode(r.value, RoutedEvent) for r in records if r.topic.startswith("force.")]
    copies = [c for c in copies if c.event.partner_id in partners]
    assert len({a.ack_id for a in acks}) == len(acks), "an acknowledgement was sent twice"

    # 1. Every message has exactly one routing outcome, the one its kind calls for.
    outcomes = [a for a in acks if a.status in ROUTING]
    assert len(outcomes) == len(feed)
    by_id: dict[str | None, list[Acknowledgement]] = defaultdict(list)
    for a in outcomes:
        by_id[a.event_id].append(a)
    expected = Counter(m.event_id for m in feed)
    for message in feed:
        got = by_id[message.event_id]
        assert len(got) == expected[message.event_id], message.expect
        kinds = Counter(a.status for a in got)
        if message.expect.startswith("reject:"):
            assert any(a.reason_code == message.expect.split(":")[1] for a in got)
        elif message.expect == "expired":
            assert kinds[AckStatus.EXPIRED] == 1
        else:
            assert kinds[AckStatus.ROUTED] == 1
    assert Counter(m.expect for m in feed)["duplicate"] == sum(
        a.status is AckStatus.DUPLICATE for a in outcomes)

    # 2. One routed copy per event and destination unit, never two.
    pairs = Counter((c.event.event_id, c.unit_id) for c in copies)
    assert max(pairs.values()) == 1
    routed_ids = {a.event_id for a in outcomes if a.status is AckStatus.ROUTED}
    assert {c.event.event_id for c in copies} == routed_ids

    # 3. Every acknowledgement sequence a partner saw is allowed.
    sequences: dict[str | None, list[AckStatus]] = defaultdict(list)
    for a in acks:
        sequences[a.event_id].append(a.status)
    problems = {k: check_sequence(v) for k, v in sequences.items() if k is not None}
    assert {k: v for k, v in problems.items() if v} == {}

    # 4. Escalations for exactly the alerts routed to the silent unit and never cancelled.
    cancelled = {m.event_id for m in feed if m.message_type is MessageType.CANCEL}
    cancelled_roots = {c.event.references[0] for c in copies if c.event.event_id in cancelled}
    silent_alerts = {c.event.event_id for c in copies
                     if c.unit_id == SILENT_UNIT and c.decision.lane.value == "ALERT"
                     and c.event.message_type is MessageType.NEW}
    escalated = {a.event_id for a in acks if a.status is AckStatus.ESCALATED}
    assert silent_alerts, "the scripted day must route alerts to the silent unit"
    assert escalated == silent_alerts - cancelled_roots
    assert not escalated & answered
    print(f"\nscripted day: {len(feed)} messages, {Counter(m.expect for m in feed)}, "
          f"{len(copies)} routed copies, {len(answered)} alerts taken in charge, "
          f"{len(escalated)} escalated")

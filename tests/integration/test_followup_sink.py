"""The follow-up sink on the real broker and the real PostgreSQL, SIGKILLed while it works.

2,000 incidents flow through a worker; units take 150 of them in charge; meanwhile the sink
(``vigie followup``, a real subprocess) is SIGKILLed twice and restarted. Afterwards the
store must hold exactly the facts the topics hold: one row per routed incident, every status
acknowledgement once, and the stored offsets at the end of every topic the sink read — what
"neither loses nor double-counts" means for an exactly-once sink.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from tests.factories import partner_event
from tests.integration.kafka_tools import consume
from tests.integration.scenarios import COMMUNES
from vigie.clients.force import status_record
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, ForceStatus
from vigie.contracts.models import Acknowledgement
from vigie.followup.facts import FOLLOWED_STATUSES
from vigie.followup.sink import consumer_group
from vigie.kafka.follow import assigned
from vigie.kafka.publish import publish_at_rate, publish_records
from vigie.settings import Settings
from vigie.simulation.feed import to_message
from vigie.workers.launcher import FollowUpProcess

pytestmark = pytest.mark.integration

EVENTS = 2000
TAKEN = 150
RATE = 100.0  # events/s: the feed lasts ~20 s, long enough for two kills mid-stream


def _rows(url: str, query: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _wait_for(what: str, check: callable, timeout: float = 120.0) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_sink_killed_twice_keeps_exactly_the_facts_of_the_topics(
        kafka_settings: Settings, partners: list[str], start_worker,  # type: ignore[no-untyped-def]
        postgres: str, tmp_path: Path) -> None:
    settings = kafka_settings.model_copy(update={
        "partners": partners, "database_url": SecretStr(postgres)})
    start_worker()
    sink = FollowUpProcess(settings, tmp_path / "sink.log").start()
    starts = 1

    events = [partner_event(partners[i % 2], COMMUNES[i % len(COMMUNES)], fresh=True)
              for i in range(EVENTS)]
    feeding = threading.Thread(target=lambda: asyncio.run(publish_at_rate(
        settings, [to_message(e) for e in events], RATE)))
    began = time.monotonic()
    feeding.start()
    for at in (5.0, 12.0):  # two SIGKILLs while the feed flows, a restart after each
        time.sleep(max(0.0, began + at - time.monotonic()))
        sink.kill()
        sink.start()
        starts += 1
    feeding.join()

    # The routing outcome of every event, then 150 take-overs by the units they went to.
    ack_topics = [topics.partner_acks(p) for p in partners]
    ids = {e.event_id for e in events}

    def routed_acks(found: list[object]) -> list[Acknowledgement]:
        acks = [decode(r.value, Acknowledgement) for r in found]  # type: ignore[attr-defined]
        return [a for a in acks if a.event_id in ids and a.status is AckStatus.ROUTED]

    records = asyncio.run(consume(settings, ack_topics, timeout=180,
                                  until=lambda found: len(routed_acks(found)) >= EVENTS))
    routed = {a.event_id: a.units[0] for a in routed_acks(records)}
    assert len(routed) == EVENTS
    taken = sorted(routed)[:TAKEN]
    asyncio.run(publish_records(settings, [
        status_record(routed[event_id], event_id, ForceStatus.TAKEN_IN_CHARGE)
        for event_id in taken]))
    records = asyncio.run(consume(settings, ack_topics, timeout=120, until=lambda found: sum(
        1 for r in found if (a := decode(r.value, Acknowledgement)).event_id in ids
        and a.status is AckStatus.TAKEN_IN_CHARGE) >= TAKEN))
    on_topics = {(a.ack_id, a.event_id, a.status.value) for a in
                 (decode(r.value, Acknowledgement) for r in records)
                 if a.event_id in ids and a.status in FOLLOWED_STATUSES}

    # The sink catches up; then the store says exactly what the topics say.
    def stored_acks() -> set[tuple[object, ...]]:
        return set(_rows(postgres, "SELECT ack_id, event_id, status FROM event_acks "
                                   "WHERE partner_id = ANY(%s)", (partners,)))

    # ... and the offsets it stored with them are past the last record of every partition of
    # ours (the acks, and the unit topics our incidents were routed to).
    ours = ack_topics + sorted({topics.unit_incidents(u) for u in routed.values()})
    last = asyncio.run(_last_offsets(settings, ours))

    def stored_offsets() -> dict[tuple[str, int], int]:
        return {(str(t), int(str(p))): int(str(o)) for t, p, o in _rows(
            postgres, "SELECT topic, partition, next_offset FROM sink_offsets "
                      "WHERE consumer = %s", (consumer_group(settings),))}

    _wait_for("the sink to store every acknowledgement and reach the end of its topics",
              lambda: stored_acks() >= on_topics and all(
                  stored_offsets().get(tp, 0) >= offset + 1 for tp, offset in last.items()))
    assert sink.alive(), sink.log_tail()
    sink.stop()
    stored = _rows(postgres, "SELECT event_id FROM routed_events WHERE partner_id = ANY(%s)",
                   (partners,))
    assert sorted(r[0] for r in stored) == sorted(ids)  # one row per routed incident
    assert stored_acks() == on_topics  # every status once, nothing else
    facts = _rows(postgres, "SELECT event_id FROM event_facts WHERE partner_id = ANY(%s) "
                            "AND taken_in_charge_at IS NOT NULL", (partners,))
    assert sorted(r[0] for r in facts) == taken
    assert {tp: stored_offsets()[tp] for tp in last} == {tp: o + 1 for tp, o in last.items()}
    assert starts == 3 and sink.process is not None and sink.process.returncode == 0, (
        sink.log_tail())


async def _last_offsets(settings: Settings, names: list[str]) -> dict[tuple[str, int], int]:
    """The offset of the last committed record of every non-empty partition of ``names``."""
    last: dict[tuple[str, int], int] = {}
    async with assigned(settings, names, from_beginning=True, allow_missing=True) as consumer:
        ends = await consumer.end_offsets(list(consumer.assignment()))
        pending = {tp for tp, end in ends.items() if end > await consumer.position(tp)}
        while pending:
            for tp, records in (await consumer.getmany(*pending, timeout_ms=500)).items():
                if records:
                    last[(tp.topic, tp.partition)] = records[-1].offset
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    return last

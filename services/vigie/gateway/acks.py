"""What ``GET /v1/events/{id}`` answers from: each replica's index of the partners' acks.

Each replica tails every served partner's acks topic (``partner.<p>.acks.v1``,
``read_committed``: only what the workers committed) into a bounded in-memory index, per
partner, of acknowledgements by event id. Why not the follow-up store: it keeps facts for
statistics (no reason code nor French message, no rejected events) and would make the
gateway depend on PostgreSQL; the acks topic is exactly what a Kafka partner reads.

Consistency (docs/gateway.md): a replica answers what it has read, typically milliseconds
behind the topic; a GET right after the POST may find nothing yet (404, retry) and two
replicas may briefly differ by the acknowledgements in flight. A replica is ready only once
it has read up to the end of each topic as it stood at start. It reads back
``ack_window_hours`` when it starts and keeps at most ``ack_index_max_events`` events per
partner, forgetting the oldest first.

A partner's index is filled from its own topic only, so one partner can never be answered
with another's acknowledgements, whatever the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.enums import AckStatus
from vigie.contracts.models import Acknowledgement
from vigie.kafka import clients
from vigie.kafka.admin import partitions_of
from vigie.kafka.follow import READER
from vigie.settings import Settings

log = logging.getLogger("vigie.gateway")


class AckIndex:
    """Acknowledgements by partner and event id, bounded, duplicates (same ack id) dropped."""

    def __init__(self, max_events_per_partner: int) -> None:
        self._max = max_events_per_partner
        self._events: dict[str, OrderedDict[str, dict[str, Acknowledgement]]] = {}
        self.ready = False

    def add(self, partner_id: str, ack: Acknowledgement) -> None:
        """``partner_id`` is the owner of the topic the ack was read from."""
        if ack.event_id is None:
            return  # said about Kafka coordinates only: nothing a GET could name
        events = self._events.setdefault(partner_id, OrderedDict())
        acks = events.get(ack.event_id)
        if acks is None:
            acks = events[ack.event_id] = {}
            while len(events) > self._max:
                events.popitem(last=False)
        acks.setdefault(ack.ack_id, ack)

    def get(self, partner_id: str, event_id: str) -> list[Acknowledgement] | None:
        """The event's acknowledgements in the order they were issued, or None if unknown."""
        events = self._events.get(partner_id)
        acks = events.get(event_id) if events is not None else None
        if acks is None:
            return None
        return sorted(acks.values(), key=lambda a: a.issued_at)

    def accepted(self, partner_id: str, event_id: str) -> bool:
        """True once the pipeline took the event (anything but a rejection): a repeated POST
        of it need not be published again."""
        events = self._events.get(partner_id)
        acks = events.get(event_id, {}) if events is not None else {}
        return any(a.status is not AckStatus.REJECTED for a in acks.values())

    def size(self, partner_id: str) -> int:
        return len(self._events.get(partner_id, {}))


async def _start_offsets(consumer: AIOKafkaConsumer, partitions: list[TopicPartition],
                         since_ms: int) -> None:
    found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
    for tp in partitions:
        at = found.get(tp)
        if at is None:
            await consumer.seek_to_end(tp)
        else:
            consumer.seek(tp, at.offset)


async def tail_acks(
    settings: Settings,
    partner_ids: Iterable[str],
    index: AckIndex,
    window_hours: float,
    stop: asyncio.Event,
    *,
    retry_seconds: float = 2.0,
) -> None:
    """Fill ``index`` from the partners' acks topics until ``stop``; waits for topics that do
    not exist yet (the workers create them) and marks the index ready once caught up."""
    names = [topics.partner_acks(p) for p in partner_ids]
    while not stop.is_set():
        partitions = await partitions_of(settings, names)
        if {tp.topic for tp in partitions} >= set(names):
            break
        log.info("gateway waiting for acks topics", extra={"topics": len(names)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), retry_seconds)
    else:
        return
    consumer = clients.consumer(settings, **READER)
    await consumer.start()
    try:
        consumer.assign(partitions)
        since_ms = int((time.time() - window_hours * 3600) * 1000)
        await _start_offsets(consumer, partitions, since_ms)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        index.ready = not pending
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, records in batch.items():
                owner = topics.owner_of(tp.topic)
                for record in records:
                    with contextlib.suppress(DecodeError):
                        if owner is not None:
                            index.add(owner, decode(record.value or b"", Acknowledgement))
            if pending:
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
                if not pending:
                    index.ready = True
                    log.info("gateway acknowledgement index ready")
    finally:
        await consumer.stop()

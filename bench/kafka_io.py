"""Reading and writing the bench's broker: where each run starts, what it produced, and the
publishers that feed it.

Every consumer that counts outputs reads with ``isolation_level="read_committed"``: the
worker's outputs are transactional, and what an aborted transaction left in the log is not an
output (a record shows only once its transaction has committed, which is when a force's
consumer would see it).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import RecordMetadata

from bench.feeds import URGENT, partner_sites
from vigie.kafka import clients
from vigie.kafka.admin import partitions_of
from vigie.kafka.publish import publish_at_rate as publish_steadily
from vigie.settings import Settings
from vigie.simulation.feed import FeedMessage, make_event, to_message

Offsets = dict[TopicPartition, int]


async def end_offsets(settings: Settings, names: Iterable[str]) -> Offsets:
    tps = await partitions_of(settings, names)
    consumer = clients.consumer(settings, group_id=None)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def commit_group(settings: Settings, group: str, offsets: Offsets) -> None:
    """Give a consumer group its starting offsets before its first member joins."""
    consumer = clients.consumer(settings, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()


@dataclass
class Count:
    """What a counting consumer saw on output topics."""

    count: int = 0
    first_ts: float | None = None  # record timestamps (s)
    last_ts: float | None = None
    ts: list[float] = field(default_factory=list)  # every record timestamp (s), for windows
    done: bool = False

    def eps(self, skip: float = 0.0) -> float:
        """Events per second between the first (or the ``skip`` fraction) and last output."""
        if self.count < 2 or self.last_ts is None:
            return 0.0
        ordered = sorted(self.ts)
        start_index = int(skip * (len(ordered) - 1))
        span = ordered[-1] - ordered[start_index]
        return (len(ordered) - 1 - start_index) / span if span > 0 else 0.0


async def count_outputs(
    settings: Settings,
    starts: Offsets,
    target: int,
    *,
    timeout: float,
    on_progress: Callable[[Count], None] | None = None,
    on_record: Callable[[Any, float], None] | None = None,
    stop: asyncio.Event | None = None,
    window: float | None = None,
) -> Count:
    """Read ``starts`` onwards until ``target`` records (or ``stop``, or the timeout, or
    ``window`` seconds after the first record: a time-boxed measurement)."""
    consumer = clients.consumer(settings, group_id=None, enable_auto_commit=False,
                                fetch_max_wait_ms=50, isolation_level="read_committed")
    await consumer.start()
    result = Count()
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout
        first_seen: float | None = None
        while time.monotonic() < deadline and result.count < target:
            if stop is not None and stop.is_set():
                break
            if first_seen is not None and window and time.monotonic() - first_seen > window:
                break
            batches = await consumer.getmany(timeout_ms=100, max_records=20_000)
            now = time.time()
            for records in batches.values():
                for r in records:
                    ts = r.timestamp / 1000
                    result.ts.append(ts)
                    if on_record is not None:
                        on_record(r, now)
                result.count += len(records)
            if result.ts and first_seen is None:
                first_seen = time.monotonic()
            if result.ts:
                result.first_ts = min(result.first_ts or result.ts[0], *result.ts[-50:])
                result.last_ts = max(result.last_ts or 0.0, *result.ts[-50:])
            if on_progress is not None and batches:
                on_progress(result)
        result.done = result.count >= target
    finally:
        await consumer.stop()
    if result.ts:
        result.first_ts, result.last_ts = min(result.ts), max(result.ts)
    return result


async def publish_bulk(settings: Settings, feed: list[FeedMessage]) -> list[RecordMetadata]:
    """Publish ``feed`` in order; returns where each message landed (same order)."""
    producer = clients.producer(settings, acks="all", linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    placed: list[RecordMetadata] = []
    try:
        pending = []
        for m in feed:
            pending.append(await producer.send(m.topic, m.value, key=m.key))
            if len(pending) >= 20_000:
                placed += await asyncio.gather(*pending)
                pending.clear()
        placed += await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return placed


async def publish_at_rate(settings: Settings, rate: float, seconds: float,
                          sent: dict[bytes, float], *, urgent: bool,
                          partner: str | None = None, seed: int | None = None) -> float:
    """Fresh events (sent_at = now) at ``rate``/s from ``partner``'s sites (every partner's
    if None), through Vigie's steady publisher; ``sent`` gets key → publish time. Returns
    the rate achieved."""
    sites = partner_sites(partner)
    rng = random.Random(seed if seed is not None else 4242 if urgent else 2424)

    def fresh(total: int) -> Iterator[FeedMessage]:
        for _ in range(total):
            category = rng.choice(URGENT) if urgent else None
            message = to_message(make_event(rng.choice(sites), rng, datetime.now(UTC),
                                            category=category))
            sent[message.key or b""] = time.time()  # just before its send
            yield message

    started = time.monotonic()
    total = await publish_steadily(settings, fresh(int(rate * seconds)), rate, linger_ms=0)
    return total / (time.monotonic() - started)

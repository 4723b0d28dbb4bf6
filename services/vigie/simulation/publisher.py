"""Publishing a feed and reference data to Kafka (the partner's side of the bus)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence

from aiokafka import AIOKafkaProducer

from vigie.contracts import topics
from vigie.contracts.codec import encode
from vigie.contracts.models import CompetenceRecord, SiteRecord, UnitRecord
from vigie.simulation.feed import FeedMessage


async def publish_records(
    bootstrap: str, records: Iterable[tuple[str, bytes | None, bytes]]
) -> int:
    """Publish (topic, key, value) records with acks=all and wait for every one."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    await producer.start()
    try:
        futures = [await producer.send(t, key=k, value=v) for t, k, v in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


async def publish_reference(
    bootstrap: str,
    *,
    sites: Sequence[SiteRecord] = (),
    units: Sequence[UnitRecord] = (),
    competence: Sequence[CompetenceRecord] = (),
) -> int:
    """Publish reference records to their compacted topics, keyed by their natural id."""
    records: list[tuple[str, bytes, bytes]] = []
    records += [(topics.REF_SITES, s.site_id.encode(), encode(s)) for s in sites]
    records += [(topics.REF_UNITS, u.unit_id.encode(), encode(u)) for u in units]
    records += [(topics.REF_COMPETENCE, c.insee_code.encode(), encode(c)) for c in competence]
    return await publish_records(bootstrap, records)


async def publish_feed(
    bootstrap: str,
    feed: Iterable[FeedMessage] | Iterator[FeedMessage],
    rate: float,
    stop: asyncio.Event,
) -> int:
    """Publish feed messages at ``rate`` per second until the feed ends or ``stop`` is set."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent = 0
    started = time.monotonic()
    try:
        for message in feed:
            if stop.is_set():
                break
            await producer.send(message.topic, key=message.key, value=message.value)
            sent += 1
            delay = started + sent / rate - time.monotonic()
            if delay > 0:
                with_timeout = asyncio.wait_for(stop.wait(), delay)
                with contextlib.suppress(TimeoutError):
                    await with_timeout
        await producer.flush()
    finally:
        await producer.stop()
    return sent

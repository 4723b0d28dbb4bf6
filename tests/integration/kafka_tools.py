"""Small real-Kafka helpers for the integration tests (aiokafka, no mocks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from aiokafka import ConsumerRecord

from vigie.kafka.follow import assigned
from vigie.kafka.publish import publish_records as produce  # noqa: F401
from vigie.settings import Settings
from vigie.workers.launcher import WorkerProcess, free_port  # noqa: F401


async def consume(
    settings: Settings,
    topic_names: Iterable[str],
    *,
    until: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 60.0,
    settle: float = 1.0,
) -> list[ConsumerRecord]:
    """Read the topics from the beginning until ``until(records)`` holds, then ``settle`` s
    more to catch anything unexpected that would follow (extra copies, stray acks)."""
    records: list[ConsumerRecord] = []
    async with assigned(settings, topic_names, from_beginning=True,
                        allow_missing=True) as consumer:
        deadline = time.monotonic() + timeout
        done_at: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            if done_at is None and until(records):
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at >= settle:
                break
    return records


def run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine from sync test code."""
    return asyncio.run(coro)

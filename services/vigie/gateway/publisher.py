"""Where accepted events go: the partner's own input topics, through one producer.

The record is the contract's (``kafka.publish.partner_record``: the topic of the event's
lane, the root event id as key, Avro single-object value) and its partition is murmur2 of the
key, aiokafka's default partitioner, the one the workers check (WRONG_PARTITION otherwise).
The producer is idempotent with ``acks=all``: a 202 means the broker has the event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer

from vigie.kafka import clients
from vigie.kafka.publish import Record
from vigie.settings import Settings


class Publisher(Protocol):
    async def publish(self, records: Sequence[Record]) -> None:
        """Every record written, or an exception (the POST is then answered 503)."""
        ...


class KafkaPublisher:
    def __init__(self, settings: Settings, timeout: float) -> None:
        self._settings = settings
        self._timeout = timeout
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = clients.producer(
            self._settings, acks="all", enable_idempotence=True, linger_ms=2,
            max_batch_size=min(self._settings.partner_topic_max_message_bytes, 256 * 1024))
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, records: Sequence[Record]) -> None:
        assert self._producer is not None, "start() first"
        futures = [await self._producer.send(topic, value, key=key)
                   for topic, key, value in records]
        await asyncio.wait_for(asyncio.gather(*futures), self._timeout)

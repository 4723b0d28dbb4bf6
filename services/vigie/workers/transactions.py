"""The routing engine's transactional producers: one per input partition number it owns, and
the commit of a pass (one Kafka transaction per partition number, in parallel).

The transactional id is per partition number (``<app_id>-route-<p>``), the classic "one
producer per input partition" scheme: whoever takes ``p`` over starts its producer first,
and ``InitProducerId`` bumps the epoch, which fences the previous owner — even a live zombie
— and aborts its open transaction (aiokafka has no KIP-447 group fencing, which would allow
one producer per worker; docs/reliability.md, the decision record).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

from vigie import metrics
from vigie.kafka import clients
from vigie.kafka.partitioning import key_partition
from vigie.pipeline.messages import Outbound
from vigie.settings import Settings

#: A transaction open longer than this is aborted by the broker (the worker then restarts).
TRANSACTION_TIMEOUT_MS = 30_000


@dataclass
class Pass:
    """The work of one pass for one partition number: what to send, which offsets to commit,
    and the results to count once the transaction is committed."""

    outbound: list[Outbound] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    counted: list[Callable[[], None]] = field(default_factory=list)


class TransactionPool:
    """The transactional producers of the partition numbers owned here."""

    def __init__(self, settings: Settings, group_id: str) -> None:
        self.settings = settings
        self.group_id = group_id
        self._producers: dict[int, AIOKafkaProducer] = {}

    @property
    def partitions(self) -> list[int]:
        return list(self._producers)

    def transactional_id(self, partition: int) -> str:
        return f"{self.settings.app_id}-route-{partition}"

    async def start(self, partitions: Iterable[int]) -> None:
        """Start (and so fence the previous owners of) these partition numbers' producers."""
        await asyncio.gather(*(self._start(p) for p in partitions))

    async def _start(self, partition: int) -> None:
        producer = clients.producer(
            self.settings,
            transactional_id=self.transactional_id(partition),
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            # Above every record the worker lets through (``RoutingEngine._publishable``),
            # with room for the batch header; the broker's own limit is ``message.max.bytes``.
            max_request_size=self.settings.max_output_bytes + 64 * 1024,
        )
        await producer.start()  # InitProducerId: fences the previous owner, aborts its txn
        self._producers[partition] = producer

    async def close(self, partitions: Iterable[int] | None = None) -> None:
        """Stop these producers (all when None); a failure to stop is not an error here: an
        open transaction is aborted by the next owner's fencing or the broker's timeout."""
        for p in list(self._producers) if partitions is None else list(partitions):
            producer = self._producers.pop(p, None)
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()

    async def commit(self, passes: dict[int, Pass]) -> None:
        """One transaction per partition number, all in parallel; raises if any failed
        (the caller fail-stops: whatever was not committed is read again)."""
        started = time.monotonic()
        await asyncio.gather(*(self._commit_one(p, work) for p, work in passes.items()))
        metrics.PASS_COMMIT.observe(time.monotonic() - started)

    async def _commit_one(self, partition: int, work: Pass) -> None:
        producer = self._producers[partition]
        await producer.begin_transaction()
        sent: list[Awaitable[Any]] = []
        counts = {t: len(await producer.partitions_for(t))
                  for t in {out.topic for out in work.outbound if out.partition is None}}
        for (topic, p), records in batches(work.outbound, counts).items():
            batch = producer.create_batch()
            rest = len(records)
            for i, (key, value) in enumerate(records):
                if batch.append(key=key, value=value, timestamp=None) is None:  # full
                    rest = i
                    break
            sent.append(await producer.send_batch(batch, topic, partition=p))
            # A second send_batch to the same partition would wait for the first to be
            # delivered (aiokafka queues one builder per partition): the rest goes record
            # by record, into the producer's own batches, without waiting.
            for key, value in records[rest:]:
                sent.append(await producer.send(topic, value, key=key, partition=p))
        if work.offsets:
            await producer.send_offsets_to_transaction(work.offsets, self.group_id)
        await asyncio.gather(*sent)
        await producer.commit_transaction()


def batches(outbound: Iterable[Outbound], partition_counts: Mapping[str, int]
            ) -> dict[tuple[str, int], list[tuple[bytes | None, bytes]]]:
    """The records of a transaction by (topic, partition), in their order.

    Sent as one batch each (``send_batch``) rather than record by record: aiokafka's
    ``send`` costs a coroutine, a future, a partitioner call and an accumulator lookup per
    record (about a third of the worker's own CPU for ~3 records per input). A record
    without a partition goes where the producer's partitioner would put it: murmur2 of its
    key (``vigie.kafka.partitioning``) over ``partition_counts[topic]`` — or, without a
    key, partition 0 of the topic (Vigie's outputs are all keyed)."""
    grouped: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = {}
    for out in outbound:
        p = out.partition
        if p is None:
            p = key_partition(out.key, partition_counts[out.topic]) or 0
        grouped.setdefault((out.topic, p), []).append((out.key, out.value))
    return grouped

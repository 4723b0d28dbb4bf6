"""What the routing engine owns between two rebalances, and how it gives partitions up and
takes them over (fencing, state restore, where each partition resumes).

Every pass of the engine ends with its commit and holds the engine's lock; both rebalance
callbacks take the same lock, so a rebalance never cuts a pass in two. Every rebalance bumps
``Ownership.generation``: a batch fetched before one is dropped unprocessed and read again
(``RoutingEngine._rewind``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from vigie import metrics
from vigie.workers.scheduler import Lanes, Owned
from vigie.workers.state import EventState
from vigie.workers.transactions import TransactionPool

log = logging.getLogger("vigie.worker")


@dataclass
class Readers:
    """The engine's two fetchers: the group consumer, and the urgent lane's own fetcher of
    the alert partitions owned here (the group consumer keeps those, paused, for the
    assignment and the offsets)."""

    consumer: AIOKafkaConsumer
    alert_reader: AIOKafkaConsumer
    alert_topics: Mapping[str, str]

    def for_partition(self, tp: TopicPartition) -> AIOKafkaConsumer:
        return self.alert_reader if tp.topic in self.alert_topics else self.consumer


@dataclass
class Ownership:
    """The partitions owned here, as the last take-over left them."""

    owned: Owned = field(default_factory=Owned)
    #: Next offset to read per partition, as committed in the last transaction.
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    #: Bumped by every rebalance: a batch fetched before one is dropped, not processed.
    generation: int = 0
    rebalancing: bool = True
    #: Fraction of the input partitions owned here (overflow limits are scaled by it).
    share: float = 1.0


def resume_offset(fetched: int | None, recorded: int | None) -> tuple[int, bool]:
    """Where a partition taken over resumes, and whether the offset fetch lagged behind the
    restored state.

    ``fetched`` is the group's committed offset (None or negative: never committed, so from
    the start; a retention-deleted offset 0 falls back to the earliest, auto_offset_reset).
    ``recorded`` is the highest input offset of that partition in the restored state
    (``EventState.last_inputs``): the transaction that wrote that entry also committed the
    input offsets past it, so the group's offset is at least ``recorded + 1`` whatever a
    lagging fetch says (aiokafka's OffsetFetch cannot ask for stable offsets, KIP-447).
    Reading from a lagging fetched offset would publish that outcome a second time."""
    start = fetched if fetched is not None and fetched >= 0 else 0
    if recorded is not None and start <= recorded:
        return recorded + 1, True
    return start, False


class Rebalancer(ConsumerRebalanceListener):
    """The group consumer's rebalance listener: revocation drops the producers and the state,
    assignment fences, restores and seeks."""

    def __init__(
        self,
        lock: asyncio.Lock,
        ownership: Ownership,
        pool: TransactionPool,
        state: EventState,
        lanes: Lanes,
        readers: Readers,
        fail: Callable[[str], None],
    ) -> None:
        self.lock = lock
        self.ownership = ownership
        self.pool = pool
        self.state = state
        self.lanes = lanes
        self.readers = readers
        self.fail = fail

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Once we have the lock, nothing is in flight. State and producers go: a worker
        dropped from the group (a long broker outage) may get a partition back that another
        worker changed meanwhile, so the assignment always fences and restores afresh."""
        async with self.lock:
            own = self.ownership
            own.rebalancing = True
            own.generation += 1
            own.owned = Owned()
            await self.pool.close()
            self.state.drop(self.state.partitions)
            own.committed.clear()
            log.info("partitions revoked", extra={"partitions": len(revoked)})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self.lock:
            self.ownership.generation += 1
            try:
                await self.take_over(assigned)
            except Exception:
                self.fail("could not take the assigned partitions over")

    async def take_over(self, assigned: set[TopicPartition]) -> None:
        consumer, own = self.readers.consumer, self.ownership
        numbers = {tp.partition for tp in assigned}
        uneven = {t for t in {tp.topic for tp in assigned}
                  if {tp.partition for tp in assigned if tp.topic == t} != numbers}
        if uneven:  # co-partitioning broken (topics with different partition counts)
            log.error("input topics are not co-partitioned", extra={"topics": sorted(uneven)})
        new = sorted(numbers)
        started = time.monotonic()
        await self.pool.start(new)
        fenced = time.monotonic()
        restored = await self.state.restore(new)
        restored_at = time.monotonic()
        # Offsets read now are final (the previous owners are fenced): start from them.
        # One OffsetFetch for all (the public committed() asks partition by partition).
        committed = await consumer._coordinator.fetch_committed_offsets(assigned)
        # The urgent lane reads through its own fetcher, so that megabytes of incidents in
        # the group consumer's fetches never hold an alert back: pause them there.
        owned = self.lanes.split(assigned)
        for topic in {tp.topic for tp in assigned}:
            # From the metadata the group's assignment was made with (no request).
            owned.partition_counts[topic] = len(consumer.partitions_for_topic(topic) or ())
        consumer.pause(*owned.alerts)
        self.readers.alert_reader.assign(owned.alerts)
        floor = self.state.last_inputs()
        for tp in assigned:
            meta = committed.get(tp)
            # seek_to_beginning() would wait for the fetcher, which does not run during a
            # rebalance: a never-committed partition seeks to 0 (see resume_offset).
            fetched = meta.offset if meta is not None else None
            start, behind = resume_offset(fetched, floor.get((tp.topic, tp.partition)))
            if behind:
                log.warning("committed offset behind the restored state: resuming after it",
                            extra={"topic": tp.topic, "partition": tp.partition,
                                   "fetched": fetched if fetched is not None and fetched >= 0
                                   else 0, "resumed": start})
                metrics.OFFSET_BEHIND_STATE.inc()
            self.readers.for_partition(tp).seek(tp, start)
            own.committed[tp] = start
        own.owned = owned
        total = max(owned.partition_counts.values(), default=0)
        own.share = min(1.0, len(numbers) / total) if total else 1.0
        own.rebalancing = False
        log.info("partitions assigned", extra={
            "partitions": sorted(numbers), "restored_entries": restored,
            "open_alerts": len(self.state.deadlines),
            "fence_s": round(fenced - started, 3), "restore_s": round(restored_at - fenced, 3),
            "seek_s": round(time.monotonic() - restored_at, 3),
        })

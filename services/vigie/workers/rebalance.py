"""What the routing engine owns between two rebalances, and how it gives partitions up and
takes them over (stable offsets, state restore, where each partition resumes).

librdkafka runs the rebalance callbacks inside the group consumer's ``consume()``, on the
engine's own thread, and the engine calls it only between passes: a rebalance never cuts a
pass in two, and no lock is needed. Every rebalance bumps ``Ownership.generation`` and
empties the fetchers' buffers: what was fetched before it is read again from the offsets
the take-over finds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition

from vigie import metrics
from vigie.kafka import clients
from vigie.settings import Settings
from vigie.workers.fetcher import Fetcher
from vigie.workers.scheduler import Lanes, Owned
from vigie.workers.state import EventState
from vigie.workers.transactions import CALL_TIMEOUT_S

log = logging.getLogger("vigie.worker")

#: How long a take-over waits for stable offsets before it reads the committed ones
#: (``Rebalancer.committed_offsets``): past the transaction timeout and the broker's
#: abort check interval (10 s each), so a legitimately pending transaction is resolved.
STABLE_OFFSETS_WAIT_S = 30.0
#: How long a take-over waits for the alerts already waiting on its partitions.
ALERT_PRIME_S = 3.0


@dataclass
class Readers:
    """The engine's two fetchers: the group consumer's, and the urgent lane's own fetcher
    of the alert partitions owned here (the group consumer keeps those, paused, for the
    assignment and the offsets), so that megabytes of incidents queued in the group
    consumer never hold an alert back."""

    group: Fetcher
    alerts: Fetcher
    alert_topics: Mapping[str, str]

    def for_partition(self, tp: TopicPartition) -> Fetcher:
        return self.alerts if tp.topic in self.alert_topics else self.group


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
    input offsets past it, so the group's offset is at least ``recorded + 1``. The offset
    fetch asks for stable offsets, so it should never lag; if it ever did, reading from it
    would publish that outcome a second time, hence the check (and its warning)."""
    start = fetched if fetched is not None and fetched >= 0 else 0
    if recorded is not None and start <= recorded:
        return recorded + 1, True
    return start, False


class Rebalancer:
    """The group consumer's rebalance callbacks: revocation drops the state and the
    buffers, assignment restores and positions the fetchers."""

    def __init__(
        self,
        settings: Settings,
        ownership: Ownership,
        state: EventState,
        lanes: Lanes,
        readers: Readers,
        alert_consumer: Any,
        fail: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.ownership = ownership
        self.state = state
        self.lanes = lanes
        self.readers = readers
        self.alert_consumer = alert_consumer
        self.fail = fail

    def on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        """Nothing is in flight (callbacks run between passes). The state goes: a worker
        dropped from the group (a long broker outage) may get a partition back that another
        worker changed meanwhile, so an assignment always restores afresh."""
        own = self.ownership
        own.rebalancing = True
        own.generation += 1
        own.owned = Owned()
        self.state.drop(self.state.partitions)
        own.committed.clear()
        self.readers.group.reset()
        self.readers.alerts.reset()
        try:
            self.alert_consumer.unassign()
            consumer.unassign()
        except Exception:  # a consumer closing may refuse: nothing to keep
            log.debug("unassign refused", exc_info=True)
        log.info("partitions revoked", extra={"partitions": len(partitions)})

    on_lost = on_revoke

    def on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self.ownership.generation += 1
        try:
            self.take_over(consumer, {TopicPartition(p.topic, p.partition) for p in partitions})
        except Exception:
            self.fail("could not take the assigned partitions over")

    def committed_offsets(self, consumer: Any, partitions: list[TopicPartition]
                          ) -> dict[TopicPartition, int]:
        """The group's committed offsets, stable ones: read_committed makes librdkafka set
        ``require_stable``, and the broker makes the fetch wait while a previous owner's
        transaction with offsets of these partitions is pending.

        A transaction is aborted by the broker within its timeout (plus the broker's check
        interval), so a wait past ``STABLE_OFFSETS_WAIT_S`` means offsets left pending by
        the broker itself: seen on Kafka 4.4 after a broker crash, where a stable fetch
        never returned again while a plain one answered at once. The worker then reads the
        committed offsets without the stable flag (a second consumer, read_uncommitted) and
        logs it; ``resume_offset`` still checks them against the restored state."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka import TopicPartition as RdTopicPartition

        wanted = [RdTopicPartition(tp.topic, tp.partition) for tp in partitions]
        try:
            found = consumer.committed(wanted, timeout=STABLE_OFFSETS_WAIT_S)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._TIMED_OUT:
                raise
            log.error("stable offsets unavailable: reading the committed offsets without the "
                      "stable flag", extra={"waited_s": STABLE_OFFSETS_WAIT_S,
                                           "partitions": len(wanted)})
            metrics.STABLE_OFFSETS_FALLBACK.inc()
            plain = clients.rd_consumer(self.settings, **{
                "group.id": self.settings.app_id, "isolation.level": "read_uncommitted",
                "enable.auto.commit": False})
            try:
                found = plain.committed(wanted, timeout=CALL_TIMEOUT_S)
            finally:
                plain.close()
        return {TopicPartition(c.topic, c.partition): c.offset for c in found}

    def prime_alerts(self, starts: dict[TopicPartition, int]) -> None:
        """Alerts already waiting on the alert partitions just taken over are fetched before
        the first pass (``ALERT_PRIME_S`` at most): the urgent lane's consumer starts
        fetching only now, and the group consumer, whose incidents were being fetched
        meanwhile, would otherwise fill the first passes before the alerts come in."""
        from confluent_kafka import TopicPartition as RdTopicPartition

        waiting = set()
        for tp, start in starts.items():
            _low, end = self.alert_consumer.get_watermark_offsets(
                RdTopicPartition(tp.topic, tp.partition), timeout=CALL_TIMEOUT_S)
            if end > start:
                waiting.add(tp)
        deadline = time.monotonic() + ALERT_PRIME_S
        while waiting and time.monotonic() < deadline:
            self.readers.alerts.fill(0.05)
            waiting = {tp for tp in waiting if not self.readers.alerts.buffered([tp])}
        if waiting:
            log.warning("alerts waiting on taken-over partitions not fetched yet",
                        extra={"partitions": len(waiting)})

    def take_over(self, consumer: Any, assigned: set[TopicPartition]) -> None:
        from confluent_kafka import TopicPartition as RdTopicPartition

        own = self.ownership
        numbers = {tp.partition for tp in assigned}
        uneven = {t for t in {tp.topic for tp in assigned}
                  if {tp.partition for tp in assigned if tp.topic == t} != numbers}
        if uneven:  # co-partitioning broken (topics with different partition counts)
            log.error("input topics are not co-partitioned", extra={"topics": sorted(uneven)})
        new = sorted(numbers)
        started = time.monotonic()
        fetched = self.committed_offsets(consumer, sorted(assigned))
        stable = time.monotonic()
        restored = self.state.restore(new)
        restored_at = time.monotonic()
        owned = self.lanes.split(assigned)
        metadata = consumer.list_topics(timeout=CALL_TIMEOUT_S)
        for topic in {tp.topic for tp in assigned}:
            owned.partition_counts[topic] = len(metadata.topics[topic].partitions)
        floor = self.state.last_inputs()
        starts: dict[TopicPartition, int] = {}
        for tp in assigned:
            offset = fetched.get(tp)
            start, behind = resume_offset(offset, floor.get((tp.topic, tp.partition)))
            if behind:
                log.warning("committed offset behind the restored state: resuming after it",
                            extra={"topic": tp.topic, "partition": tp.partition,
                                   "fetched": offset if offset is not None and offset >= 0
                                   else 0, "resumed": start})
                metrics.OFFSET_BEHIND_STATE.inc()
            starts[tp] = start
        consumer.assign([RdTopicPartition(tp.topic, tp.partition, starts[tp])
                         for tp in sorted(assigned)])
        alerts = owned.alerts
        if alerts:
            consumer.pause([RdTopicPartition(tp.topic, tp.partition) for tp in alerts])
        self.alert_consumer.assign([RdTopicPartition(tp.topic, tp.partition, starts[tp])
                                    for tp in alerts])
        self.readers.group.reset({tp: o for tp, o in starts.items() if tp not in set(alerts)})
        self.readers.alerts.reset({tp: starts[tp] for tp in alerts})
        own.committed.update(starts)
        self.prime_alerts({tp: starts[tp] for tp in alerts})
        own.owned = owned
        total = max(owned.partition_counts.values(), default=0)
        own.share = min(1.0, len(numbers) / total) if total else 1.0
        own.rebalancing = False
        log.info("partitions assigned", extra={
            "partitions": new, "restored_entries": restored,
            "open_alerts": len(self.state.deadlines),
            "stable_offsets_s": round(stable - started, 3),
            "restore_s": round(restored_at - stable, 3),
            "seek_s": round(time.monotonic() - restored_at, 3),
        })

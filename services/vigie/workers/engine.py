"""The routing engine: Kafka transactions around the Kafka-free processors.

    partner.<p>.alerts.v1    ─┐                       ┌─> force.<unit>.alerts.v1
    partner.<p>.incidents.v1 ─┼─> RoutingEngine ──────┼─> force.<unit>.incidents.v1
    force.<unit>.status.v1   ─┘   (intake, status,    ├─> partner.<p>.acks.v1
                                   escalation timer)  ├─> vigie.deadletter.v1
                                                      └─> <app_id>-events-changelog

One consumer (group ``app_id``) reads every input. All inputs are keyed by the root event id
and have the same partition count, and the range assignor gives a worker the same partition
numbers of every topic, so the worker that owns partition ``p`` owns the state of every event
hashed there (``vigie.workers.state``).

**Exactly once per stage.** Each pass takes a batch, runs the processors, then for each
partition number ``p`` commits one Kafka transaction holding the outputs, the changelog
entries and the input offsets of that partition. A crash before the commit aborts it all:
the inputs are read again and nothing was visible to ``read_committed`` readers. The
transactional id is per partition number (``<app_id>-route-<p>``), the classic "one producer
per input partition" scheme: whoever takes ``p`` over fences the previous owner, even a live
zombie, before it restores the state (aiokafka has no KIP-447 group fencing).

**Lanes.** Alerts have a fetcher of their own (``alert_reader``: the group consumer keeps
their partitions, paused, for the assignment and the offsets). Each pass drains the urgent
alerts (and force statuses) first, each partner getting an equal share; a pass that found
alerts commits them alone, before any incident. Incidents follow, again an equal share per
partner and at most ``PASS_BUDGET_SECONDS`` of processing, so a partner flooding its topics
mostly delays itself (docs/reliability.md, the flood measurement in ``bench``).

**Escalation.** Alert deadlines live in the state; each pass escalates the due ones of the
partitions owned here, in the same transaction as that partition's other work, so a take in
charge and an escalation can never both win, and a crash loses no timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.partitioner import murmur2

from vigie import metrics
from vigie.contracts import topics
from vigie.contracts.enums import Lane
from vigie.contracts.reasons import ReasonCode
from vigie.kafka import clients
from vigie.pipeline.escalation import ESCALATION_TIMER, EscalationProcessor
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import Inbound, Outbound, Outcome, StageResult
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.chain import RoutingContext
from vigie.settings import Settings
from vigie.workers.state import READER_OPTIONS, EventState

log = logging.getLogger("vigie.worker")

#: Records taken per partner and pass. A pass costs about (shares x partners) x 150 µs of
#: processing plus one transaction commit: this bounds how long an alert waits behind
#: incidents (one pass) while keeping passes large enough for throughput.
ALERT_SHARE = 16
INCIDENT_SHARE = 64
STATUS_SHARE = 400
#: Processing time after which a pass takes no more incidents: an alert arriving meanwhile
#: waits at most about this long (plus the commit) before its own pass.
PASS_BUDGET_SECONDS = 0.1
#: Longest idle wait for input; a due alert deadline shortens it.
IDLE_WAIT_MS = 500
#: A transaction open longer than this is aborted by the broker (the worker then restarts).
TRANSACTION_TIMEOUT_MS = 30_000


def _stop_process(reason: str, code: int = 70) -> None:
    """Fail-stop: whatever was not committed is aborted and read again after the restart
    (``vigie.workers.supervisor``); going on with half-published work could lose it."""
    log.critical(reason, exc_info=True)
    logging.shutdown()
    os._exit(code)


class Lanes:
    """Which input topic belongs to which lane and partner."""

    def __init__(self, partners: Sequence[str], units: Sequence[str]) -> None:
        self.alerts = {topics.partner_alerts(p): p for p in partners}
        self.incidents = {topics.partner_incidents(p): p for p in partners}
        self.statuses = {topics.unit_status(u) for u in units}
        self.partners = list(partners)

    @property
    def inputs(self) -> list[str]:
        return sorted({*self.alerts, *self.incidents, *self.statuses})

    def lane_of(self, topic: str) -> Lane | None:
        if topic in self.alerts:
            return Lane.ALERT
        if topic in self.incidents:
            return Lane.INCIDENT
        return None

    def split(self, owned: set[TopicPartition]) -> Owned:
        """The owned partitions as each pass takes them, worked out once per assignment."""
        alerts: dict[str, list[TopicPartition]] = defaultdict(list)
        incidents: dict[str, list[TopicPartition]] = defaultdict(list)
        statuses: list[TopicPartition] = []
        for tp in sorted(owned):
            if tp.topic in self.alerts:
                alerts[self.alerts[tp.topic]].append(tp)
            elif tp.topic in self.incidents:
                incidents[self.incidents[tp.topic]].append(tp)
            else:
                statuses.append(tp)
        return Owned(frozenset(owned), dict(alerts), dict(incidents), statuses)


@dataclass(frozen=True)
class Owned:
    """The partitions this worker owns, by lane and partner (empty during a rebalance)."""

    all: frozenset[TopicPartition] = frozenset()
    alerts_by_partner: dict[str, list[TopicPartition]] = field(default_factory=dict)
    incidents_by_partner: dict[str, list[TopicPartition]] = field(default_factory=dict)
    statuses: list[TopicPartition] = field(default_factory=list)
    #: Partition count of each input topic, for the partitioning contract (``key_partition``).
    partition_counts: dict[str, int] = field(default_factory=dict)

    @property
    def alerts(self) -> list[TopicPartition]:
        return [tp for tps in self.alerts_by_partner.values() for tp in tps]


@dataclass
class Pass:
    """The work of one pass for one partition number: what to send, which offsets to commit,
    and the results to count once the transaction is committed."""

    outbound: list[Outbound] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    counted: list[Callable[[], None]] = field(default_factory=list)


def key_partition(key: bytes | None, count: int | None) -> int | None:
    """The partition Kafka's default partitioner (murmur2, as the Java client and aiokafka;
    librdkafka with ``partitioner=murmur2_random``) gives ``key``; None when unknown."""
    if key is None or not count:
        return None
    return (murmur2(key) & 0x7FFFFFFF) % count


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, engine: RoutingEngine) -> None:
        self.engine = engine

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.engine.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.engine.on_assigned(assigned)


class RoutingEngine:
    def __init__(self, settings: Settings, store: ReferenceStore) -> None:
        self.settings = settings
        self.store = store
        self.state = EventState(settings)
        #: Fraction of the input partitions owned here (overflow limits are scaled by it).
        self._share = 1.0
        self.intake = IntakeProcessor(store, settings, context=self.routing_context)
        self.status = StatusProcessor(store, settings, context=self.routing_context)
        self.escalation = EscalationProcessor(store, context=self.routing_context)
        self.lanes = Lanes(settings.partners, sorted(store.snapshot().units))
        self.group_id = settings.app_id
        self.consumer: AIOKafkaConsumer | None = None
        #: The urgent lane's own fetcher: the alert partitions this worker owns, assigned
        #: by hand (the group consumer owns them too, paused, for assignment and offsets).
        self.alert_reader: AIOKafkaConsumer | None = None
        self._producers: dict[int, AIOKafkaProducer] = {}
        self._owned = Owned()
        #: Bumped by every rebalance: a batch fetched before one is dropped, not processed.
        self._generation = 0
        self._lock = asyncio.Lock()
        self._rebalancing = True
        self._stopping = asyncio.Event()
        #: Next offset to read per partition, as committed in the last transaction.
        self.committed: dict[TopicPartition, int] = {}
        self._rotation = itertools.count()
        self._last_pass_alerts_only = False

    # -- lifecycle ----------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return not self._rebalancing and bool(self._owned.all)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        self.consumer = clients.consumer(
            self.settings,
            **READER_OPTIONS,
            group_id=self.group_id,
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            max_partition_fetch_bytes=256 * 1024,
        )
        self.alert_reader = clients.consumer(
            self.settings, **READER_OPTIONS, group_id=None,
            max_partition_fetch_bytes=256 * 1024,
        )
        await self.alert_reader.start()
        await self.consumer.start()
        self.consumer.subscribe(self.lanes.inputs, listener=_Rebalance(self))
        try:
            while not self._stopping.is_set():
                await self.run_pass()
        finally:
            async with self._lock:
                await self.consumer.stop()
                await self.alert_reader.stop()
                await self._close_producers(list(self._producers))

    def _reader_for(self, tp: TopicPartition) -> AIOKafkaConsumer:
        reader = self.alert_reader if tp.topic in self.lanes.alerts else self.consumer
        assert reader is not None
        return reader

    async def run_pass(self) -> None:
        generation = self._generation
        batch = await self._fetch()
        async with self._lock:
            if generation != self._generation or self._rebalancing:
                self._rewind()
                return
            passes: dict[int, Pass] = defaultdict(Pass)
            started = time.monotonic()
            # Alerts and statuses come first in the batch (see _fetch); incidents stop once the
            # pass has used its time budget, and the rest is read again by the next pass.
            for tp, records in batch.items():
                if tp not in self._owned.all:
                    continue
                incidents = tp.topic in self.lanes.incidents
                done = 0
                for record in records:
                    if incidents and time.monotonic() - started > PASS_BUDGET_SECONDS:
                        break
                    self._process(record, passes[tp.partition])
                    done += 1
                if done:
                    passes[tp.partition].offsets[tp] = records[done - 1].offset + 1
                if done < len(records):
                    self._reader_for(tp).seek(tp, records[done].offset)
            self._escalate_due(passes)
            if passes:
                await self._commit(passes)

    def _rewind(self) -> None:
        """Drop a batch fetched across a rebalance, and read it again.

        The consumer counts drained records as consumed: a batch drained after the new
        assignment's seek would otherwise be skipped. Nothing was processed since the
        take-over (this pass is the first to hold the lock), so the committed offsets are
        exactly where to resume. During a rebalance, the coming assignment seeks instead."""
        if self._rebalancing or self.consumer is None:
            return
        for tp in self._owned.all:
            offset = self.committed.get(tp)
            if offset is not None:
                self._reader_for(tp).seek(tp, offset)

    # -- fetching -----------------------------------------------------------------------------
    async def _fetch(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Alerts and statuses first; incidents by equal shares per partner (see module doc)."""
        consumer, alert_reader = self.consumer, self.alert_reader
        assert consumer is not None and alert_reader is not None
        owned = self._owned
        got: dict[TopicPartition, list[ConsumerRecord]] = {}

        async def take(tps: list[TopicPartition], share: int) -> None:
            if tps:
                reader = self._reader_for(tps[0])
                got.update(await reader.getmany(*tps, timeout_ms=0, max_records=share))

        start = next(self._rotation) % max(len(self.lanes.partners), 1)
        order = self.lanes.partners[start:] + self.lanes.partners[:start]
        for partner in order:
            await take(owned.alerts_by_partner.get(partner, []), ALERT_SHARE)
        await take(owned.statuses, STATUS_SHARE)
        alerts_found = any(tp.topic in self.lanes.alerts for tp in got)
        # An alert pass commits alone, but never twice in a row: a partner flooding its alert
        # topic must not stop every incident.
        if alerts_found and not self._last_pass_alerts_only:
            self._last_pass_alerts_only = True
            return got
        self._last_pass_alerts_only = False
        for partner in order:
            await take(owned.incidents_by_partner.get(partner, []), INCIDENT_SHARE)
        if got or not owned.all:
            if not owned.all:
                await asyncio.sleep(IDLE_WAIT_MS / 1000)
            return got
        return await self._wait_for_input(owned.alerts)

    async def _wait_for_input(
        self, alert_tps: list[TopicPartition]
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Idle: wait on both fetchers; whichever has records first ends the wait.

        The other wait is cancelled at its await point, before it drains anything, so no
        record is lost (its records stay buffered for the next pass)."""
        consumer, alert_reader = self.consumer, self.alert_reader
        assert consumer is not None and alert_reader is not None
        wait = self._idle_wait_ms()
        waits = [asyncio.ensure_future(consumer.getmany(timeout_ms=wait,
                                                        max_records=INCIDENT_SHARE))]
        if alert_tps:
            waits.append(asyncio.ensure_future(
                alert_reader.getmany(*alert_tps, timeout_ms=wait, max_records=ALERT_SHARE)))
        _done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        got: dict[TopicPartition, list[ConsumerRecord]] = {}
        for task in waits:
            with contextlib.suppress(asyncio.CancelledError):
                got.update(await task)
        return got

    def _idle_wait_ms(self) -> int:
        deadline = self.state.next_deadline()
        if deadline is None:
            return IDLE_WAIT_MS
        return max(0, min(IDLE_WAIT_MS, int((deadline - time.time()) * 1000) + 1))

    # -- processing ---------------------------------------------------------------------------
    def _process(self, message: ConsumerRecord, work: Pass) -> None:
        expected = key_partition(message.key, self._owned.partition_counts.get(message.topic))
        inbound = Inbound(message.topic, message.partition, message.offset,
                          message.key, message.value, expected)
        partition = message.partition

        def lookup(event_id: str) -> Any:
            return self.state.lookup(event_id, partition)

        lane = self.lanes.lane_of(message.topic)
        result: StageResult
        if lane is not None:
            try:
                result = self.intake.handle(inbound, lookup)
            except Exception:  # a bug must cost one message (dead-lettered), not the worker
                log.exception("intake failed", extra={"source": inbound.coordinates_text})
                result = self.intake.dead_letter(inbound, ReasonCode.INTERNAL_ERROR,
                                                 "unexpected error in intake")
            if result.outcome is Outcome.REPLAYED:
                # Its outcome is in the committed state, yet its offset was not: this repeats
                # outputs that read_committed readers already have (a duplicate).
                log.warning("a record already in the state was read again",
                            extra={"source": inbound.coordinates_text})
            latency = time.time() - result.sent_at if result.sent_at else None
            lane_name = lane.value.lower()
            work.counted.append(lambda: metrics.record_intake(lane_name, result, latency))
        else:
            try:
                result = self.status.handle(inbound, lookup)
            except Exception:
                log.exception("status relay failed", extra={"source": inbound.coordinates_text})
                result = self.status.refuse(inbound, ReasonCode.INTERNAL_ERROR,
                                            "unexpected error in status relay")
            work.counted.append(lambda: metrics.record_status(result))
        self._collect(self._publishable(result, inbound, lane), partition, work)

    def _publishable(self, result: StageResult, inbound: Inbound, lane: Lane | None
                     ) -> StageResult:
        """``result``, or a dead letter for its input when one of its records could not be
        produced: a message's fault must cost that message, not fail the transaction of the
        whole pass (and crash-loop the worker on the same record)."""
        limit = self.settings.max_output_bytes
        if all(len(out.value) + len(out.key or b"") <= limit for out in result.outbound):
            return result
        log.error("an output exceeds max_output_bytes: input dead-lettered",
                  extra={"source": inbound.coordinates_text})
        detail = f"an output would exceed {limit} bytes"
        if lane is not None:
            return self.intake.dead_letter(inbound, ReasonCode.OVERSIZED, detail)
        return self.status.refuse(inbound, ReasonCode.OVERSIZED, detail)

    def _collect(self, result: StageResult, partition: int, work: Pass) -> None:
        for record in (result.related, result.record):
            if record is not None:
                work.outbound.append(self.state.put(record, partition))
        work.outbound.extend(result.outbound)

    def _escalate_due(self, passes: dict[int, Pass]) -> None:
        now = time.time()
        for event_id, partition in self.state.due(now):
            record = self.state.lookup(event_id, partition)
            request = Inbound(ESCALATION_TIMER, partition, 0, event_id.encode(), b"")
            try:
                result = self.escalation.handle(request, record)
            except Exception:
                log.exception("escalation failed", extra={"event_id": event_id})
                continue  # asked again at the next pass
            if result.record is None:  # no longer due (taken in charge, closed, cancelled)
                self.state.forget_deadline(event_id)
                continue
            work = passes[partition]
            self._collect(result, partition, work)
            work.counted.append(functools.partial(metrics.record_escalation, result))
            # Due implies a record with a deadline (EscalationProcessor.due).
            late = now - (record.alert_deadline or now) if record else 0.0
            log.info("alert escalated", extra={"event_id": event_id, "late_s": round(late, 3)})

    def open_alerts_by_unit(self) -> Counter[str]:
        return Counter(self.state.open_alerts)

    def routing_context(self, now: datetime) -> RoutingContext:
        """What the routing rules read: their clock (``Settings.routing_time``), the open
        alerts of the partitions owned here and the share of all partitions they are.

        Each worker sees only the alerts of its partitions: a unit's alerts spread over the
        partitions by their random event ids, so the local count estimates the share owned
        of the unit's total, and the limit is scaled the same way (docs/routing.md). The
        counter is the live one, read at once by the policy (never kept)."""
        return RoutingContext(at=self.settings.routing_time(now),
                              open_alerts=self.state.open_alerts, share=self._share)

    # -- transactions -------------------------------------------------------------------------
    async def _commit(self, passes: dict[int, Pass]) -> None:
        started = time.monotonic()
        try:
            await asyncio.gather(*(self._commit_one(p, work) for p, work in passes.items()))
            metrics.PASS_COMMIT.observe(time.monotonic() - started)
        except Exception:
            _stop_process("a transaction failed: stopping the worker, its inputs will be "
                          "processed again")
        for work in passes.values():
            self.committed.update(work.offsets)
            for count in work.counted:
                count()

    async def _commit_one(self, partition: int, work: Pass) -> None:
        producer = self._producers[partition]
        await producer.begin_transaction()
        sent: list[Awaitable[Any]] = []
        for out in work.outbound:
            sent.append(await producer.send(out.topic, out.value, key=out.key,
                                            partition=out.partition))
        if work.offsets:
            await producer.send_offsets_to_transaction(work.offsets, self.group_id)
        await asyncio.gather(*sent)
        await producer.commit_transaction()

    def _transactional_id(self, partition: int) -> str:
        return f"{self.settings.app_id}-route-{partition}"

    async def _start_producer(self, partition: int) -> None:
        producer = clients.producer(
            self.settings,
            transactional_id=self._transactional_id(partition),
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            # Above every record the worker lets through (``_publishable``), with room for
            # the batch header; the broker's own limit is ``message.max.bytes``.
            max_request_size=self.settings.max_output_bytes + 64 * 1024,
        )
        await producer.start()  # InitProducerId: fences the previous owner, aborts its txn
        self._producers[partition] = producer

    async def _close_producers(self, partitions: list[int]) -> None:
        for p in partitions:
            producer = self._producers.pop(p, None)
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()

    # -- rebalances ---------------------------------------------------------------------------
    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Every pass ends with its commit and holds the lock: once we have it, nothing is in
        flight. State and producers go: a worker dropped from the group (a long broker outage)
        may get a partition back that another worker changed meanwhile, so the assignment
        always fences and restores afresh."""
        async with self._lock:
            self._rebalancing = True
            self._generation += 1
            self._owned = Owned()
            await self._close_producers(list(self._producers))
            self.state.drop(self.state.partitions)
            self.committed.clear()
            log.info("partitions revoked", extra={"partitions": len(revoked)})

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:
            self._generation += 1
            try:
                await self._take_over(assigned)
            except Exception:
                _stop_process("could not take the assigned partitions over")

    async def _take_over(self, assigned: set[TopicPartition]) -> None:
        consumer = self.consumer
        assert consumer is not None
        numbers = {tp.partition for tp in assigned}
        uneven = {t for t in {tp.topic for tp in assigned}
                  if {tp.partition for tp in assigned if tp.topic == t} != numbers}
        if uneven:  # co-partitioning broken (topics with different partition counts)
            log.error("input topics are not co-partitioned", extra={"topics": sorted(uneven)})
        new = sorted(numbers)
        started = time.monotonic()
        await asyncio.gather(*(self._start_producer(p) for p in new))
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
        assert self.alert_reader is not None
        self.alert_reader.assign(owned.alerts)
        floor = self.state.last_inputs()
        for tp in assigned:
            meta = committed.get(tp)
            # Never committed: from the start (a retention-deleted offset 0 falls back to the
            # earliest, auto_offset_reset). seek_to_beginning() would wait for the fetcher,
            # which does not run during a rebalance.
            start = meta.offset if meta is not None and meta.offset >= 0 else 0
            recorded = floor.get((tp.topic, tp.partition))
            if recorded is not None and start <= recorded:
                # The restored state holds the outcome of a later record, so the transaction
                # that committed it also committed this input past it: the offset fetch lags
                # behind it (aiokafka's OffsetFetch cannot ask for stable offsets, KIP-447).
                # Reading from the fetched offset would publish that outcome a second time.
                log.warning("committed offset behind the restored state: resuming after it",
                            extra={"topic": tp.topic, "partition": tp.partition,
                                   "fetched": start, "resumed": recorded + 1})
                metrics.OFFSET_BEHIND_STATE.inc()
                start = recorded + 1
            self._reader_for(tp).seek(tp, start)
            self.committed[tp] = start
        self._owned = owned
        total = max(owned.partition_counts.values(), default=0)
        self._share = min(1.0, len(numbers) / total) if total else 1.0
        self._rebalancing = False
        log.info("partitions assigned", extra={
            "partitions": sorted(numbers), "restored_entries": restored,
            "open_alerts": len(self.state.deadlines),
            "fence_s": round(fenced - started, 3), "restore_s": round(restored_at - fenced, 3),
            "seek_s": round(time.monotonic() - restored_at, 3),
        })

    # -- observation --------------------------------------------------------------------------
    async def partition_positions(self) -> tuple[dict[TopicPartition, int | None],
                                                 dict[TopicPartition, int | None]]:
        """(end offsets, committed offsets) of the partitions owned here, for the lag gauge."""
        if self.consumer is None or not self._owned.all:
            return {}, {}
        owned = sorted(self._owned.all)
        ends = await self.consumer.end_offsets(owned)
        return dict(ends), {tp: self.committed.get(tp) for tp in owned}

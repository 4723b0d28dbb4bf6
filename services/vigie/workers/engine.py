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

The engine's jobs live apart: what a pass takes and when it stops is the pure
``vigie.workers.scheduler``; the transactional producers and the commit of a pass are
``vigie.workers.transactions``; revocation and take-over (fencing, restore, where each
partition resumes) are ``vigie.workers.rebalance``. This module fetches, runs the
processors and escalates, under the lock the rebalance callbacks share.

**Escalation.** Alert deadlines live in the state; each pass escalates the due ones of the
partitions owned here, in the same transaction as that partition's other work, so a take in
charge and an escalation can never both win, and a crash loses no timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from vigie import metrics
from vigie.contracts.enums import Lane
from vigie.contracts.reasons import ReasonCode
from vigie.kafka import clients
from vigie.kafka.partitioning import key_partition
from vigie.pipeline.escalation import ESCALATION_TIMER, EscalationProcessor
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import Inbound, Outcome, StageResult
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.chain import RoutingContext
from vigie.settings import Settings
from vigie.workers.rebalance import Ownership, Readers, Rebalancer
from vigie.workers.scheduler import (
    ALERT_SHARE,
    IDLE_WAIT_MS,
    INCIDENT_SHARE,
    PASS_BUDGET_SECONDS,
    STATUS_SHARE,
    Lanes,
    Owned,
    PassScheduler,
    Take,
)
from vigie.workers.state import READER_OPTIONS, EventState
from vigie.workers.transactions import TRANSACTION_TIMEOUT_MS, Pass, TransactionPool

__all__ = [
    "ALERT_SHARE", "IDLE_WAIT_MS", "INCIDENT_SHARE", "PASS_BUDGET_SECONDS", "STATUS_SHARE",
    "TRANSACTION_TIMEOUT_MS", "Lanes", "Owned", "Pass", "RoutingEngine", "key_partition",
]

log = logging.getLogger("vigie.worker")


def _stop_process(reason: str, code: int = 70) -> None:
    """Fail-stop: whatever was not committed is aborted and read again after the restart
    (``vigie.workers.supervisor``); going on with half-published work could lose it."""
    log.critical(reason, exc_info=True)
    logging.shutdown()
    os._exit(code)


class RoutingEngine:
    def __init__(self, settings: Settings, store: ReferenceStore) -> None:
        self.settings = settings
        self.store = store
        self.state = EventState(settings)
        self.intake = IntakeProcessor(store, settings, context=self.routing_context)
        self.status = StatusProcessor(store, settings, context=self.routing_context)
        self.escalation = EscalationProcessor(store, context=self.routing_context)
        self.lanes = Lanes(settings.partners, sorted(store.snapshot().units))
        self.scheduler = PassScheduler(self.lanes)
        self.group_id = settings.app_id
        self.consumer: AIOKafkaConsumer | None = None
        #: The urgent lane's own fetcher: the alert partitions this worker owns, assigned
        #: by hand (the group consumer owns them too, paused, for assignment and offsets).
        self.alert_reader: AIOKafkaConsumer | None = None
        self._readers: Readers | None = None
        self.pool = TransactionPool(settings, self.group_id)
        self.ownership = Ownership()
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()

    @property
    def committed(self) -> dict[TopicPartition, int]:
        """Next offset to read per partition, as committed in the last transaction."""
        return self.ownership.committed

    @property
    def _owned(self) -> Owned:
        return self.ownership.owned

    # -- lifecycle ----------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return not self.ownership.rebalancing and bool(self._owned.all)

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
        self._readers = Readers(self.consumer, self.alert_reader, self.lanes.alerts)
        rebalancer = Rebalancer(self._lock, self.ownership, self.pool, self.state, self.lanes,
                                self._readers, _stop_process)
        await self.alert_reader.start()
        await self.consumer.start()
        self.consumer.subscribe(self.lanes.inputs, listener=rebalancer)
        try:
            while not self._stopping.is_set():
                await self.run_pass()
        finally:
            async with self._lock:
                await self.consumer.stop()
                await self.alert_reader.stop()
                await self.pool.close()

    def _reader_for(self, tp: TopicPartition) -> AIOKafkaConsumer:
        assert self._readers is not None
        return self._readers.for_partition(tp)

    async def run_pass(self) -> None:
        generation = self.ownership.generation
        batch = await self._fetch()
        async with self._lock:
            if generation != self.ownership.generation or self.ownership.rebalancing:
                self._rewind()
                return
            passes: dict[int, Pass] = defaultdict(Pass)
            # Alerts and statuses come first in the batch (see _fetch); incidents stop once the
            # pass has used its time budget, and the rest is read again by the next pass.
            admitted = self.scheduler.admit(
                batch, self._owned, lambda record: self._process(record, passes[record.partition]))
            for tp, offset in admitted.commit.items():
                passes[tp.partition].offsets[tp] = offset
            for tp, offset in admitted.rewind.items():
                self._reader_for(tp).seek(tp, offset)
            self._escalate_due(passes)
            if passes:
                await self._commit(passes)

    def _rewind(self) -> None:
        """Drop a batch fetched across a rebalance, and read it again.

        The consumer counts drained records as consumed: a batch drained after the new
        assignment's seek would otherwise be skipped. Nothing was processed since the
        take-over (this pass is the first to hold the lock), so the committed offsets are
        exactly where to resume. During a rebalance, the coming assignment seeks instead."""
        if self.ownership.rebalancing or self.consumer is None:
            return
        for tp in self._owned.all:
            offset = self.committed.get(tp)
            if offset is not None:
                self._reader_for(tp).seek(tp, offset)

    # -- fetching -----------------------------------------------------------------------------
    async def _fetch(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Alerts and statuses first; incidents by equal shares per partner
        (``vigie.workers.scheduler``)."""
        consumer, alert_reader = self.consumer, self.alert_reader
        assert consumer is not None and alert_reader is not None
        owned = self._owned
        got: dict[TopicPartition, list[ConsumerRecord]] = {}

        async def take(takes: list[Take]) -> None:
            for t in takes:
                reader = self._reader_for(t.partitions[0])
                got.update(await reader.getmany(*t.partitions, timeout_ms=0,
                                                max_records=t.share))

        plan = self.scheduler.next_pass(owned)
        await take(plan.urgent)
        alerts_found = any(self.scheduler.is_alert_partition(tp) for tp in got)
        incidents = plan.incident_takes(alerts_found)
        if incidents is None:  # an alert pass: commits alone
            return got
        await take(incidents)
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
        return self.scheduler.idle_wait_ms(self.state.next_deadline(), time.time())

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
                              open_alerts=self.state.open_alerts, share=self.ownership.share)

    # -- transactions -------------------------------------------------------------------------
    async def _commit(self, passes: dict[int, Pass]) -> None:
        try:
            await self.pool.commit(passes)
        except Exception:
            _stop_process("a transaction failed: stopping the worker, its inputs will be "
                          "processed again")
        for work in passes.values():
            self.committed.update(work.offsets)
            for count in work.counted:
                count()

    # -- observation --------------------------------------------------------------------------
    async def partition_positions(self) -> tuple[dict[TopicPartition, int | None],
                                                 dict[TopicPartition, int | None]]:
        """(end offsets, committed offsets) of the partitions owned here, for the lag gauge."""
        if self.consumer is None or not self._owned.all:
            return {}, {}
        owned = sorted(self._owned.all)
        ends = await self.consumer.end_offsets(owned)
        return dict(ends), {tp: self.committed.get(tp) for tp in owned}

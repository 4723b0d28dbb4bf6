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

**Exactly once per stage.** Each pass takes a batch, runs the processors, then commits one
Kafka transaction holding the outputs, the changelog entries and the input offsets of every
partition it touched. A crash before the commit aborts it all: the inputs are read again and
nothing was visible to ``read_committed`` readers. The offsets go in with the group
consumer's metadata (KIP-447), so a zombie that lost its partitions can no longer commit,
and the worker that takes them over reads stable offsets only (``vigie.workers.transactions``).

**Clients.** librdkafka (confluent-kafka), on a thread of its own: the engine is a plain
loop of blocking calls (fetch, process, commit), and the rebalance callbacks run inside its
fetch, between two passes. The event loop keeps the HTTP endpoint, the reference loader and
the gauges; docs/reliability.md (the decision record) has the measurements behind the
change from aiokafka.

**Lanes.** Alerts have a fetcher of their own (``alert_consumer``: the group consumer keeps
their partitions, paused, for the assignment and the offsets). Each pass drains the urgent
alerts (and force statuses) first, each partner getting an equal share; a pass that found
alerts commits them alone, before any incident. Incidents follow, again an equal share per
partner and at most ``PASS_BUDGET_SECONDS`` of processing, so a partner flooding its topics
mostly delays itself (docs/reliability.md, the flood measurement in ``bench``).

The engine's jobs live apart: what a pass takes and when it stops is the pure
``vigie.workers.scheduler``; the per-partition buffers over each consumer are
``vigie.workers.fetcher``; the transactional producer and the commit of a pass are
``vigie.workers.transactions``; revocation and take-over (stable offsets, restore, where
each partition resumes) are ``vigie.workers.rebalance``. This module runs the passes: takes,
processing, escalation, commit.

**Escalation.** Alert deadlines live in the state; each pass escalates the due ones of the
partitions owned here, in the same transaction as that partition's other work, so a take in
charge and an escalation can never both win, and a crash loses no timer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from aiokafka import TopicPartition

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
from vigie.workers.fetcher import Fetched, Fetcher
from vigie.workers.heap import HeapKeeper, observe_gc_pauses
from vigie.workers.rebalance import Ownership, Readers, Rebalancer
from vigie.workers.scheduler import (
    ALERT_SHARE,
    IDLE_WAIT_MS,
    INCIDENT_SHARE,
    PASS_BUDGET_SECONDS,
    STATUS_SHARE,
    Admitted,
    Lanes,
    Owned,
    PassScheduler,
    Take,
)
from vigie.workers.state import EventState
from vigie.workers.transactions import TRANSACTION_TIMEOUT_MS, Pass, Transactions

__all__ = [
    "ALERT_SHARE", "IDLE_WAIT_MS", "INCIDENT_SHARE", "PASS_BUDGET_SECONDS", "STATUS_SHARE",
    "TRANSACTION_TIMEOUT_MS", "Lanes", "Owned", "Pass", "RoutingEngine", "key_partition",
]

#: The engine's consumers (librdkafka properties): committed records only, no offset commit
#: of their own (offsets go with the transactions).
CONSUMER_OPTIONS: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "isolation.level": "read_committed",
    "max.partition.fetch.bytes": 256 * 1024,
    "queued.max.messages.kbytes": 8 * 1024,
    "fetch.wait.max.ms": 100,
}
#: The group consumer: range assignment keeps the same partition numbers of every input
#: topic on one worker (co-partitioning, ``vigie.workers.state``).
GROUP_OPTIONS: dict[str, Any] = {
    "partition.assignment.strategy": "range",
    "session.timeout.ms": 10_000,
    "heartbeat.interval.ms": 1_000,
}
#: Slice of an idle wait spent on each of the two consumers in turn.
IDLE_SLICE_S = 0.01
#: How often a pass processing incidents looks for newly arrived alerts.
ALERT_CHECK_S = 0.002

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
        self.consumer: Any = None
        #: The urgent lane's own consumer: the alert partitions this worker owns, assigned
        #: by hand (the group consumer owns them too, paused, for assignment and offsets).
        self.alert_consumer: Any = None
        self._readers: Readers | None = None
        self.transactions = Transactions(settings, on_hang=_stop_process)
        self.ownership = Ownership()
        self._stopping = threading.Event()
        self._alert_check = 0.0
        self.heap = HeapKeeper(settings.gc_settle_interval_seconds)
        self._settled_generation = -1

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
        """The passes, on a thread of their own (blocking librdkafka calls), until ``stop``."""
        await asyncio.to_thread(self.run_blocking)

    def run_blocking(self) -> None:
        self.consumer = clients.rd_consumer(
            self.settings, **CONSUMER_OPTIONS, **GROUP_OPTIONS, **{"group.id": self.group_id})
        self.alert_consumer = clients.rd_consumer(
            self.settings, **CONSUMER_OPTIONS,
            # Never joins the group (partitions assigned by hand); librdkafka wants a name.
            **{"group.id": f"{self.group_id}-alert-reader"})
        self._readers = Readers(Fetcher(self.consumer), Fetcher(self.alert_consumer),
                                self.lanes.alerts)
        rebalancer = Rebalancer(self.settings, self.ownership, self.state, self.lanes,
                                self._readers, self.alert_consumer, _stop_process)
        self.transactions.start()
        observe_gc_pauses()
        self.consumer.subscribe(self.lanes.inputs, on_assign=rebalancer.on_assign,
                                on_revoke=rebalancer.on_revoke, on_lost=rebalancer.on_lost)
        try:
            while not self._stopping.is_set():
                self.run_pass()
        finally:
            self.consumer.close()  # leaves the group: the partitions move at once
            self.alert_consumer.close()
            self.transactions.close()

    @property
    def readers(self) -> Readers:
        assert self._readers is not None, "run() first"
        return self._readers

    def run_pass(self) -> None:
        readers = self.readers
        # Rebalance callbacks run in the group consumer's fill, never inside a pass.
        readers.group.fill()
        readers.alerts.fill()
        if self.ownership.rebalancing or not self._owned.all:
            readers.group.fill(IDLE_WAIT_MS / 1000)
            return
        if self._settled_generation != self.ownership.generation:
            # A take-over restored state: settle it at once (its pause is small beside the
            # restore), so that no later collection walks it (vigie.workers.heap).
            self._settled_generation = self.ownership.generation
            self.heap.settle()
        if not readers.group.buffered() and not readers.alerts.buffered():
            self._wait_for_input()
            if self.ownership.rebalancing:
                return
        owned = self._owned
        batch = self._take(owned)
        passes: dict[int, Pass] = defaultdict(Pass)
        # Alerts and statuses come first in the batch (see _take); incidents stop once the
        # pass has used its time budget, and the rest is taken again by the next pass.
        admitted = self.scheduler.admit(
            batch, owned, lambda record: self._process_and_send(record, passes),
            interrupt=self._alerts_arrived)
        self._settle(admitted, batch, passes)
        if admitted.interrupted:
            # Alerts came while incidents were processed: they join this pass's commit
            # instead of waiting for it and for a pass of their own.
            urgent: dict[TopicPartition, list[Fetched]] = {}
            for take in self.scheduler.next_pass(owned).urgent:
                if self.scheduler.is_alert_partition(take.partitions[0]):
                    urgent.update(self.readers.alerts.take(take.partitions, take.share))
            self._settle(self.scheduler.admit(
                urgent, owned, lambda record: self._process_and_send(record, passes)),
                urgent, passes)
        self._escalate_due(passes)
        if passes:
            self._commit(passes)
        # Between two passes, after the commit: a pause here delays no processed record.
        self.heap.maybe_settle()

    def _settle(self, admitted: Admitted[Fetched], batch: dict[TopicPartition, list[Fetched]],
                passes: dict[int, Pass]) -> None:
        """The offsets to commit of what was processed; the rest back to its fetcher."""
        for tp, offset in admitted.commit.items():
            passes[tp.partition].offsets[tp] = offset
        for tp, offset in admitted.rewind.items():
            self.readers.for_partition(tp).unread(
                tp, [r for r in batch[tp] if r.offset >= offset])

    def _alerts_arrived(self) -> bool:
        """Whether urgent alerts arrived since the pass began (checked every
        ``ALERT_CHECK_S`` at most: a non-blocking look at the urgent lane's consumer)."""
        now = time.monotonic()
        if now - self._alert_check < ALERT_CHECK_S or not self._owned.alerts:
            return False
        self._alert_check = now
        return self.readers.alerts.fill() > 0

    # -- fetching -----------------------------------------------------------------------------
    def _take(self, owned: Owned) -> dict[TopicPartition, list[Fetched]]:
        """Alerts and statuses first; incidents by equal shares per partner
        (``vigie.workers.scheduler``)."""
        got: dict[TopicPartition, list[Fetched]] = {}

        def take(takes: list[Take]) -> None:
            for t in takes:
                got.update(self.readers.for_partition(t.partitions[0]).take(t.partitions,
                                                                            t.share))

        plan = self.scheduler.next_pass(owned)
        take(plan.urgent)
        alerts_found = any(self.scheduler.is_alert_partition(tp) for tp in got)
        incidents = plan.incident_takes(alerts_found)
        if incidents is not None:  # None: an alert pass, which commits alone
            take(incidents)
        return got

    def _wait_for_input(self) -> None:
        """Idle: watch both consumers in turn until either has records, a rebalance comes
        or the wait (shortened by the next alert deadline) is over."""
        readers = self.readers
        deadline = time.monotonic() + self._idle_wait_ms() / 1000
        generation = self.ownership.generation
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if readers.alerts.fill(min(IDLE_SLICE_S, left) if self._owned.alerts else 0):
                return
            wait = min(IDLE_SLICE_S, left) if self._owned.alerts else left
            if readers.group.fill(wait) or generation != self.ownership.generation:
                return

    def _idle_wait_ms(self) -> int:
        return self.scheduler.idle_wait_ms(self.state.next_deadline(), time.time())

    # -- processing ---------------------------------------------------------------------------
    def _process(self, message: Fetched, work: Pass) -> None:
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

    def _process_and_send(self, record: Fetched, passes: dict[int, Pass]) -> None:
        """Process a record and produce its outputs at once, in the pass's transaction."""
        work = passes[record.partition]
        self._process(record, work)
        self._send(work)

    def _send(self, work: Pass) -> None:
        try:
            self.transactions.send(work.outbound)
        except Exception:
            _stop_process("a record could not be produced: stopping the worker, its inputs "
                          "will be processed again")
        work.outbound.clear()

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
    def _commit(self, passes: dict[int, Pass]) -> None:
        self._fence_escalations(passes)
        offsets: dict[TopicPartition, int] = {}
        for work in passes.values():
            self._send(work)  # the escalations' records (the inputs' are already sent)
            offsets.update(work.offsets)
        try:
            self.transactions.commit(offsets, self.consumer.consumer_group_metadata())
        except Exception:
            _stop_process("a transaction failed: stopping the worker, its inputs will be "
                          "processed again")
        self.committed.update(offsets)
        for work in passes.values():
            for count in work.counted:
                count()

    def _fence_escalations(self, passes: dict[int, Pass]) -> None:
        """A partition whose work is escalations only still sends an input offset (its
        current one): the group coordinator checks the generation of every transaction's
        offsets, so a zombie's escalation cannot commit either."""
        for partition, work in passes.items():
            if work.offsets:
                continue
            for tp in self._owned.all:
                if tp.partition == partition and tp in self.committed:
                    work.offsets[tp] = self.committed[tp]
                    break

    # -- observation --------------------------------------------------------------------------
    async def partition_positions(self) -> tuple[dict[TopicPartition, int | None],
                                                 dict[TopicPartition, int | None]]:
        """(end offsets, committed offsets) of the partitions owned here, for the lag gauge:
        the ends librdkafka last saw in its fetches (no request)."""
        if self._readers is None or not self._owned.all:
            return {}, {}
        from confluent_kafka import TopicPartition as RdTopicPartition

        committed = dict(self.committed)
        ends: dict[TopicPartition, int | None] = {}
        for tp in sorted(self._owned.all):
            consumer = (self.alert_consumer if tp.topic in self.lanes.alerts
                        else self.consumer)
            _low, high = consumer.get_watermark_offsets(
                RdTopicPartition(tp.topic, tp.partition), cached=True) or (None, None)
            ends[tp] = high if high is not None and high >= 0 else None
        return ends, {tp: committed.get(tp) for tp in ends}

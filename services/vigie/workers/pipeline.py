"""The faust agents of the pipeline: intake per lane, status relay, escalation; one table.

    partner.<p>.alerts.v1    ─> intake-alerts    ─┐   force.<unit>.alerts.v1
    partner.<p>.incidents.v1 ─> intake-incidents ─┼─> force.<unit>.incidents.v1
    force.<unit>.status.v1   ─> status-relay     ─┤   partner.<p>.acks.v1
    alert timer ─> vigie.alert-timers.v1 ─> escalation ─┘   vigie.deadletter.v1
    ref.* (compacted) ─> ReferenceLoader (every worker reads all of it)

Urgent alerts have their own topics and their own agent so that an incident backlog never
delays them. Every agent shares the ``events`` table (event id → what became of it); all
inputs have the same partition count and are keyed by event id, so each message meets its
table entry in the same partition (faust co-partitions them).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust.types import EventT, StreamT

from vigie import metrics
from vigie.contracts import topics
from vigie.contracts.enums import Lane
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.escalation import EscalationProcessor
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import EventRecord, Inbound, StageResult
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.app import create_app
from vigie.workers.http import build_http_app, serve
from vigie.workers.lag import WorkerObserver
from vigie.workers.provision import EVENTS_TABLE
from vigie.workers.reference_loader import ReferenceLoader

log = logging.getLogger("vigie.worker")



#: Records an incident agent may hold waiting. faust hands fetched records to agents one at
#: a time, and a full buffer blocks that hand-off for every topic: a small incident buffer
#: bounds how long an alert fetched behind a backlog of incidents can wait (the urgent lane).
INCIDENT_BUFFER = 64


def raw_topic(app: faust.App, *names: str, maxsize: int | None = None) -> faust.TopicT:
    """A topic of raw bytes: Vigie decodes and encodes itself (``vigie.contracts``)."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", maxsize=maxsize)


def _stop_unless_delivered(sent: asyncio.Future[Any]) -> None:
    """A record the broker never took (e.g. its batch expired during a broker outage) must
    not be followed by the commit of its input, which faust does after a flush that does not
    look at failures: stop at once, so the input is processed again after the restart."""
    if sent.cancelled() or sent.exception() is not None:
        log.critical("a record was not delivered: stopping the worker",
                     extra={"error": type(sent.exception()).__name__ if not sent.cancelled()
                            else "cancelled"})
        os._exit(71)


class Pipeline:
    """Wires processors to a faust app; built once per worker process."""

    def __init__(self, settings: Settings, store: ReferenceStore | None = None) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.store = store or ReferenceStore.with_defaults()
        self.loader = ReferenceLoader(self.store, settings.bootstrap_servers)
        self.intake = IntakeProcessor(self.store, settings)
        self.status = StatusProcessor(self.store, settings)
        self.escalation = EscalationProcessor(self.store)
        #: event id -> (deadline, partition, units) of the open alerts this worker owns.
        self.alert_deadlines: dict[str, tuple[float, int, tuple[str, ...]]] = {}
        self._asked: dict[str, float] = {}
        self._deadlines_stale = True
        self._requests: AIOKafkaProducer | None = None
        self._requests_started: asyncio.Future[None] | None = None
        self._topics: dict[str, faust.TopicT] = {}
        self.events = self.app.Table(
            EVENTS_TABLE,
            default=None,
            partitions=settings.partitions,
            key_type=str,
            # No value_type: faust decodes a changelog value of type ``dict`` with
            # ``dict.from_data`` (it treats any type as a faust Model), which raises, so every
            # restarted worker recovered an empty table (or hung in recovery). JSON objects
            # come back as plain dicts without it (the app's value serializer is json).
        )
        alerts = raw_topic(self.app, *[topics.partner_alerts(p) for p in settings.partners])
        incidents = raw_topic(
            self.app,
            *[topics.partner_incidents(p) for p in settings.partners],
            maxsize=INCIDENT_BUFFER,
        )
        self.app.agent(alerts, name="intake-alerts")(self._intake_agent_for(Lane.ALERT))
        self.app.agent(incidents, name="intake-incidents")(
            self._intake_agent_for(Lane.INCIDENT)
        )
        unit_ids = sorted(self.store.snapshot().units)
        statuses = raw_topic(self.app, *[topics.unit_status(u) for u in unit_ids])
        self.app.agent(statuses, name="status-relay")(self._status_agent)
        timers = raw_topic(self.app, topics.ALERT_TIMERS)
        self.app.agent(timers, name="escalation")(self._escalation_agent)
        self.app.timer(1.0)(self._alert_timer)
        self.app.on_partitions_assigned.connect(self._on_assigned)
        self.app.task(self._run_loader)
        self.app.task(self._serve_http)
        self.observer = WorkerObserver(self.app, self.store, settings.partners)
        self.app.task(self.observer.run)  # consumer lag, reference versions (metrics.py)

    async def _run_loader(self) -> None:
        self.loader.on_update = metrics.record_reference_update
        await self.loader.run()

    async def _serve_http(self) -> None:
        self._http_runner = await serve(build_http_app(self.is_ready), self.settings.metrics_port)

    def _recovered(self) -> bool:
        """Table recovery from the changelog is done (faust's TableManager, untyped)."""
        return bool(self.app.tables.recovery.completed.is_set())  # type: ignore[attr-defined]

    def is_ready(self) -> bool:
        ready = (
            self.loader.ready.is_set()
            and not self.app.rebalancing
            and self._recovered()
            and bool(self.app.consumer.assignment())
        )
        metrics.WORKER_READY.set(1 if ready else 0)
        return ready

    def topic(self, name: str) -> faust.TopicT:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = raw_topic(self.app, name)
        return topic

    def lookup(self, event_id: str) -> EventRecord | None:
        data = self.events.get(event_id)
        return EventRecord.from_json(data) if data else None

    def _intake_agent_for(self, lane: Lane) -> Callable[[StreamT[Any]], Awaitable[None]]:
        async def agent(stream: StreamT[Any]) -> None:
            await self._intake(stream, lane.value.lower())

        return agent

    async def _intake(self, stream: StreamT[Any], lane: str) -> None:
        await self.loader.ready.wait()
        event: EventT[Any]
        async for event in stream.events():
            message = event.message
            inbound = Inbound(message.topic, message.partition, message.offset,
                              message.key, message.value)
            try:
                result = self.intake.handle(inbound, self.lookup)
            except Exception:  # an agent that raises loses the message: never let it
                log.exception("intake failed", extra={"source": inbound.coordinates_text})
                result = self.intake.dead_letter(inbound, ReasonCode.INTERNAL_ERROR,
                                                 "unexpected error in intake")
            await self.publish(result, message.partition)
            latency = time.time() - result.sent_at if result.sent_at else None
            metrics.record_intake(lane, result, latency)

    async def _status_agent(self, stream: StreamT[Any]) -> None:
        await self.loader.ready.wait()
        async for event in stream.events():
            inbound = self._inbound(event)
            try:
                result = self.status.handle(inbound, self.lookup)
            except Exception:
                log.exception("status relay failed", extra={"source": inbound.coordinates_text})
                result = self.status.refuse(inbound, ReasonCode.INTERNAL_ERROR,
                                            "unexpected error in status relay")
            await self.publish(result, event.message.partition)
            metrics.record_status(result)

    async def _escalation_agent(self, stream: StreamT[Any]) -> None:
        await self.loader.ready.wait()
        async for event in stream.events():
            inbound = self._inbound(event)
            event_id = (inbound.key or b"").decode(errors="replace")
            try:
                result = self.escalation.handle(inbound, self.lookup(event_id))
            except Exception:
                log.exception("escalation failed", extra={"source": inbound.coordinates_text})
                continue  # the timer asks again while the deadline stays passed
            await self.publish(result, event.message.partition)
            metrics.record_escalation(result)

    async def _alert_timer(self) -> None:
        """Ask for the escalation of every alert past its deadline (the agent decides)."""
        if self._deadlines_stale and self._recovered():
            self._rebuild_deadlines()
        now = time.time()
        open_by_unit: Counter[str] = Counter()
        producer = self._timer_producer()
        assert self._requests_started is not None
        await self._requests_started
        for event_id, (deadline, partition, units) in list(self.alert_deadlines.items()):
            open_by_unit.update(units)
            if deadline > now or now - self._asked.get(event_id, 0.0) < 5.0:
                continue
            self._asked[event_id] = now
            await producer.send(
                topics.ALERT_TIMERS, value=b"", key=event_id.encode(), partition=partition
            )
            log.info("escalation requested", extra={"event_id": event_id,
                                                    "late_s": round(now - deadline, 3)})
        metrics.set_open_alerts(open_by_unit, self.store.snapshot().units)

    def _timer_producer(self) -> AIOKafkaProducer:
        """A plain producer of its own: a timer runs outside any stream event, where faust's
        transactional producer (exactly_once) has no transaction to put the send in. The
        request is idempotent (the escalation agent checks the table), so no transaction
        is needed; the producer starts lazily inside the worker's loop."""
        if self._requests is None:
            self._requests = AIOKafkaProducer(
                bootstrap_servers=self.settings.bootstrap_servers, acks="all", linger_ms=0
            )
            self._requests_started = asyncio.ensure_future(self._requests.start())
        return self._requests

    async def _on_assigned(self, *_args: Any, **_kwargs: Any) -> None:
        self._deadlines_stale = True

    def _rebuild_deadlines(self) -> None:
        """After a rebalance or a restart, the table (restored from its changelog) is the
        truth: this is how an alert timer survives a worker crash. Entries of partitions
        this worker does not own (standby copies) are left to their owner."""
        # The consumer's assignment also holds standby changelog partitions: only the input
        # topics say which partitions this worker owns.
        inputs = {name for p in self.settings.partners
                  for name in (topics.partner_incidents(p), topics.partner_alerts(p))}
        active = {tp.partition for tp in self.app.consumer.assignment() if tp.topic in inputs}
        self.alert_deadlines.clear()
        for key, data in self.events.items():
            if data and data.get("alert_deadline") and data.get("partition") in active:
                self.alert_deadlines[key] = (
                    float(data["alert_deadline"]), data["partition"], tuple(data["units"])
                )
        self._deadlines_stale = False
        log.info("alert deadlines rebuilt", extra={"open_alerts": len(self.alert_deadlines),
                                                   "partitions": sorted(active)})

    @staticmethod
    def _inbound(event: EventT[Any]) -> Inbound:
        message = event.message
        return Inbound(message.topic, message.partition, message.offset,
                       message.key, message.value)

    async def publish(self, result: StageResult, partition: int | None = None) -> None:
        """Write the table entries and send the records of one input, or stop the process.

        A failure here is the infrastructure's (Kafka, the table), not the message's. faust
        would count the input as done and go on, losing it; exiting at once instead leaves
        the input uncommitted (its transaction aborted), so the restarted worker (see
        ``vigie.workers.supervisor``) processes it again.
        """
        try:
            await self._publish(result, partition)
        except Exception:
            log.critical("cannot publish the outcome of an input: stopping the worker",
                         exc_info=True)
            os._exit(70)

    async def _publish(self, result: StageResult, partition: int | None) -> None:
        for record in (result.related, result.record):
            if record is None:
                continue
            # The partition travels with the entry so a restarted timer knows where to ask.
            self.events[record.event_id] = {**record.to_json(), "partition": partition}
            if record.alert_deadline is not None and partition is not None:
                self.alert_deadlines[record.event_id] = (
                    record.alert_deadline, partition, record.units
                )
            else:
                self.alert_deadlines.pop(record.event_id, None)
                self._asked.pop(record.event_id, None)
        for out in result.outbound:
            sent = await self.topic(out.topic).send(key=out.key, value=out.value)
            asyncio.ensure_future(sent).add_done_callback(_stop_unless_delivered)
        log.debug("event handled", extra={
            "outcome": result.outcome.value, "partner": result.partner_id,
            "reason": result.reason_code, "units": ",".join(result.units),
        })

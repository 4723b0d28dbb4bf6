"""The faust agents of the routing pipeline: one agent per lane, one table, one loader.

    partner.<p>.alerts.v1    ─> intake_alerts    ─┐   force.<unit>.alerts.v1
    partner.<p>.incidents.v1 ─> intake_incidents ─┼─> force.<unit>.incidents.v1
                                                  │   partner.<p>.acks.v1
    ref.* (compacted) ─> ReferenceLoader          └─> vigie.deadletter.v1

Urgent alerts have their own topics and their own agent so that an incident backlog never
delays them. Both agents share the ``events`` table (event id → what became of it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types import EventT, StreamT

from vigie import metrics
from vigie.contracts import topics
from vigie.contracts.enums import Lane
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import EventRecord, Inbound, StageResult
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.app import create_app
from vigie.workers.http import build_http_app, serve
from vigie.workers.lag import WorkerObserver
from vigie.workers.reference_loader import ReferenceLoader

log = logging.getLogger("vigie.worker")

RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class Pipeline:
    """Wires processors to a faust app; built once per worker process."""

    def __init__(self, settings: Settings, store: ReferenceStore | None = None) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.store = store or ReferenceStore.with_defaults()
        self.loader = ReferenceLoader(self.store, settings.bootstrap_servers)
        self.intake = IntakeProcessor(self.store, settings)
        self._topics: dict[str, faust.TopicT] = {}
        self.events = self.app.Table(
            "events",
            default=None,
            partitions=settings.partitions,
            key_type=str,
            value_type=dict,
        )
        alerts = self.app.topic(*[topics.partner_alerts(p) for p in settings.partners], **RAW)
        incidents = self.app.topic(
            *[topics.partner_incidents(p) for p in settings.partners], **RAW
        )
        self.app.agent(alerts, name="intake-alerts")(self._intake_agent_for(Lane.ALERT))
        self.app.agent(incidents, name="intake-incidents")(
            self._intake_agent_for(Lane.INCIDENT)
        )
        self.app.task(self._run_loader)
        self.app.task(self._serve_http)
        self.observer = WorkerObserver(self.app, self.store, settings.partners)
        self.app.task(self.observer.run)  # consumer lag, reference versions (metrics.py)

    async def _run_loader(self) -> None:
        self.loader.on_update = metrics.record_reference_update
        await self.loader.run()

    async def _serve_http(self) -> None:
        self._http_runner = await serve(build_http_app(self.is_ready), self.settings.metrics_port)

    def is_ready(self) -> bool:
        ready = (
            self.loader.ready.is_set()
            and not self.app.rebalancing
            and self.app.tables.recovery.completed.is_set()
            and bool(self.app.consumer.assignment())
        )
        metrics.WORKER_READY.set(1 if ready else 0)
        return ready

    def topic(self, name: str) -> faust.TopicT:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = self.app.topic(name, **RAW)
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
            await self.publish(result)
            latency = time.time() - result.sent_at if result.sent_at else None
            metrics.record_intake(lane, result, latency)

    async def publish(self, result: StageResult) -> None:
        if result.record is not None:
            self.events[result.record.event_id] = result.record.to_json()
        for out in result.outbound:
            await self.topic(out.topic).send(key=out.key, value=out.value)
        log.debug("event handled", extra={
            "outcome": result.outcome.value, "partner": result.partner_id,
            "reason": result.reason_code, "units": ",".join(result.units),
        })

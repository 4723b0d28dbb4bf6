"""One worker process: reference loader, routing engine, HTTP endpoint, self-observation.

    ref.* (compacted) ─> ReferenceLoader (every worker reads all of it, outside the group)
    inputs ─> RoutingEngine (vigie.workers.engine) ─> outputs, in Kafka transactions
    VIGIE_METRICS_HOST:VIGIE_METRICS_PORT  /metrics /healthz /readyz
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime

from vigie import metrics
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.engine import RoutingEngine
from vigie.workers.http import build_http_app, serve
from vigie.workers.lag import WorkerObserver
from vigie.workers.reference_loader import ReferenceLoader

log = logging.getLogger("vigie.worker")

#: How often the open-alerts gauge is refreshed.
OPEN_ALERTS_INTERVAL = 1.0


class WorkerService:
    def __init__(self, settings: Settings, store: ReferenceStore | None = None) -> None:
        self.settings = settings
        self.store = store or ReferenceStore.with_defaults()
        self.loader = ReferenceLoader(self.store, settings)
        self.engine = RoutingEngine(settings, self.store)
        self.observer = WorkerObserver(
            self.engine, self.store, settings.partners,
            rules_time=lambda: settings.routing_time(datetime.now(UTC)))

    def is_ready(self) -> bool:
        ready = self.loader.ready.is_set() and self.engine.is_ready()
        metrics.WORKER_READY.set(1 if ready else 0)
        return ready

    async def _open_alerts(self) -> None:
        while True:
            metrics.set_open_alerts(self.engine.open_alerts_by_unit(), self.store.snapshot().units)
            await asyncio.sleep(OPEN_ALERTS_INTERVAL)

    async def run(self) -> None:
        """Until SIGTERM or SIGINT; a failing helper task (loader, HTTP) stops the worker."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.engine.stop)
        self.loader.on_update = metrics.record_reference_update
        runner = await serve(build_http_app(self.is_ready), self.settings.metrics_port,
                             self.settings.metrics_host)
        helpers = [asyncio.create_task(coro) for coro in
                   (self.loader.run(), self.observer.run(), self._open_alerts())]
        try:
            ready = asyncio.create_task(self.loader.ready.wait())
            await asyncio.wait([ready, *helpers], return_when=asyncio.FIRST_COMPLETED)
            if not self.loader.ready.is_set():
                for task in helpers:
                    if task.done():
                        task.result()  # raises the loader's failure
            engine = asyncio.create_task(self.engine.run())
            done, _ = await asyncio.wait([engine, *helpers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            self.engine.stop()
            for task in helpers:
                task.cancel()
            for task in helpers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await runner.cleanup()
            log.info("worker stopped")

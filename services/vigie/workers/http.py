"""The worker's HTTP endpoint: Prometheus metrics, liveness and readiness.

Served from the worker's own event loop (aiohttp), on ``VIGIE_METRICS_HOST`` (loopback by
default: nothing here authenticates) and ``VIGIE_METRICS_PORT``. ``/healthz`` answers as soon
as the process serves; ``/readyz`` answers 200 only once reference data are loaded and the
worker owns partitions whose state is restored (503 during a rebalance), so orchestrators (and
the tests) know when a worker can decide correctly.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def build_http_app(is_ready: Callable[[], bool]) -> web.Application:
    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_request: web.Request) -> web.Response:
        ready = is_ready()
        return web.Response(text="ready\n" if ready else "starting\n", status=200 if ready else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def serve(app: web.Application, port: int, host: str = "127.0.0.1") -> web.AppRunner:
    """Serve ``app`` on ``host:port``; loopback by default, since nothing here authenticates
    (``VIGIE_METRICS_HOST`` opens it, see ``Settings.metrics_host``)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


class WorkerNotReady(RuntimeError):
    """The worker process exited, or did not answer ``/readyz`` in time."""


def wait_ready(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Poll a worker subprocess's ``/readyz`` until 200 (used by ``vigie run`` and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise WorkerNotReady(f"the worker exited with {process.returncode}")
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{port}/readyz"
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        time.sleep(0.3)
    raise WorkerNotReady(f"the worker was not ready after {timeout:.0f}s")

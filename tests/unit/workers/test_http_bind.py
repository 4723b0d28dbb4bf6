"""The worker's HTTP endpoint has no authentication, so it listens on loopback unless told.

``VIGIE_METRICS_HOST`` opens it (docker-compose and Kubernetes set ``0.0.0.0``); a worker run
by hand on a shared host must not expose its metrics to the network.
"""

from __future__ import annotations

import asyncio
import signal
import socket

import pytest

from vigie.settings import Settings
from vigie.workers import service
from vigie.workers.http import build_http_app, serve


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_settings_default_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIE_METRICS_HOST", raising=False)
    assert Settings(_env_file=None).metrics_host == "127.0.0.1"
    monkeypatch.setenv("VIGIE_METRICS_HOST", "0.0.0.0")
    assert Settings(_env_file=None).metrics_host == "0.0.0.0"


async def test_serve_binds_loopback_by_default() -> None:
    port = _free_port()
    runner = await serve(build_http_app(lambda: True), port)
    try:
        assert [addr[:2] for addr in runner.addresses] == [("127.0.0.1", port)]
    finally:
        await runner.cleanup()


async def test_worker_serves_on_the_configured_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """WorkerService passes ``metrics_host`` through (the helpers are stubbed out)."""
    seen: list[tuple[int, str]] = []

    async def fake_serve(_app: object, port: int, host: str = "unset") -> object:
        seen.append((port, host))
        raise RuntimeError("stop here")

    monkeypatch.setattr(service, "serve", fake_serve)
    worker = service.WorkerService.__new__(service.WorkerService)
    worker.settings = Settings(_env_file=None, metrics_host="10.1.2.3", metrics_port=1234)
    worker.loader = type("Loader", (), {"on_update": None})()
    worker.engine = type("Engine", (), {"stop": lambda self: None})()
    loop = asyncio.get_running_loop()
    try:
        with pytest.raises(RuntimeError, match="stop here"):
            await worker.run()
    finally:  # run() installed its handlers on the tests' shared loop
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    assert seen == [(1234, "10.1.2.3")]

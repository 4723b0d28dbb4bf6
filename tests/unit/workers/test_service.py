"""The worker service passes ``metrics_host`` to its HTTP endpoint (see
tests/unit/workers/test_http.py for why it defaults to loopback)."""

from __future__ import annotations

import asyncio
import signal

import pytest

from vigie.settings import Settings
from vigie.workers import service


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

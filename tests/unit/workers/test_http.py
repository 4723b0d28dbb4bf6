"""The worker's HTTP endpoint has no authentication, so it listens on loopback unless told.

``VIGIE_METRICS_HOST`` opens it (docker-compose and Kubernetes set ``0.0.0.0``); a worker run
by hand on a shared host must not expose its metrics to the network. The default is checked in
tests/unit/test_settings.py, the worker passing the setting on in
tests/unit/workers/test_service.py.
"""

from __future__ import annotations

import socket

from vigie.workers.http import build_http_app, serve


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_binds_loopback_by_default() -> None:
    port = _free_port()
    runner = await serve(build_http_app(lambda: True), port)
    try:
        assert [addr[:2] for addr in runner.addresses] == [("127.0.0.1", port)]
    finally:
        await runner.cleanup()

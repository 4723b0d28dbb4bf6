"""The real worker as the runs measure it: ``python -m vigie worker`` in its own process,
started by Vigie's one launcher (``vigie.workers.launcher``), like ``vigie run`` and the tests.

Run without the supervisor: the measured pid is then the worker itself, not the supervisor
that would restart it (a crash shows as missing outputs, not as a restart).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.ports import listen_port
from bench.session import PARTNERS
from vigie.settings import Settings
from vigie.workers.launcher import WorkerProcess


def start_worker(settings: Settings, log_path: Path) -> WorkerProcess:
    """Started, not yet ready: the runs count outputs while it gets its partitions. Its
    metrics port is picked outside the ephemeral range (bench/ports.py)."""
    worker = WorkerProcess(settings.model_copy(update={"partners": PARTNERS}), log_path,
                           supervise=False, loglevel="warning", cwd=settings.state_dir,
                           metrics_port=listen_port())
    return worker.start(wait=False)


async def wait_ready(worker: WorkerProcess, timeout: float = 90.0) -> None:
    """``WorkerProcess.wait_ready`` off the event loop, which keeps counting meanwhile."""
    await asyncio.to_thread(worker.wait_ready, timeout)

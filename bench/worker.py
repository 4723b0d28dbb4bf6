"""The real worker as the runs measure it: ``python -m vigie worker`` in its own process.

Run with ``--no-supervise``: the measured pid is then the worker itself, not the supervisor
that would restart it (a crash shows as missing outputs, not as a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import ROOT
from bench.session import PARTNERS, free_port
from vigie.settings import Settings


@dataclass
class Worker:
    settings: Settings
    log_path: Path
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        env = dict(os.environ)
        env.update({
            "VIGIE_BOOTSTRAP_SERVERS": self.settings.bootstrap_servers,
            "VIGIE_PARTNERS": json.dumps(PARTNERS),
            "VIGIE_METRICS_PORT": str(self.metrics_port),
            "VIGIE_PARTITIONS": str(self.settings.partitions),
            "VIGIE_STATE_DIR": str(self.settings.state_dir),
            "VIGIE_APP_ID": self.settings.app_id,
            "PYTHONPATH": str(ROOT / "services"),
        })
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vigie", "worker", "--no-supervise",
                 "--loglevel", "warning"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=self.settings.state_dir,
            )
        return self

    async def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.metrics_port}/readyz"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                ok = await asyncio.to_thread(_http_ok, url)
                if ok:
                    return
            await asyncio.sleep(0.3)
        raise TimeoutError(f"worker not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self, timeout: float = 30.0) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, 9)
                self.process.wait()


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)

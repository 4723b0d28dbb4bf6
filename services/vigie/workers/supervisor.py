"""Restart a crashed worker, like systemd or Kubernetes would.

The worker fail-stops: a failed Kafka transaction (a broker outage, a fencing by another
worker) or a failed take-over ends the process at once (``vigie.workers.engine``). Nothing
is lost — uncommitted transactions are aborted and their inputs are processed again — but
someone must start it again. Running it as a child process keeps that job out of the
worker: a clean exit (SIGTERM, Ctrl-C) ends the supervisor too.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import FrameType

BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0)


def supervise(args: list[str]) -> int:
    """Run ``python -m vigie ARGS`` until it exits cleanly; return its exit code."""
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    crashes = 0
    while True:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "vigie", *args])
        code = child.wait()
        if stopping or code == 0:
            return code
        if time.monotonic() - started > 60:
            crashes = 0  # it ran a good while: start the backoff over
        delay = BACKOFF_SECONDS[min(crashes, len(BACKOFF_SECONDS) - 1)]
        crashes += 1
        print(f'{{"level": "warning", "logger": "vigie.supervisor", "msg": "worker exited '
              f'with {code}; restarting in {delay:.0f}s"}}', file=sys.stderr, flush=True)
        time.sleep(delay)

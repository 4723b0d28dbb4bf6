"""Restart a crashed worker, like systemd or Kubernetes would.

The worker fail-stops: a failed Kafka transaction (a broker outage, a fencing by another
worker) or a failed take-over ends the process at once (``vigie.workers.engine``). Nothing
is lost — uncommitted transactions are aborted and their inputs are processed again — but
someone must start it again. Running it as a child process keeps that job out of the
worker: a clean exit (SIGTERM, Ctrl-C) ends the supervisor too.

Once asked to stop, the supervisor starts no other worker: the backoff sleep wakes up on the
signal, and the signals are held back from the "stopping?" check until the new child is
known, so a signal arriving during a start is forwarded to that child instead of being lost
(which would leave a worker running after SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0)
SIGNALS = {signal.SIGTERM, signal.SIGINT}
#: Names the worker across its restarts: the supervisor sets it for every incarnation.
WORKER_ID_ENV = "VIGIE_WORKER_INSTANCE"


def _unblock_signals() -> None:
    """In the child before exec: the signal mask is inherited, and the worker must get them."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def supervise(
    args: list[str],
    command: Sequence[str] | None = None,
    backoff: Sequence[float] = BACKOFF_SECONDS,
) -> int:
    """Run ``python -m vigie ARGS`` (or ``command + ARGS``) until it exits cleanly or the
    supervisor is asked to stop; return the last worker's exit code (0 if none ran)."""
    argv = [*(command if command is not None else [sys.executable, "-m", "vigie"]), *args]
    stopping = False
    child: subprocess.Popen[bytes] | None = None
    # Self-pipe: the handler writes to it, so the backoff's select() returns at once.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        with contextlib.suppress(BlockingIOError):
            os.write(wake_write, b"\0")
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    # Every incarnation of the worker has the same transactional id: the next one's first
    # transaction call aborts what a crash left open (vigie.workers.transactions).
    env = {**os.environ}
    env.setdefault(WORKER_ID_ENV, f"{socket.gethostname()}-{os.getpid()}")
    previous = {signum: signal.signal(signum, forward) for signum in SIGNALS}
    code = 0
    crashes = 0
    try:
        while True:
            signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
            try:
                if stopping:
                    return code
                started = time.monotonic()
                child = subprocess.Popen(argv, preexec_fn=_unblock_signals, env=env)
            finally:
                # A signal held back meanwhile runs the handler here, which now sees the child.
                signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            code = child.wait()
            if stopping or code == 0:
                return code
            if time.monotonic() - started > 60:
                crashes = 0  # it ran a good while: start the backoff over
            delay = backoff[min(crashes, len(backoff) - 1)]
            crashes += 1
            print(f'{{"level": "warning", "logger": "vigie.supervisor", "msg": "worker exited '
                  f'with {code}; restarting in {delay:.0f}s"}}', file=sys.stderr, flush=True)
            select.select([wake_read], [], [], delay)
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        os.close(wake_read)
        os.close(wake_write)

"""Once asked to stop, the supervisor never starts another worker.

Before, a SIGTERM arriving during the backoff sleep let the sleep run to its end and one more
worker start; and a SIGTERM arriving while a worker was being started was never forwarded to
it (the handler still saw the previous, dead child), leaving a worker running after SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from vigie.workers import supervisor

SERVICES = Path(supervisor.__file__).resolve().parents[2]


class FakeChild:
    """A worker that exits with ``code`` as soon as it is waited for."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.returncode: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int:
        self.returncode = self.code
        return self.code

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[FakeChild]:
    started: list[FakeChild] = []
    monkeypatch.setattr(supervisor.subprocess, "Popen",
                        lambda *_a, **_k: started.append(FakeChild(3)) or started[-1])
    return started


def test_signal_during_backoff_ends_the_sleep_and_starts_nothing(
    starts: list[FakeChild],
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    t0 = time.monotonic()
    try:
        code = supervisor.supervise([], command=["worker"], backoff=[30.0])
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 10, "the backoff sleep was not interrupted"
    assert code == 3 and len(starts) == 1
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored


def test_signal_during_a_start_reaches_the_new_worker_and_nothing_more_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[FakeChild] = []

    def popen(*_args: Any, **_kwargs: Any) -> FakeChild:
        # SIGTERM lands while the worker is being started, before Popen has returned. Sent to
        # the main thread: the supervisor runs single-threaded, but pytest's process may hold
        # other threads (left by earlier tests) that a process-wide kill() could pick, whose
        # signal mask is not the one the supervisor sets.
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
        started.append(FakeChild(143))
        return started[-1]

    monkeypatch.setattr(supervisor.subprocess, "Popen", popen)
    code = supervisor.supervise([], command=["worker"], backoff=[0.0])
    assert code == 143 and len(started) == 1
    assert started[0].signals == [signal.SIGTERM]


def test_real_processes_sigterm_in_backoff(tmp_path: Path) -> None:
    """End to end: a crashing child, the supervisor in its own process, SIGTERM in backoff."""
    log = tmp_path / "starts"
    child = [sys.executable, "-c", f"open({str(log)!r}, 'a').write('x\\n'); raise SystemExit(3)"]
    script = textwrap.dedent(f"""
        import sys
        from vigie.workers.supervisor import supervise
        sys.exit(supervise([], command={child!r}, backoff=[30.0]))
    """)
    env = {**os.environ, "PYTHONPATH": str(SERVICES)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the first worker has exited
        assert "restarting in 30s" in line, line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert log.read_text() == "x\n"

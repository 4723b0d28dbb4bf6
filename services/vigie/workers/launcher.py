"""Real ``python -m vigie worker`` (and ``followup``) subprocesses: how ``vigie run``, the tests,
the chaos harness and the bench start a worker.

One launcher so that they all run the worker the same way: the child gets exactly the
parent's ``Settings`` (login included) through its ``VIGIE_*`` environment and the same code
(``PYTHONPATH``), its own metrics port and log file, and a process group of its own, so that
stopping or killing it (as a crash would) reaches the supervisor and its worker together.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import vigie
from vigie.settings import Settings
from vigie.workers.http import WorkerNotReady, wait_ready

#: The folder that holds the ``vigie`` package the parent runs.
_CODE = Path(vigie.__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class VigieProcess:
    """One ``python -m vigie <command>`` subprocess with the parent's settings, its own log
    file and its own process group (stopping or killing it reaches all its children)."""

    settings: Settings
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    loglevel: str = "info"
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def settings_for_child(self) -> Settings:
        return self.settings

    def env(self) -> dict[str, str]:
        """The parent's environment without its ``VIGIE_*`` variables, then the settings'."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
        env.update(self.settings_for_child().environment())
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_CODE), os.environ.get("PYTHONPATH")) if p)
        env.update(self.extra_env)
        return env

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vigie", *self.command()], env=self.env(), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                cwd=self.cwd,
            )

    def log_tail(self, size: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-size:]
        return ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL to the whole group, as a crash would."""
        if self.alive():
            self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the worker finishes its pass and leaves its group), SIGKILL if it
        does not exit within ``timeout``."""
        if not self.alive():
            return
        self._signal(signal.SIGTERM)
        try:
            assert self.process is not None
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class WorkerProcess(VigieProcess):
    """One worker subprocess. ``supervise``: run under ``vigie worker``'s supervisor, which
    restarts it after a crash (as in production); without it, the process is the worker
    itself (the bench measures its CPU)."""

    metrics_port: int = field(default_factory=free_port)
    supervise: bool = True

    def command(self) -> list[str]:
        return ["worker", "--loglevel", self.loglevel,
                *([] if self.supervise else ["--no-supervise"])]

    def settings_for_child(self) -> Settings:
        return self.settings.model_copy(update={"metrics_port": self.metrics_port})

    def start(self, wait: bool = True, timeout: float = 90.0) -> WorkerProcess:
        self.spawn()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until ``/readyz`` answers 200; ``WorkerNotReady`` (with the log's end) if the
        process exits or the time runs out."""
        assert self.process is not None, "start() first"
        try:
            wait_ready(self.process, self.metrics_port, timeout)
        except WorkerNotReady as exc:
            raise WorkerNotReady(f"{exc}; log {self.log_path}:\n{self.log_tail()}") from None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def metrics_text(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            return str(response.read().decode())


@dataclass
class FollowUpProcess(VigieProcess):
    """The follow-up sink (``vigie followup``): no port, its progress is in its store."""

    def command(self) -> list[str]:
        return ["followup", "--loglevel", self.loglevel]

    def start(self) -> FollowUpProcess:
        self.spawn()
        return self

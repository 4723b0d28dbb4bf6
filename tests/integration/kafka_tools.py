"""Small real-Kafka helpers for the integration tests (aiokafka, no mocks)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from vigie.settings import Settings
from vigie.simulation.publisher import publish_records as produce  # noqa: F401
from vigie.workers.http import WorkerNotReady, wait_ready
from vigie.workers.provision import partitions_of


async def consume(
    bootstrap: str,
    topic_names: Iterable[str],
    *,
    until: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 60.0,
    settle: float = 1.0,
) -> list[ConsumerRecord]:
    """Read the topics from the beginning until ``until(records)`` holds, then ``settle`` s
    more to catch anything unexpected that would follow (extra copies, stray acks)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                isolation_level="read_committed")
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        tps = await partitions_of(bootstrap, topic_names)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        done_at: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            if done_at is None and until(records):
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at >= settle:
                break
    finally:
        await consumer.stop()
    return records


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WorkerProcess:
    """A real ``vigie worker`` subprocess with its own metrics port and log file."""

    settings: Settings
    partners: list[str]
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        import json

        env = dict(os.environ)
        env.update({
            "VIGIE_BOOTSTRAP_SERVERS": self.settings.bootstrap_servers,
            "VIGIE_PARTNERS": json.dumps(self.partners),
            "VIGIE_METRICS_PORT": str(self.metrics_port),
            "VIGIE_PARTITIONS": str(self.settings.partitions),
            "VIGIE_STATE_DIR": str(self.settings.state_dir),
            "VIGIE_APP_ID": self.settings.app_id,
        })
        env.update(self.extra_env)
        return env

    def start(self, wait: bool = True, timeout: float = 90.0) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vigie", "worker", "--loglevel", "info"],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        assert self.process is not None
        try:
            wait_ready(self.process, self.metrics_port, timeout)
        except WorkerNotReady as exc:
            raise RuntimeError(f"{exc}: {self.log_path.read_text()[-3000:]}") from exc

    def metrics_text(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine from sync test code."""
    return asyncio.run(coro)

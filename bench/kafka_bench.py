"""End-to-end benchmark on a real Kafka broker that it starts itself: ``make bench``.

One broker (own free ports, temporary state folder, shared jar cache), one backlog published
once, then each measurement in turn, each consumer group pointed at the offsets it must read:

1. baseline      plain aiokafka passthrough (getmany → send), own process
2. inproc        IntakeProcessor in a plain aiokafka loop, own process: the logic without the
                 engine (no transactions, no state changelog)
3. worker_1      the real worker (``python -m vigie worker``: the transactional engine)
4. worker_2      two workers of one app id sharing the partitions
5. latency       fixed offered rate (2,000 events/s for 20 s) of fresh events, sent → routed
6. alerts        urgent alerts published slowly while 100,000 incidents wait in the backlog
7. flood         one partner's urgent alerts, first alone, then while another partner floods
                 its topics (incident backlog, alert burst, oversized and malformed messages)

Throughput = events / (timestamp of the last output - timestamp of the first output), counted
on the output topics (acks for Vigie, ``bench.passthrough.v1`` for the baseline). The worker's
outputs are transactional: every consumer that counts outputs reads with
``isolation_level="read_committed"``. CPU and peak RSS come from /proc of the measured
process. See docs/performance.md.

``python -m bench [--quick] [--events N] [--only RUNS] [--skip-profile] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "services") not in sys.path:
    sys.path.insert(0, str(ROOT / "services"))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType  # noqa: E402
from aiokafka.structs import RecordMetadata  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.inproc import PASSTHROUGH_TOPIC  # noqa: E402
from bench.report import THROUGHPUT_RUNS  # noqa: E402
from vigie.broker.local import LocalBroker  # noqa: E402
from vigie.contracts import topics  # noqa: E402
from vigie.contracts.codec import decode  # noqa: E402
from vigie.contracts.enums import URGENT_CATEGORIES, AckStatus, Category  # noqa: E402
from vigie.contracts.models import Acknowledgement, DeadLetter, SiteRecord  # noqa: E402
from vigie.contracts.reasons import ReasonCode  # noqa: E402
from vigie.reference.sites import load_sample_sites  # noqa: E402
from vigie.reference.snapshot import ReferenceStore  # noqa: E402
from vigie.settings import Settings  # noqa: E402
from vigie.simulation.feed import (  # noqa: E402
    FeedMessage,
    make_event,
    malformed,
    scripted_day,
    to_message,
)
from vigie.simulation.publisher import publish_reference  # noqa: E402
from vigie.workers.provision import ensure_topics, partitions_of, planned_topics  # noqa: E402

console = Console()
RESULTS = ROOT / "bench" / "results"
PARTNERS = ["opac-oise", "oise-habitat", "clesence", "sa-hlm-oise"]
#: Flood run: QUIET_PARTNER sends a few urgent alerts while FLOOD_PARTNER floods its topics.
QUIET_PARTNER, FLOOD_PARTNER = "opac-oise", "clesence"
FLOOD_ALERT_SHARE = 0.05       # urgent alerts in the flood, per incident
FLOOD_MALFORMED_SHARE = 0.03   # malformed messages (the realistic mix's share)
FLOOD_OVERSIZED_SHARE = 0.002  # oversized messages
#: > max_message_bytes (64 KiB), < the broker's message.max.bytes (1 MiB); the last two are
#: above the worker's max_partition_fetch_bytes (256 KiB).
OVERSIZED_BYTES = (80 * 1024, 200 * 1024, 512 * 1024, 900 * 1024)
#: The last two are also above the partner topics' own max.message.bytes (256 KiB,
#: Settings.partner_topic_max_message_bytes), which would refuse them at produce time: the
#: flood partner's input topics take up to the broker's limit instead, so the run still
#: measures the worker's answer to them (as on a cluster whose limit was raised).
FLOOD_TOPIC_MAX_MESSAGE_BYTES = 1_048_588
CLK_TCK = os.sysconf("SC_CLK_TCK")

GOALS = {
    "ratio": 0.50,            # pipeline >= 50 % of the baseline
    "pipeline_eps": 10_000,   # per worker
    "p99_ms": 100.0,          # at 2,000 events/s
    "alert_p99_ms": 250.0,    # behind a 100,000-incident backlog
    "scale_2_workers": 1.8,
}

Offsets = dict[TopicPartition, int]


# -- small tools ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_kb = int(first.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


class Proc:
    """CPU seconds and peak RSS of one process, from /proc (no psutil needed)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu(self) -> float:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(") ", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def peak_rss_mb(self) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0


def jsonable(value: Any) -> Any:
    """NaN and infinities as null: strict JSON for whoever reads latest.json."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def finite(values: list[float]) -> list[float]:
    return [v for v in values if v != float("inf")]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; events never routed count as +inf, and the result is then
    the largest finite latency (a lower bound, flagged ``p99_lower_bound``)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    if ordered[index] == float("inf"):
        return max(finite(ordered), default=float("nan"))
    return ordered[index]


async def end_offsets(bootstrap: str, names: Iterable[str]) -> Offsets:
    tps = await partitions_of(bootstrap, names)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def commit_group(bootstrap: str, group: str, offsets: Offsets) -> None:
    """Give a consumer group its starting offsets before its first member joins."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()


@dataclass
class Count:
    """What a counting consumer saw on output topics."""

    count: int = 0
    first_ts: float | None = None  # record timestamps (s)
    last_ts: float | None = None
    ts: list[float] = field(default_factory=list)  # every record timestamp (s), for windows
    done: bool = False

    def eps(self, skip: float = 0.0) -> float:
        """Events per second between the first (or the ``skip`` fraction) and last output."""
        if self.count < 2 or self.last_ts is None:
            return 0.0
        ordered = sorted(self.ts)
        start_index = int(skip * (len(ordered) - 1))
        span = ordered[-1] - ordered[start_index]
        return (len(ordered) - 1 - start_index) / span if span > 0 else 0.0


async def count_outputs(
    bootstrap: str,
    starts: Offsets,
    target: int,
    *,
    timeout: float,
    on_progress: Callable[[Count], None] | None = None,
    on_record: Callable[[Any, float], None] | None = None,
    stop: asyncio.Event | None = None,
    window: float | None = None,
) -> Count:
    """Read ``starts`` onwards until ``target`` records (or ``stop``, or the timeout, or
    ``window`` seconds after the first record: a time-boxed measurement).

    ``read_committed``: the worker's outputs are transactional; what an aborted transaction
    left in the log is not an output (and a record shows only once its transaction has
    committed, which is when a force's consumer would see it)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=50,
                                isolation_level="read_committed")
    await consumer.start()
    result = Count()
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout
        first_seen: float | None = None
        while time.monotonic() < deadline and result.count < target:
            if stop is not None and stop.is_set():
                break
            if first_seen is not None and window and time.monotonic() - first_seen > window:
                break
            batches = await consumer.getmany(timeout_ms=100, max_records=20_000)
            now = time.time()
            for records in batches.values():
                for r in records:
                    ts = r.timestamp / 1000
                    result.ts.append(ts)
                    if on_record is not None:
                        on_record(r, now)
                result.count += len(records)
            if result.ts and first_seen is None:
                first_seen = time.monotonic()
            if result.ts:
                result.first_ts = min(result.first_ts or result.ts[0], *result.ts[-50:])
                result.last_ts = max(result.last_ts or 0.0, *result.ts[-50:])
            if on_progress is not None and batches:
                on_progress(result)
        result.done = result.count >= target
    finally:
        await consumer.stop()
    if result.ts:
        result.first_ts, result.last_ts = min(result.ts), max(result.ts)
    return result


# -- processes ------------------------------------------------------------------------------
@dataclass
class Worker:
    """A real ``python -m vigie worker`` subprocess (like tests' WorkerProcess).

    Run with ``--no-supervise``: the measured pid is then the worker itself, not the
    supervisor that would restart it (a crash shows as missing outputs, not as a restart)."""

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


@dataclass
class Bench:
    settings: Settings
    workdir: Path
    args: argparse.Namespace
    unit_ids: list[str]
    segment_a: Offsets = field(default_factory=dict)  # throughput backlog (all partner topics)
    segment_b: Offsets = field(default_factory=dict)  # alert-scenario backlog (incidents)
    events: int = 0
    backlog_b: int = 0
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap_servers

    def input_topics(self) -> list[str]:
        return [t for p in PARTNERS for t in (topics.partner_incidents(p),
                                              topics.partner_alerts(p))]

    def ack_topics(self) -> list[str]:
        return [topics.partner_acks(p) for p in PARTNERS]

    def unit_topics(self, *, alerts_only: bool = False) -> list[str]:
        names = [topics.unit_alerts(u) for u in self.unit_ids]
        if not alerts_only:
            names += [topics.unit_incidents(u) for u in self.unit_ids]
        return names

    def worker_settings(self, app_id: str) -> Settings:
        state = self.workdir / app_id
        state.mkdir(parents=True, exist_ok=True)
        return self.settings.model_copy(update={"app_id": app_id, "state_dir": state})

    # -- setup ------------------------------------------------------------------------------
    async def raise_flood_limit(self, admin: AIOKafkaAdminClient) -> None:
        """FLOOD_TOPIC_MAX_MESSAGE_BYTES on the flood partner's input topics. AlterConfigs
        replaces a topic's whole configuration, so the planned one is sent with it."""
        plan = {s.name: s.config for s in planned_topics(self.settings, self.unit_ids)}
        names = [topics.partner_incidents(FLOOD_PARTNER), topics.partner_alerts(FLOOD_PARTNER)]
        responses = await admin.alter_configs([
            ConfigResource(ConfigResourceType.TOPIC, name, configs={
                **plan[name], "max.message.bytes": str(FLOOD_TOPIC_MAX_MESSAGE_BYTES)})
            for name in names
        ])
        failed = [r for response in responses for r in response.resources if r[0] != 0]
        if failed:
            raise RuntimeError(f"could not raise max.message.bytes of {names}: {failed}")
        # Applied asynchronously (metadata log): a produce right after may still be refused.
        wanted = str(FLOOD_TOPIC_MAX_MESSAGE_BYTES)
        for _ in range(100):
            described = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
            values = [entry[1] for response in described for resource in response.resources
                      for entry in resource[4] if entry[0] == "max.message.bytes"]
            if values == [wanted] * len(names):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"max.message.bytes of {names} not raised after 10 s")

    async def setup(self) -> None:
        await ensure_topics(self.settings, self.unit_ids)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            if PASSTHROUGH_TOPIC not in await admin.list_topics():
                await admin.create_topics([NewTopic(PASSTHROUGH_TOPIC, 4, 1)])
            await self.raise_flood_limit(admin)
        finally:
            await admin.close()
        await publish_reference(self.bootstrap, sites=load_sample_sites())

        t0 = time.perf_counter()
        feed = list(scripted_day(load_sample_sites(), self.args.events, seed=2018))
        incidents = [m for m in feed if not m.urgent]
        while len(incidents) < self.args.alert_backlog:
            incidents += incidents
        backlog_b = incidents[: self.args.alert_backlog]
        console.print(f"generated {len(feed):,} feed messages in "
                      f"{time.perf_counter() - t0:.1f}s (avg {avg_size(feed):.0f} bytes)")
        self.segment_a = await end_offsets(self.bootstrap, self.input_topics())
        t0 = time.perf_counter()
        await publish_bulk(self.bootstrap, feed)
        self.segment_b = await end_offsets(self.bootstrap, self.input_topics())
        await publish_bulk(self.bootstrap, backlog_b)
        console.print(f"published {len(feed) + len(backlog_b):,} records in "
                      f"{time.perf_counter() - t0:.1f}s")
        self.events, self.backlog_b = len(feed), len(backlog_b)
        self.results["events"] = self.events
        self.results["avg_message_bytes"] = round(avg_size(feed))
        self.results["urgent_share_in_backlog"] = round(
            sum(m.urgent for m in feed) / len(feed), 3)

    # -- measurements ----------------------------------------------------------------------
    async def measure_subprocess(self, mode: str, outputs: list[str],
                                 profile: Path | None = None,
                                 count: int | None = None) -> dict[str, Any]:
        """Run bench.inproc in its own process over segment A; count its outputs."""
        count = count or self.events
        starts_file = self.workdir / f"starts-{mode}.json"
        starts_file.write_text(json.dumps(
            [[tp.topic, tp.partition, off] for tp, off in self.segment_a.items()]))
        out_starts = await end_offsets(self.bootstrap, outputs)
        cmd = [sys.executable, "-m", "bench.inproc", mode, "--bootstrap", self.bootstrap,
               "--starts", str(starts_file), "--count", str(count),
               "--partners", json.dumps(PARTNERS)]
        if profile is not None:
            cmd += ["--profile", str(profile)]
        env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'services'}")
        process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        proc = Proc(process.pid)
        try:
            sample = Sampler([proc])
            counted = await count_outputs(self.bootstrap, out_starts, count,
                                          timeout=self.args.timeout, on_progress=sample.progress,
                                          window=None if profile else self.args.window)
            peak = proc.peak_rss_mb()
            if counted.done or profile:
                _out, err = await asyncio.to_thread(process.communicate, timeout=120)
                if process.returncode != 0:
                    raise RuntimeError(f"bench.inproc {mode} failed:\n{err.decode()[-3000:]}")
        finally:
            if process.poll() is None:  # time-boxed: stop it
                process.kill()
                process.wait()
        return summarize(counted, count, sample, peak_rss_mb=peak)

    async def measure_workers(self, n: int) -> dict[str, Any]:
        """n workers of one fresh app id over segment A; count the acks."""
        app_id = f"vigie-bench-{n}w-{uuid.uuid4().hex[:6]}"
        await commit_group(self.bootstrap, app_id, self.segment_a)
        ack_starts = await end_offsets(self.bootstrap, self.ack_topics())
        settings = self.worker_settings(app_id)
        workers = [Worker(settings, self.workdir / f"{app_id}-{i}.log").start()
                   for i in range(n)]
        ready: list[bool] = [False] * n

        async def watch(i: int) -> None:
            with contextlib.suppress(TimeoutError):
                await workers[i].wait_ready(timeout=self.args.timeout)
                ready[i] = True

        watchers = [asyncio.create_task(watch(i)) for i in range(n)]
        try:
            # Counting starts at once: a worker processes from its assignment on, and one
            # that never gets ready (e.g. table recovery stalled) shows as missing outputs.
            sample = Sampler([Proc(w.process.pid) for w in workers if w.process])
            count = await count_outputs(self.bootstrap, ack_starts, self.events,
                                        timeout=self.args.timeout, window=self.args.window,
                                        on_progress=sample.progress)
            peak = max(Proc(w.process.pid).peak_rss_mb() for w in workers if w.process)
        finally:
            for task in watchers:
                task.cancel()
            for w in workers:
                w.stop()
        summary = summarize(count, self.events, sample, peak_rss_mb=peak)
        summary["workers_ready"] = sum(ready)
        return summary

    async def measure_latency(self) -> dict[str, Any]:
        """Fresh events at a fixed rate into a running worker; sent → routed copy."""
        rate, seconds = self.args.rate, self.args.latency_seconds
        app_id = f"vigie-bench-lat-{uuid.uuid4().hex[:6]}"
        await commit_group(self.bootstrap, app_id,
                           await end_offsets(self.bootstrap, self.input_topics()))
        out_starts = await end_offsets(self.bootstrap, self.unit_topics())
        worker = Worker(self.worker_settings(app_id), self.workdir / f"{app_id}.log").start()
        try:
            await worker.wait_ready()
            await asyncio.sleep(1.0)
            assert worker.process is not None
            proc = Proc(worker.process.pid)
            sent: dict[bytes, float] = {}
            routed = Routed(sent)
            stop = asyncio.Event()
            cpu0 = proc.cpu()
            counter = asyncio.create_task(count_outputs(
                self.bootstrap, out_starts, 10**9, timeout=seconds + 30,
                on_record=routed.on_record, stop=stop))
            offered = await publish_at_rate(self.bootstrap, rate, seconds, sent,
                                            urgent=False)
            deadline = time.monotonic() + 15
            while len(routed.seen) < len(sent) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            stop.set()
            await counter
            cpu = proc.cpu() - cpu0
        finally:
            worker.stop()
        created = tail(routed.created_ms, len(sent))
        visible = tail(routed.visible_ms, len(sent))
        return {
            "offered_eps": round(offered, 1),
            "sent": len(sent),
            "routed": len(routed.seen),
            **visible,  # committed: what a read_committed consumer sees (see alert_run)
            "p50_created_ms": created["p50_ms"],
            "p99_created_ms": created["p99_ms"],
            "worker_cpu_share": round(cpu / seconds, 2),
        }

    async def alert_run(self, app_id: str, starts: Offsets, *, rate: float, seconds: float,
                        seed: int, partner: str | None = None,
                        on_output: Callable[[Any], None] | None = None,
                        drained: Callable[[], bool] | None = None) -> dict[str, Any]:
        """One fresh worker (group ``app_id``, starting at ``starts``) while urgent alerts
        are published at ``rate``/s for ``seconds`` from ``partner``'s sites (all partners'
        if None): latency from publish to the routed copy on the unit alert topics.

        Two latencies per alert: ``created`` = the routed copy's record timestamp (the
        worker's send, inside its transaction) and ``visible`` = when our read_committed
        consumer got it (the transaction committed; includes up to ~50 ms of our polling).
        The headline p50/p99 are the visible ones: what a force's consumer sees.

        The alerts start 1 s after the worker is ready: its first passes (first fetches,
        cold caches) are not what is measured. Every ack and dead letter (read_committed)
        goes to ``on_output``, from the worker's start. Once the alerts are
        routed (or 15 s after the last one), the worker runs on until ``drained()`` is true
        (or ``--timeout``), then stops."""
        await commit_group(self.bootstrap, app_id, starts)
        watched = await end_offsets(self.bootstrap, [*self.ack_topics(), topics.DEADLETTER])
        out_starts = await end_offsets(self.bootstrap, self.unit_topics(alerts_only=True))
        acks: Counter[str] = Counter()

        def on_watched(record: Any, _now: float) -> None:
            owner = topics.owner_of(record.topic)
            if owner is not None:
                acks[owner] += 1
            if on_output is not None:
                on_output(record)

        limit = seconds + 15 + self.args.timeout + 60
        worker = Worker(self.worker_settings(app_id), self.workdir / f"{app_id}.log").start()
        try:
            await worker.wait_ready()
            ready_at = time.time()
            await asyncio.sleep(1.0)  # past the first passes (as the latency run)
            sent: dict[bytes, float] = {}
            routed = Routed(sent)
            stop = asyncio.Event()
            outputs = asyncio.create_task(count_outputs(
                self.bootstrap, watched, 10**9, timeout=limit, on_record=on_watched, stop=stop))
            copies = asyncio.create_task(count_outputs(
                self.bootstrap, out_starts, 10**9, timeout=limit, on_record=routed.on_record,
                stop=stop))
            await publish_at_rate(self.bootstrap, rate, seconds, sent, urgent=True,
                                  partner=partner, seed=seed)
            last_sent = max(sent.values(), default=time.time())
            deadline = time.monotonic() + 15
            while len(routed.seen) < len(sent) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            waited_ms = (time.time() - last_sent) * 1000
            acks_at_window_end = dict(acks)
            deadline = time.monotonic() + self.args.timeout
            while drained is not None and not drained() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            drain_s = time.time() - ready_at
            stop.set()
            await outputs
            await copies
        finally:
            worker.stop()
        visible = tail(routed.visible_ms, len(sent), waited_ms=waited_ms)
        created = tail(routed.created_ms, len(sent), waited_ms=waited_ms)
        return {
            "alerts_sent": len(sent),
            "alerts_routed": len(routed.seen),
            **visible,
            "p50_created_ms": created["p50_ms"],
            "p99_created_ms": created["p99_ms"],
            # visible latency of each alert, in the order sent (ms; null: never routed)
            "series_ms": [round(routed.visible_of[k]) if k in routed.visible_of else None
                          for k in sent],
            "acks_at_window_end": acks_at_window_end,
            "drained": drained() if drained is not None else None,
            "seconds_from_ready": round(drain_s, 1),
        }

    async def measure_alerts(self) -> dict[str, Any]:
        """Urgent alerts at a slow rate while the incident backlog (segment B) drains."""
        app_id = f"vigie-bench-alerts-{uuid.uuid4().hex[:6]}"
        now_end = await end_offsets(self.bootstrap, self.input_topics())
        starts = {tp: (self.segment_b[tp] if "incidents" in tp.topic else off)
                  for tp, off in now_end.items()}
        run = await self.alert_run(app_id, starts, rate=self.args.alert_rate,
                                   seconds=self.args.alert_seconds, seed=4242)
        # Acks also cover the alerts themselves; what is left is the incident backlog.
        incidents_done = max(0, sum(run.pop("acks_at_window_end").values())
                             - run["alerts_sent"])
        del run["drained"], run["seconds_from_ready"], run["series_ms"]
        return {"backlog": self.backlog_b, **run,
                "backlog_left_at_end": max(0, self.backlog_b - incidents_done)}

    async def flood_phase(self, *, flood: bool) -> dict[str, Any]:
        """One fresh worker; QUIET_PARTNER's urgent alerts at --flood-alert-rate while its
        own incident backlog drains, and (``flood``) while FLOOD_PARTNER's flood drains."""
        args = self.args
        tag = "flood" if flood else "quiet"
        app_id = f"vigie-bench-{tag}-{uuid.uuid4().hex[:6]}"
        starts = await end_offsets(self.bootstrap, self.input_topics())  # what follows is ours
        seed = 7100 if flood else 7000
        own = partner_feed(QUIET_PARTNER, args.flood_own_backlog, seed=seed)
        messages = list(own)
        flood_msgs: list[FeedMessage] = []
        if flood:
            flood_msgs = flood_feed(FLOOD_PARTNER, args.flood_backlog, seed=seed + 1)
            messages += flood_msgs
        t0 = time.perf_counter()
        placed = await publish_bulk(self.bootstrap, messages)
        published_s = time.perf_counter() - t0
        expected = {(m.topic, meta.partition, meta.offset): m.expect.split(":", 1)[1]
                    for m, meta in zip(messages, placed, strict=True)
                    if m.expect.startswith("reject:")}
        own_keys = {m.key for m in own}
        own_acks: list[float] = []
        flood_acks: list[bytes] = []
        dead: list[bytes] = []
        own_topic, flood_topic = topics.partner_acks(QUIET_PARTNER), topics.partner_acks(
            FLOOD_PARTNER)

        def on_output(record: Any) -> None:
            if record.topic == own_topic and record.key in own_keys:
                own_acks.append(record.timestamp / 1000)
            elif record.topic == flood_topic:
                flood_acks.append(record.value)
            elif record.topic == topics.DEADLETTER:
                dead.append(record.value)

        def drained() -> bool:
            return len(own_acks) >= len(own) and len(flood_acks) >= len(flood_msgs)

        run = await self.alert_run(app_id, starts, rate=args.flood_alert_rate,
                                   seconds=args.alert_seconds, seed=seed + 2,
                                   partner=QUIET_PARTNER, on_output=on_output,
                                   drained=drained)
        at_end = run.pop("acks_at_window_end")
        own_eps = Count(count=len(own_acks), first_ts=min(own_acks, default=None),
                        last_ts=max(own_acks, default=None), ts=own_acks).eps()
        result: dict[str, Any] = {
            **run,
            "own_incidents": len(own),
            "own_incidents_acked": len(own_acks),
            "own_incidents_eps": round(own_eps),
            "own_incidents_seconds": round(max(own_acks) - min(own_acks), 2)
            if own_acks else None,
        }
        if flood:
            result.update({
                "flood_messages": len(flood_msgs),
                "flood_published_s": round(published_s, 1),
                "flood_left_at_window_end": max(0, len(flood_msgs) - at_end.get(
                    FLOOD_PARTNER, 0)),
                "flood_acked": len(flood_acks),
                "bad": {**bad_outcomes(expected, flood_acks, dead),
                        "oversized_kib": [b // 1024 for b in OVERSIZED_BYTES]},
            })
        return result

    async def measure_flood(self) -> dict[str, Any]:
        """A partner flooding its topics must not delay another partner's urgent alerts;
        its oversized and malformed messages must each be rejected (ack or dead letter)."""
        quiet = await self.flood_phase(flood=False)
        console.print(f"  flood, quiet phase: {quiet}")
        flooded = await self.flood_phase(flood=True)

        def ratio(key: str) -> float | None:
            a, b = quiet.get(key), flooded.get(key)
            return round(b / a, 2) if a and b else None

        return {
            "partner": QUIET_PARTNER,
            "flooding_partner": FLOOD_PARTNER,
            "alert_rate": self.args.flood_alert_rate,
            "quiet": quiet,
            "flood": flooded,
            "p50_ratio": ratio("p50_ms"),
            "p99_ratio": ratio("p99_ms"),
            "own_incidents_eps_ratio": ratio("own_incidents_eps"),
        }


class Routed:
    """Latency of the first routed copy of each event we sent (``sent``: key → send time)."""

    def __init__(self, sent: dict[bytes, float]) -> None:
        self.sent = sent
        self.seen: set[bytes] = set()
        self.created_ms: list[float] = []  # record timestamp (the worker's send) - sent
        self.visible_ms: list[float] = []  # read by our read_committed consumer - sent
        self.visible_of: dict[bytes, float] = {}

    def on_record(self, record: Any, now: float) -> None:
        t0 = self.sent.get(record.key)
        if t0 is None or record.key in self.seen:
            return
        self.seen.add(record.key)
        self.created_ms.append((record.timestamp / 1000 - t0) * 1000)
        self.visible_ms.append((now - t0) * 1000)
        self.visible_of[record.key] = self.visible_ms[-1]


def tail(latencies: list[float], sent: int, *, waited_ms: float | None = None) -> dict[str, Any]:
    """p50/p95/p99/max (ms) of ``sent`` events of which ``latencies`` arrived. More than 1 %
    missing: they count as +inf and the p99 shown is a lower bound (flagged). Not one
    arrived: the p99 is ``waited_ms`` (each waited at least that long), when given."""
    missing = sent - len(latencies)
    lower_bound = missing > 0.01 * sent
    values = latencies + [float("inf")] * missing if lower_bound else list(latencies)
    p99 = percentile(values, 99)
    if p99 != p99 and waited_ms is not None:  # NaN: nothing arrived
        p99 = waited_ms
    return {
        "p99_lower_bound": lower_bound,
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(finite(latencies), default=float("nan")), 1),
    }


def bad_outcomes(expected: dict[tuple[str, int, int], str], acks: list[bytes],
                 dead: list[bytes]) -> dict[str, Any]:
    """Did each oversized or malformed message (by its Kafka coordinates → expected reason)
    get a REJECTED ack or a dead letter? Decoded after the run (no CPU taken meanwhile)."""
    rejected: dict[tuple[str, int, int], str | None] = {}
    for value in acks:
        ack = decode(value, Acknowledgement)
        if ack.status is AckStatus.REJECTED and ack.source is not None:
            where = (ack.source.topic, ack.source.partition, ack.source.offset)
            if where in expected:
                rejected[where] = ack.reason_code
    lettered = set()
    for value in dead:
        letter = decode(value, DeadLetter, max_bytes=len(value))  # holds the oversized
        where = (letter.source.topic, letter.source.partition, letter.source.offset)
        if where in expected:
            lettered.add(where)
    kinds = Counter(expected.values())
    return {
        "sent": len(expected),
        "oversized": kinds.get(ReasonCode.OVERSIZED.value, 0),
        "malformed": len(expected) - kinds.get(ReasonCode.OVERSIZED.value, 0),
        "by_expected_reason": dict(sorted(kinds.items())),
        "rejected_ack": len(rejected),
        "dead_lettered": len(lettered),
        "handled": len(set(rejected) | lettered),
        "reason_as_expected": sum(expected[w] == code for w, code in rejected.items()),
    }


class Sampler:
    """CPU of the measured processes at the first and the last output seen."""

    def __init__(self, procs: list[Proc]) -> None:
        self.procs = procs
        self.first: tuple[int, float] | None = None
        self.last: tuple[int, float] | None = None

    def cpu(self) -> float:
        return sum(p.cpu() for p in self.procs)

    def progress(self, count: Count) -> None:
        point = (count.count, self.cpu())
        if self.first is None:
            self.first = point
        self.last = point

    def cpu_us_per_event(self) -> float:
        if self.first is None or self.last is None or self.last[0] <= self.first[0]:
            return float("nan")
        return (self.last[1] - self.first[1]) / (self.last[0] - self.first[0]) * 1e6


def summarize(count: Count, target: int, sample: Sampler, peak_rss_mb: float) -> dict[str, Any]:
    return {
        "outputs_counted": count.count,
        "complete": count.done,
        "eps": round(count.eps()),
        "eps_steady": round(count.eps(skip=0.1)),
        "seconds": round((count.last_ts or 0) - (count.first_ts or 0), 2),
        "cpu_us_per_event": round(sample.cpu_us_per_event(), 1),
        # What one fully busy core would do at that CPU cost: robust to a shared machine.
        "cpu_capacity_eps": round(1e6 / sample.cpu_us_per_event())
        if sample.cpu_us_per_event() > 0 else 0,
        "peak_rss_mb": round(peak_rss_mb, 1),
    }


def avg_size(feed: list[FeedMessage]) -> float:
    return sum(len(m.value) for m in feed) / max(1, len(feed))


async def publish_bulk(bootstrap: str, feed: list[FeedMessage]) -> list[RecordMetadata]:
    """Publish ``feed`` in order; returns where each message landed (same order)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                max_batch_size=256 * 1024)
    await producer.start()
    placed: list[RecordMetadata] = []
    try:
        pending = []
        for m in feed:
            pending.append(await producer.send(m.topic, m.value, key=m.key))
            if len(pending) >= 20_000:
                placed += await asyncio.gather(*pending)
                pending.clear()
        placed += await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return placed


async def publish_at_rate(bootstrap: str, rate: float, seconds: float,
                          sent: dict[bytes, float], *, urgent: bool,
                          partner: str | None = None, seed: int | None = None) -> float:
    """Fresh events (sent_at = now) at ``rate``/s from ``partner``'s sites (every partner's
    if None); ``sent`` gets key → publish time."""
    sites = partner_sites(partner)
    rng = random.Random(seed if seed is not None else 4242 if urgent else 2424)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    total = int(rate * seconds)
    started = time.monotonic()
    try:
        for i in range(total):
            category = rng.choice([Category.STAFF_AGGRESSION, Category.WEAPON]) if urgent else None
            now = datetime.now(UTC)
            message = to_message(make_event(rng.choice(sites), rng, now, category=category))
            sent[message.key or b""] = time.time()
            await producer.send(message.topic, message.value, key=message.key)
            delay = started + (i + 1) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await producer.flush()
    finally:
        await producer.stop()
    return total / (time.monotonic() - started)


def partner_sites(partner: str | None = None) -> list[SiteRecord]:
    sites = load_sample_sites()
    return [s for s in sites if s.partner_id == partner] if partner else list(sites)


#: Non-urgent categories: they go to the partner's incidents topic.
CALM = [c for c in Category if c not in URGENT_CATEGORIES]


def partner_feed(partner: str, count: int, *, seed: int) -> list[FeedMessage]:
    """``count`` fresh, well-formed incidents (NEW, sent_at = now) from ``partner``'s sites."""
    sites, rng, now = partner_sites(partner), random.Random(seed), datetime.now(UTC)
    return [to_message(make_event(rng.choice(sites), rng, now, category=rng.choice(CALM)))
            for _ in range(count)]


def oversized(site: SiteRecord, rng: random.Random, now: datetime, size: int, *,
              urgent: bool) -> FeedMessage:
    """A well-formed, correctly keyed event padded to ``size`` bytes (an attachment pasted
    in): above max_message_bytes, below the broker's message.max.bytes."""
    event = make_event(site, rng, now, category=Category.WEAPON if urgent else Category.DAMAGE)
    message = to_message(event, expect=f"reject:{ReasonCode.OVERSIZED.value}")
    return replace(message, value=message.value + rng.randbytes(size - len(message.value)))


def flood_feed(partner: str, incidents: int, *, seed: int) -> list[FeedMessage]:
    """A partner flooding its topics, shuffled together: ``incidents`` incidents, a burst of
    urgent alerts (FLOOD_ALERT_SHARE of it), malformed messages (FLOOD_MALFORMED_SHARE, the
    feed's four kinds) and oversized ones (FLOOD_OVERSIZED_SHARE, sizes OVERSIZED_BYTES in
    turn, on both topics)."""
    sites, rng, now = partner_sites(partner), random.Random(seed), datetime.now(UTC)
    out = partner_feed(partner, incidents, seed=rng.randrange(2**31))  # other ids than rng's
    out += [to_message(make_event(rng.choice(sites), rng, now,
                                  category=rng.choice([Category.STAFF_AGGRESSION,
                                                       Category.WEAPON])))
            for _ in range(round(incidents * FLOOD_ALERT_SHARE))]
    out += [malformed(rng.choice(sites), rng, now)
            for _ in range(round(incidents * FLOOD_MALFORMED_SHARE))]
    out += [oversized(rng.choice(sites), rng, now, OVERSIZED_BYTES[i % len(OVERSIZED_BYTES)],
                      urgent=i % 2 == 1)
            for i in range(max(len(OVERSIZED_BYTES), round(incidents * FLOOD_OVERSIZED_SHARE)))]
    rng.shuffle(out)
    return out


# -- report ---------------------------------------------------------------------------------
def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    fl = r["flood"]["flood"]
    bad = fl["bad"]
    rows = [
        ("pipeline / baseline", f"{r['ratio']:.2f}", f">= {GOALS['ratio']:.2f}",
         r["ratio"] >= GOALS["ratio"]),
        ("events/s per worker", f"{r['pipeline_eps']:,}", f">= {GOALS['pipeline_eps']:,}",
         r["pipeline_eps"] >= GOALS["pipeline_eps"]),
        (f"p99 at {r['latency']['offered_eps']:.0f}/s", f"{r['p99_ms']:.0f} ms",
         f"<= {GOALS['p99_ms']:.0f} ms", r["p99_ms"] <= GOALS["p99_ms"]),
        (f"alert p99 behind {r['alerts']['backlog']:,}", f"{r['alert_p99_ms']:.0f} ms",
         f"<= {GOALS['alert_p99_ms']:.0f} ms", r["alert_p99_ms"] <= GOALS["alert_p99_ms"]),
        ("alert p99 while another partner floods", f"{fl['p99_ms']:.0f} ms",
         f"<= {GOALS['alert_p99_ms']:.0f} ms", fl["p99_ms"] <= GOALS["alert_p99_ms"]),
        ("flood: oversized/malformed rejected", f"{bad['handled']:,} / {bad['sent']:,}",
         "all", bad["handled"] == bad["sent"]),
        ("2 workers / 1", f"{r['scale_2_workers']:.2f}x", f">= {GOALS['scale_2_workers']}x",
         r["scale_2_workers"] >= GOALS["scale_2_workers"]),
    ]
    return rows


def print_tables(r: dict[str, Any]) -> None:
    """The console report; with ``--only``, the tables of the runs made."""
    m = r["machine"]
    if any(key in r for _, key in THROUGHPUT_RUNS):
        table = Table(title=f"Vigie on Kafka 4 — {r.get('events', 0):,} events, "
                            f"{m['nproc']} CPU ({m['cpu_model']}), {m['ram_gb']} GB")
        for col in ("run", "events/s", "steady/s", "CPU µs/event", "1-core capacity/s",
                    "peak RSS MB", "seconds", "/ baseline"):
            table.add_column(col, justify="right" if col != "run" else "left")
        base = r.get("baseline", {}).get("eps")
        for name, key in THROUGHPUT_RUNS:
            if key not in r:
                continue
            s = r[key]
            table.add_row(name, f"{s['eps']:,}", f"{s['eps_steady']:,}",
                          f"{s['cpu_us_per_event']:.0f}", f"{s.get('cpu_capacity_eps', 0):,}",
                          f"{s['peak_rss_mb']:.0f}", f"{s['seconds']:.1f}",
                          f"{s['eps'] / base:.3f}" if base else "")
        console.print(table)
    if "latency" in r or "alerts" in r:
        t2 = Table(title="Latency: sent → routed copy committed (read_committed consumer)")
        for col in ("run", "p50 ms", "p95 ms", "p99 ms", "max ms", "note"):
            t2.add_column(col, justify="right" if col != "run" else "left")
        if "latency" in r:
            lat = r["latency"]
            t2.add_row(f"{lat['offered_eps']:.0f} events/s offered", f"{lat['p50_ms']}",
                       f"{lat['p95_ms']}", f"{lat['p99_ms']}", f"{lat['max_ms']}",
                       f"{lat['routed']}/{lat['sent']} routed; p99 by record timestamp "
                       f"{lat['p99_created_ms']}")
        if "alerts" in r:
            al = r["alerts"]
            t2.add_row(f"alerts behind {al['backlog']:,} incidents", f"{al['p50_ms']}",
                       f"{al['p95_ms']}", f"{al['p99_ms']}", f"{al['max_ms']}",
                       f"{al['alerts_routed']}/{al['alerts_sent']} routed; "
                       f"backlog left {al['backlog_left_at_end']:,}")
        console.print(t2)
    if "flood" in r:
        print_flood(r["flood"])
    if "goals" in r:
        t3 = Table(title="Goals")
        for col in ("goal", "measured", "target", "met"):
            t3.add_column(col)
        for name, measured, target, ok in verdicts(r):
            t3.add_row(name, measured, target, "yes" if ok else "[red]NO[/red]")
        console.print(t3)


def print_flood(f: dict[str, Any]) -> None:
    t = Table(title=f"Flood: {f['partner']}'s urgent alerts ({f['alert_rate']:g}/s), "
                    f"alone, then while {f['flooding_partner']} floods its topics")
    for col in ("phase", "p50 ms", "p99 ms", "max ms", "alerts routed",
                f"{f['partner']} incidents/s", "flood left at window end"):
        t.add_column(col, justify="right" if col != "phase" else "left")
    for name in ("quiet", "flood"):
        ph = f[name]
        flood_left = (f"{ph['flood_left_at_window_end']:,} / {ph['flood_messages']:,}"
                      if "flood_messages" in ph else "")
        t.add_row(name, f"{ph['p50_ms']}", f"{ph['p99_ms']}"
                  f"{' (lower bound)' if ph['p99_lower_bound'] else ''}", f"{ph['max_ms']}",
                  f"{ph['alerts_routed']}/{ph['alerts_sent']}",
                  f"{ph['own_incidents_eps']:,} ({ph['own_incidents_acked']:,} acked)",
                  flood_left)
    t.add_row("flood / quiet", f"{f['p50_ratio']}x", f"{f['p99_ratio']}x", "", "",
              f"{f['own_incidents_eps_ratio']}x", "")
    console.print(t)
    bad = f["flood"]["bad"]
    console.print(f"flood's bad messages: {bad['sent']:,} ({bad['oversized']} oversized, "
                  f"{bad['malformed']} malformed): {bad['handled']:,} rejected "
                  f"({bad['rejected_ack']:,} REJECTED acks, {bad['reason_as_expected']:,} "
                  f"with the expected reason; {bad['dead_lettered']:,} dead letters)")


# -- main -----------------------------------------------------------------------------------
async def run_all(bench: Bench) -> None:
    r = bench.results
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("baseline", lambda: bench.measure_subprocess("passthrough", [PASSTHROUGH_TOPIC])),
        ("inproc", lambda: bench.measure_subprocess("intake", bench.ack_topics())),
        ("worker_1", lambda: bench.measure_workers(1)),
        ("worker_2", lambda: bench.measure_workers(2)),
        ("latency", bench.measure_latency),
        ("alerts", bench.measure_alerts),
        ("flood", bench.measure_flood),
    ]
    if bench.args.only:
        wanted = set(bench.args.only.split(","))
        steps = [(n, f) for n, f in steps if n in wanted]
    for name, step in steps:
        t0 = time.perf_counter()
        r[name] = await step()
        console.print(f"[bold]{name}[/bold] ({time.perf_counter() - t0:.0f}s): {r[name]}")
    if not bench.args.skip_profile and (not bench.args.only or "profile" in bench.args.only):
        prefix = RESULTS / "profile-intake"
        await bench.measure_subprocess("intake", bench.ack_topics(), profile=prefix,
                                       count=min(bench.events, bench.args.profile_events))
        r["profile"] = str(prefix.with_suffix(".txt").relative_to(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vigie benchmark on a local Kafka broker")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="~20,000 events, short phases")
    parser.add_argument("--alert-backlog", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2000.0, help="offered rate (latency)")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--alert-rate", type=float, default=10.0)
    parser.add_argument("--alert-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="per throughput run")
    parser.add_argument("--window", type=float, default=60.0,
                        help="time box of each throughput run, from its first output (s)")
    parser.add_argument("--profile-events", type=int, default=15_000)
    parser.add_argument("--flood-backlog", type=int, default=50_000,
                        help="flood run: incidents the flooding partner pre-publishes (plus "
                        "5 %% alerts, 3 %% malformed, 0.2 %% oversized)")
    parser.add_argument("--flood-own-backlog", type=int, default=5_000,
                        help="flood run: incidents of the well-behaved partner, each phase")
    parser.add_argument("--flood-alert-rate", type=float, default=5.0,
                        help="flood run: the well-behaved partner's urgent alerts per second "
                        "(for --alert-seconds)")
    parser.add_argument("--only", help="comma-separated runs: baseline,inproc,worker_1,"
                        "worker_2,latency,alerts,flood,profile (partial results, no goals "
                        "table)")
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.events = min(args.events, 20_000)
        args.alert_backlog = min(args.alert_backlog, 20_000)
        args.latency_seconds = min(args.latency_seconds, 5.0)
        args.alert_seconds = min(args.alert_seconds, 5.0)
        args.flood_backlog = min(args.flood_backlog, 20_000)
        args.flood_own_backlog = min(args.flood_own_backlog, 2_000)
        args.window = min(args.window, 20.0)
        args.profile_events = min(args.profile_events, 5_000)

    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        if not args.skip_profile:
            console.print("pyinstrument not installed: profile skipped "
                          "(.venv/bin/pip install pyinstrument)")
            args.skip_profile = True

    started = time.perf_counter()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    port, controller = free_port(), free_port()
    settings = Settings(broker_port=port, controller_port=controller,
                        bootstrap_servers=f"127.0.0.1:{port}", state_dir=workdir / "kafka",
                        partitions=4, partners=PARTNERS)
    broker = LocalBroker(settings)
    unit_ids = sorted(ReferenceStore.with_defaults().snapshot().units)
    bench = Bench(settings, workdir, args, unit_ids)
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        broker.start()
        console.print(f"broker up on {settings.bootstrap_servers} in "
                      f"{time.perf_counter() - t0:.1f}s ({workdir})")
        asyncio.run(bench.setup())
        asyncio.run(run_all(bench))
    finally:
        broker.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    r = bench.results
    if args.only:  # partial: raw figures only
        r["machine"] = machine()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(jsonable(r), indent=2, ensure_ascii=False) + "\n")
        print_tables(r)
        console.print(f"written {args.json} (partial: {args.only})")
        return 0
    r["machine"] = machine()
    r["loadavg_before"] = [round(x, 2) for x in load_before]
    r["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    r["dirty_tree"] = bool(subprocess.run(
        ["git", "status", "--porcelain", "--", "services"], cwd=ROOT, capture_output=True,
        text=True, check=False).stdout.strip())
    r["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    r["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=False).stdout.strip()
    r["baseline_eps"] = r["baseline"]["eps"]
    r["pipeline_eps"] = r["worker_1"]["eps"]
    r["inproc_eps"] = r["inproc"]["eps"]
    r["ratio"] = round(r["pipeline_eps"] / max(1, r["baseline_eps"]), 3)
    r["inproc_ratio"] = round(r["inproc_eps"] / max(1, r["baseline_eps"]), 3)
    r["p99_ms"] = r["latency"]["p99_ms"]
    r["alert_p99_ms"] = r["alerts"]["p99_ms"]
    r["flood_alert_p99_ratio"] = r["flood"]["p99_ratio"]
    # Steady windows (after the first 10 % of outputs) so the 2-worker join rebalance
    # does not count as lack of scaling; both full-window figures are in worker_1/worker_2.
    r["scale_2_workers"] = round(
        r["worker_2"]["eps_steady"] / max(1, r["worker_1"]["eps_steady"]), 2)
    r["cpu_us_per_event"] = r["worker_1"]["cpu_us_per_event"]
    r["peak_rss_mb"] = r["worker_1"]["peak_rss_mb"]
    r["goals"] = {name: {"measured": m, "target": t, "met": ok}
                  for name, m, t, ok in verdicts(r)}
    r["wall_seconds"] = round(time.perf_counter() - started)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(jsonable(r), indent=2, ensure_ascii=False) + "\n")
    print_tables(r)
    console.print(f"written {args.json} in {r['wall_seconds']}s")
    return 0

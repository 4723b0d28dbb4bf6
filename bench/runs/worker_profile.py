"""Where the real worker's time goes: ``worker_1`` again, sampled by py-spy
(``py-spy record --pid``, attached once the worker is ready, ``--nonblocking``) over segment
A for ``--window`` seconds of outputs.

py-spy samples every thread: the engine runs its passes on a thread of its own (blocking
librdkafka calls), which an in-process profiler of the event loop's thread (pyinstrument,
used before the engine moved to librdkafka) does not see. Samples of threads waiting (in a
librdkafka call that released the GIL, in ``select``) are left out (py-spy's default), so
the shares are of the time spent running Python, and native librdkafka work shows under the
Python line that called it (``Transactions.send``: ``produce``).

Writes ``bench/results/profile-worker.txt``: the shares by area (``profile_areas``) of the
samples, then the top frames by self samples (the leaf of each stack).
Run it with ``python -m bench --only worker_profile`` (it is not part of ``make bench``: the
profiler slows the worker down, so its throughput is not a figure to compare).
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.kafka_io import commit_group, count_outputs, end_offsets
from bench.ports import listen_port
from bench.session import PARTNERS, RESULTS, Bench
from bench.throughput import Proc, Sampler, summarize
from bench.worker import wait_ready
from vigie.workers.http import WorkerNotReady
from vigie.workers.launcher import WorkerProcess

#: Where a frame's self samples are counted, by its function and file (first match wins).
AREAS: list[tuple[str, str]] = [
    ("librdkafka calls (produce, consume, transactions)",
     r"vigie/workers/(transactions|fetcher)\.py"),
    ("socket calls (send, recv)", r"socket\.(send|recv)"),
    ("aiokafka producer (send, batches, partitioner)", r"aiokafka/producer|aiokafka/partitioner"),
    ("aiokafka consumer (fetch, records)", r"aiokafka/consumer|aiokafka/record"),
    ("aiokafka protocol and connection", r"aiokafka/(conn|protocol|client|cluster|util)"),
    ("asyncio", r"asyncio/"),
    ("pydantic", r"pydantic|Schema(Validator|Serializer)"),
    ("fastavro", r"fastavro"),
    ("routing (policy, rules, geo)", r"vigie/(routing|reference)/|shapely"),
    ("contracts (codec, validation, models)", r"vigie/contracts/"),
    ("pipeline (intake, outputs)", r"vigie/pipeline/"),
    ("engine and state", r"vigie/workers/|vigie/kafka/"),
    ("metrics", r"vigie/metrics|prometheus_client"),
    ("json", r"json/"),
    ("logging", r"logging/"),
]


def areas(counts: dict[str, int]) -> dict[str, float]:
    """Self samples per area, in % of all samples (``counts``: leaf frame -> samples)."""
    by: dict[str, float] = defaultdict(float)
    for frame, samples in counts.items():
        area = next((a for a, pat in AREAS if re.search(pat, frame)), "other")
        by[area] += samples
    total = sum(by.values())
    return ({a: round(100 * n / total, 1) for a, n in sorted(by.items(), key=lambda kv: -kv[1])}
            if total else {})


def leaves(raw: str) -> dict[str, int]:
    """Self samples per frame from py-spy's raw (collapsed) output: ``a;b;leaf count``."""
    counts: dict[str, int] = defaultdict(int)
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[stack.rsplit(";", 1)[-1]] += int(n)
    return dict(counts)


async def worker_profile(bench: Bench) -> dict[str, Any]:
    app_id = f"vigie-bench-prof-{uuid.uuid4().hex[:6]}"
    await commit_group(bench.settings, app_id, bench.segment_a)
    ack_starts = await end_offsets(bench.settings, bench.ack_topics())
    settings = bench.worker_settings(app_id)
    out = RESULTS / "profile-worker.txt"
    raw = bench.workdir / f"{app_id}.pyspy.txt"
    worker = WorkerProcess(settings.model_copy(update={"partners": PARTNERS}),
                           bench.workdir / f"{app_id}.log", supervise=False,
                           loglevel="warning", cwd=settings.state_dir,
                           metrics_port=listen_port())
    worker.spawn()
    spy: subprocess.Popen[bytes] | None = None
    try:
        with contextlib.suppress(WorkerNotReady):
            await wait_ready(worker, timeout=bench.args.timeout)
        assert worker.process is not None
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
             str(worker.process.pid), "--rate", "200", "--format", "raw", "--nonblocking",
             "--output", str(raw), "--duration", str(int(bench.args.window) + 5)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sample = Sampler([Proc(worker.process.pid)])
        count = await count_outputs(bench.settings, ack_starts, bench.events,
                                    timeout=bench.args.timeout, window=bench.args.window,
                                    on_progress=sample.progress)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
        worker.stop(timeout=120)
    summary = summarize(count, sample, peak_rss_mb=0.0)
    summary["profile"] = str(out.relative_to(ROOT))
    if raw.exists():
        counts = leaves(raw.read_text())
        summary["profile_areas"] = areas(counts)
        write_report(out, summary["profile_areas"], counts)
    return summary


def write_report(path: Path, shares: dict[str, float], counts: dict[str, int],
                 lines: int = 80) -> None:
    """The committed report: the areas, then the first ``lines`` frames by self samples."""
    total = sum(counts.values()) or 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:lines]
    path.write_text("\n".join([
        "py-spy samples of every thread of the worker, waiting threads left out "
        "(bench/runs/worker_profile)",
        f"samples: {sum(counts.values())}", "",
        "Shares by area:", *(f"  {area}: {share} %" for area, share in shares.items()), "",
        "Frames by self samples (% of all):",
        *(f"  {100 * n / total:5.1f} %  {frame}" for frame, n in top)]) + "\n")

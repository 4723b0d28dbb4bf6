"""Where the real worker's time goes: ``worker_1`` again, the worker run under pyinstrument
(``python -m pyinstrument -m vigie worker``), over segment A for ``--window`` seconds of
outputs, then stopped with SIGTERM (the worker finishes its pass and exits; pyinstrument then
writes its report).

Writes ``bench/results/profile-worker.txt``: the shares by area (``profile_areas``) of the
samples that were neither the event loop waiting for the network nor the process's start-up
(imports, class creation), then the top of the flat report (self time per function).
Sampled wall time, not CPU, on a shared machine: shares, not seconds, are the figures.
Run it with ``python -m bench --only worker_profile`` (it is not part of ``make bench``: the
profiler slows the worker down, so its throughput is not a figure to compare).
"""

from __future__ import annotations

import contextlib
import re
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

#: Where a function's self time is counted, by the path of its file (first match wins).
AREAS: list[tuple[str, str]] = [
    ("idle: event loop select", r"selectors\.py|select\b|epoll\.poll"),
    # The profile covers the whole process: its start (imports, pydantic and dataclass
    # class creation, TLS defaults) is reported apart, as the idle part is.
    ("start-up", r"importlib|<built-in> compile$|^\S+ compile$|_create_fn|__build_class__"
                 r"|DecoratorInfos|_compile_bytecode|set_default_verify_paths|<module>"),
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


class ProfiledWorker(WorkerProcess):
    """``python -m pyinstrument ... -m vigie worker``: the same worker, sampled."""

    profile_path: Path = Path("profile-worker.txt")

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pyinstrument", "-r", "text", "-p", "flat=true",
                 "-p", "color=false", "-p", "unicode=false", "-p", "show_all=true",
                 "-i", "0.001", "-o", str(self.profile_path),
                 "-m", "vigie", *self.command()],
                env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.cwd)


def areas(flat: str) -> dict[str, float]:
    """Self time per area, in % of the non-idle samples (and the idle share of all)."""
    by: dict[str, float] = defaultdict(float)
    for line in flat.splitlines():
        m = re.match(r"\s*([\d.]+) (.*?)  (\S.*?)\s*$", line)
        if not m:
            continue
        seconds, name, where = float(m.group(1)), m.group(2), m.group(3)
        area = next((a for a, pat in AREAS if re.search(pat, f"{where} {name}")), "other")
        by[area] += seconds
    total = sum(by.values())
    idle = by.pop("idle: event loop select", 0.0)
    start = by.pop("start-up", 0.0)
    busy = total - idle - start
    out = ({a: round(100 * s / busy, 1) for a, s in sorted(by.items(), key=lambda kv: -kv[1])}
           if busy else {})
    out["idle share of all samples"] = round(100 * idle / total, 1) if total else 0.0
    out["start-up share of all samples"] = round(100 * start / total, 1) if total else 0.0
    return out


async def worker_profile(bench: Bench) -> dict[str, Any]:
    app_id = f"vigie-bench-prof-{uuid.uuid4().hex[:6]}"
    await commit_group(bench.settings, app_id, bench.segment_a)
    ack_starts = await end_offsets(bench.settings, bench.ack_topics())
    settings = bench.worker_settings(app_id)
    out = RESULTS / "profile-worker.txt"
    worker = ProfiledWorker(settings.model_copy(update={"partners": PARTNERS}),
                            bench.workdir / f"{app_id}.log", supervise=False,
                            loglevel="warning", cwd=settings.state_dir,
                            metrics_port=listen_port())
    worker.profile_path = out
    worker.spawn()
    try:
        with contextlib.suppress(WorkerNotReady):
            await wait_ready(worker, timeout=bench.args.timeout)
        sample = Sampler([Proc(worker.process.pid)] if worker.process else [])
        count = await count_outputs(bench.settings, ack_starts, bench.events,
                                    timeout=bench.args.timeout, window=bench.args.window,
                                    on_progress=sample.progress)
    finally:
        worker.stop(timeout=120)
    summary = summarize(count, sample, peak_rss_mb=0.0)
    summary["profile"] = str(out.relative_to(ROOT))
    if out.exists():
        summary["profile_areas"] = areas(out.read_text())
        keep_top(out, summary["profile_areas"])
    return summary


def keep_top(path: Path, shares: dict[str, float], lines: int = 120) -> None:
    """The committed report: the areas, then the first ``lines`` functions by self time
    (the whole flat list is thousands of lines of start-up and library frames)."""
    text = path.read_text().splitlines()
    head = ["Shares of the non-idle, non-start-up samples by area (bench/runs/worker_profile):",
            *(f"  {area}: {share} %" for area, share in shares.items()), ""]
    path.write_text("\n".join([*head, *text[:lines]]) + "\n")

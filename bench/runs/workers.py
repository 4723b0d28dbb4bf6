"""Throughput of the real worker (the transactional engine) over segment A: one worker
(``worker_1``), then two of one app id sharing the partitions (``worker_2``), each with a
fresh consumer group, counting the acknowledgements."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from bench.kafka_io import commit_group, count_outputs, end_offsets
from bench.session import Bench
from bench.throughput import Proc, Sampler, summarize
from bench.worker import start_worker, wait_ready
from vigie.workers.http import WorkerNotReady
from vigie.workers.launcher import WorkerProcess


async def one_worker(bench: Bench) -> dict[str, Any]:
    return await _measure(bench, 1)


async def two_workers(bench: Bench) -> dict[str, Any]:
    return await _measure(bench, 2)


async def _measure(bench: Bench, n: int) -> dict[str, Any]:
    app_id = f"vigie-bench-{n}w-{uuid.uuid4().hex[:6]}"
    await commit_group(bench.settings, app_id, bench.segment_a)
    ack_starts = await end_offsets(bench.settings, bench.ack_topics())
    settings = bench.worker_settings(app_id)
    workers = [start_worker(settings, bench.workdir / f"{app_id}-{i}.log") for i in range(n)]
    ready: list[bool] = [False] * n

    async def watch(i: int) -> None:
        with contextlib.suppress(WorkerNotReady):
            await wait_ready(workers[i], timeout=bench.args.timeout)
            ready[i] = True

    watchers = [asyncio.create_task(watch(i)) for i in range(n)]
    try:
        # Counting starts at once: a worker processes from its assignment on, and one
        # that never gets ready (e.g. table recovery stalled) shows as missing outputs.
        sample = Sampler([Proc(w.process.pid) for w in workers if w.process])
        count = await count_outputs(bench.settings, ack_starts, bench.events,
                                    timeout=bench.args.timeout, window=bench.args.window,
                                    on_progress=sample.progress)
        peak = max(Proc(w.process.pid).peak_rss_mb() for w in workers if w.process)
        commits = [pass_commits(w) for w in workers]
    finally:
        for task in watchers:
            task.cancel()
        for w in workers:
            w.stop()
    summary = summarize(count, sample, peak_rss_mb=peak)
    summary["workers_ready"] = sum(ready)
    passes = sum(n for n, _ in commits)
    summary["passes_committed"] = passes
    summary["pass_commit_ms_mean"] = (round(1000 * sum(s for _, s in commits) / passes, 1)
                                      if passes else None)
    return summary


def pass_commits(worker: WorkerProcess) -> tuple[int, float]:
    """(passes committed, seconds spent committing them) from the worker's
    ``vigie_pass_commit_seconds`` histogram (one commit = the pass's transactions, one per
    partition number, in parallel): to set beside the kip447 prototype's commit times."""
    count = total = 0.0
    with contextlib.suppress(Exception):
        for line in worker.metrics_text().splitlines():
            if line.startswith("vigie_pass_commit_seconds_count"):
                count = float(line.split()[-1])
            elif line.startswith("vigie_pass_commit_seconds_sum"):
                total = float(line.split()[-1])
    return int(count), total

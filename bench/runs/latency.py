"""Latency at a fixed offered rate (``--rate`` events/s for ``--latency-seconds``): fresh
events into a running worker, from publish to the routed copy on the unit topics."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from bench.kafka_io import commit_group, count_outputs, end_offsets, publish_at_rate
from bench.latency_stats import Routed, tail
from bench.session import Bench
from bench.throughput import Proc
from bench.worker import start_worker, wait_ready


async def fixed_rate(bench: Bench) -> dict[str, Any]:
    rate, seconds = bench.args.rate, bench.args.latency_seconds
    app_id = f"vigie-bench-lat-{uuid.uuid4().hex[:6]}"
    await commit_group(bench.settings, app_id,
                       await end_offsets(bench.settings, bench.input_topics()))
    out_starts = await end_offsets(bench.settings, bench.unit_topics())
    worker = start_worker(bench.worker_settings(app_id), bench.workdir / f"{app_id}.log")
    counter: asyncio.Task[Any] | None = None
    try:
        await wait_ready(worker)
        await asyncio.sleep(1.0)
        assert worker.process is not None
        proc = Proc(worker.process.pid)
        sent: dict[bytes, float] = {}
        routed = Routed(sent)
        stop = asyncio.Event()
        cpu0 = proc.cpu()
        counter = asyncio.create_task(count_outputs(
            bench.settings, out_starts, 10**9, timeout=seconds + 30,
            on_record=routed.on_record, stop=stop))
        offered = await publish_at_rate(bench.settings, rate, seconds, sent, urgent=False)
        deadline = time.monotonic() + 15
        while len(routed.seen) < len(sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        stop.set()
        await counter
        cpu = proc.cpu() - cpu0
    finally:
        if counter is not None:
            counter.cancel()
        worker.stop()
    created = tail(routed.created_ms, len(sent))
    visible = tail(routed.visible_ms, len(sent))
    return {
        "offered_eps": round(offered, 1),
        "sent": len(sent),
        "routed": len(routed.seen),
        **visible,  # committed: what a read_committed consumer sees (see alerts.alert_run)
        "p50_created_ms": created["p50_ms"],
        "p99_created_ms": created["p99_ms"],
        "worker_cpu_share": round(cpu / seconds, 2),
    }

"""Urgent alerts published slowly while incidents wait in a backlog: the urgent lane must
overtake the backlog, not queue behind it (``alerts``; ``alert_run`` also serves the flood run).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.kafka_io import Offsets, commit_group, count_outputs, end_offsets, publish_at_rate
from bench.latency_stats import Routed, tail
from bench.session import Bench
from bench.worker import start_worker, wait_ready
from vigie.contracts import topics

#: Starts the process measured, consuming as consumer group ``app_id`` (already committed at
#: the run's offsets), and returns once it is ready, with the callable that stops it. A
#: starter whose process never gets ready stops it before raising.
Starter = Callable[[Bench, str], Awaitable[Callable[[], None]]]


async def start_vigie_worker(bench: Bench, app_id: str) -> Callable[[], None]:
    """Vigie's worker (``python -m vigie worker``), ready once ``/readyz`` answers 200."""
    worker = start_worker(bench.worker_settings(app_id), bench.workdir / f"{app_id}.log")
    try:
        await wait_ready(worker)
    except BaseException:
        worker.stop()
        raise
    return worker.stop


async def behind_backlog(bench: Bench, start: Starter = start_vigie_worker,
                         name: str = "alerts") -> dict[str, Any]:
    """Urgent alerts at ``--alert-rate`` while the incident backlog (segment B) drains, in
    the process ``start`` starts (Vigie's worker; the ``quix_alerts`` run: the peer)."""
    app_id = f"vigie-bench-{name}-{uuid.uuid4().hex[:6]}"
    now_end = await end_offsets(bench.settings, bench.input_topics())
    starts = {tp: (bench.segment_b[tp] if "incidents" in tp.topic else off)
              for tp, off in now_end.items()}
    run = await alert_run(bench, app_id, starts, rate=bench.args.alert_rate,
                          seconds=bench.args.alert_seconds, seed=4242, start=start)
    # Acks also cover the alerts themselves; what is left is the incident backlog.
    incidents_done = max(0, sum(run.pop("acks_at_window_end").values()) - run["alerts_sent"])
    del run["drained"], run["seconds_from_ready"], run["series_ms"]
    return {"backlog": bench.backlog_b, **run,
            "backlog_left_at_end": max(0, bench.backlog_b - incidents_done)}


async def alert_run(bench: Bench, app_id: str, starts: Offsets, *, rate: float, seconds: float,
                    seed: int, partner: str | None = None,
                    on_output: Callable[[Any], None] | None = None,
                    drained: Callable[[], bool] | None = None,
                    start: Starter = start_vigie_worker) -> dict[str, Any]:
    """One fresh worker (group ``app_id``, starting at ``starts``; or whatever ``start``
    starts, ready when it returns) while urgent alerts
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
    await commit_group(bench.settings, app_id, starts)
    watched = await end_offsets(bench.settings, [*bench.ack_topics(), topics.DEADLETTER])
    out_starts = await end_offsets(bench.settings, bench.unit_topics(alerts_only=True))
    acks: Counter[str] = Counter()

    def on_watched(record: Any, _now: float) -> None:
        owner = topics.owner_of(record.topic)
        if owner is not None:
            acks[owner] += 1
        if on_output is not None:
            on_output(record)

    limit = seconds + 15 + bench.args.timeout + 60
    stop_process = await start(bench, app_id)
    readers: list[asyncio.Task[Any]] = []
    try:
        ready_at = time.time()
        await asyncio.sleep(1.0)  # past the first passes (as the latency run)
        sent: dict[bytes, float] = {}
        routed = Routed(sent)
        stop = asyncio.Event()
        outputs = asyncio.create_task(count_outputs(
            bench.settings, watched, 10**9, timeout=limit, on_record=on_watched, stop=stop))
        copies = asyncio.create_task(count_outputs(
            bench.settings, out_starts, 10**9, timeout=limit, on_record=routed.on_record,
            stop=stop))
        readers = [outputs, copies]
        await publish_at_rate(bench.settings, rate, seconds, sent, urgent=True,
                              partner=partner, seed=seed)
        last_sent = max(sent.values(), default=time.time())
        deadline = time.monotonic() + 15
        while len(routed.seen) < len(sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        waited_ms = (time.time() - last_sent) * 1000
        acks_at_window_end = dict(acks)
        deadline = time.monotonic() + bench.args.timeout
        while drained is not None and not drained() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        drain_s = time.time() - ready_at
        stop.set()
        await outputs
        await copies
    finally:
        for task in readers:
            task.cancel()
        stop_process()
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

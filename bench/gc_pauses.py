"""The collector's pauses as the event state grows, without Kafka: ``python -m bench.gc_pauses``.

The engine's per-record path (``bench.engine_hot``: ``RoutingEngine._process`` over the
realistic mix, passes of 256 records) over ``--events`` inputs, twice in one process:
first under CPython's own collection policy, then with the worker's heap keeper
(``vigie.workers.heap``) settling between passes every ``--interval`` seconds, as
``run_pass`` does. Each run reports the collector's pauses by generation (``gc.callbacks``),
the longest and p99 pass wall times and the CPU per input; the second is compared with the
first (ratios, same process). The input list is frozen before both runs, so that neither
walks it.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections import defaultdict
from typing import Any

from aiokafka import ConsumerRecord

from bench.engine_hot import fresh_engine, records
from vigie.settings import Settings
from vigie.workers.heap import HeapKeeper
from vigie.workers.transactions import Pass

PASS = 256


def run_once(feed: list[ConsumerRecord], interval_s: float) -> dict[str, Any]:
    engine = fresh_engine()
    keeper = HeapKeeper(interval_s)
    pauses: dict[int, list[float]] = defaultdict(list)
    began: dict[int, float] = {}

    def timed(phase: str, info: dict[str, Any]) -> None:
        g = info["generation"]
        if phase == "start":
            began[g] = time.perf_counter()
        else:
            pauses[g].append(time.perf_counter() - began.pop(g))

    gc.callbacks.append(timed)
    passes_s: list[float] = []
    cpu = time.process_time()
    try:
        for i in range(0, len(feed), PASS):
            started = time.perf_counter()
            work: dict[int, Pass] = defaultdict(Pass)
            for record in feed[i:i + PASS]:
                engine._process(record, work[record.partition])
            for w in work.values():
                for count in w.counted:
                    count()
            keeper.maybe_settle()
            passes_s.append(time.perf_counter() - started)
    finally:
        gc.callbacks.remove(timed)
        cpu = time.process_time() - cpu
    passes_s.sort()
    return {
        "policy": f"settle every {interval_s:g} s" if interval_s else "CPython default",
        "cpu_us_per_input": round(cpu / len(feed) * 1e6, 1),
        "pass_p99_ms": round(passes_s[int(len(passes_s) * 0.99)] * 1000, 1),
        "pass_max_ms": round(passes_s[-1] * 1000, 1),
        "gc": {f"gen{g}": {"collections": len(v), "total_ms": round(sum(v) * 1000, 1),
                           "max_ms": round(max(v) * 1000, 1),
                           "median_ms": round(statistics.median(v) * 1000, 2)}
               for g, v in sorted(pauses.items())},
        "gc_total_ms": round(sum(sum(v) for v in pauses.values()) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--interval", type=float,
                        default=Settings().gc_settle_interval_seconds,
                        help="the heap keeper's settle interval (the worker's setting)")
    args = parser.parse_args(argv)
    feed = records(args.events, args.seed)
    gc.collect()
    gc.freeze()  # the input list is the bench's, not the worker's heap
    default = run_once(feed, 0.0)
    gc.collect()
    settled = run_once(feed, args.interval)
    worst = {g: v["max_ms"] for g, v in default["gc"].items()}
    result = {
        "events": len(feed),
        "runs": [default, settled],
        "ratios": {
            "pass_max": round(settled["pass_max_ms"] / default["pass_max_ms"], 2),
            "pass_p99": round(settled["pass_p99_ms"] / default["pass_p99_ms"], 2),
            "gc_total": round(settled["gc_total_ms"] / max(default["gc_total_ms"], 0.1), 2),
            "gen2_max": round(settled["gc"].get("gen2", {}).get("max_ms", 0.0)
                              / max(worst.get("gen2", 0.0), 0.1), 2),
            "cpu": round(settled["cpu_us_per_input"] / default["cpu_us_per_input"], 2),
        },
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()

"""In-process intake hot path, no Kafka: ``python -m bench.intake_hot [--events N] [--repeat R]``.

Runs ``IntakeProcessor.handle`` over a scripted day of clean partner messages (no malformed,
duplicates, follow-ups or expired: ``FeedMix(0, 0, 0, 0)``) with a dict as the event table,
and prints the best-of-``--repeat`` wall time per event (µs). No broker, no aiokafka: the
figure is Vigie's own logic (decode, validate, dedupe, locate, route, encode).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))

from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import EventRecord, Inbound
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import FeedMix, scripted_day


def run_once(events: int, seed: int) -> float:
    """µs per event of one pass (fresh processor and table)."""
    sites = load_sample_sites()
    store = ReferenceStore.with_defaults(sites=sites)
    processor = IntakeProcessor(store, Settings())
    feed = list(scripted_day(sites, events, seed=seed, mix=FeedMix(0, 0, 0, 0)))
    msgs = [Inbound(m.topic, 0, i, m.key, m.value) for i, m in enumerate(feed)]
    table: dict[str, EventRecord] = {}
    start = time.perf_counter()
    for m in msgs:
        result = processor.handle(m, table.get)
        if result.record:
            table[result.record.event_id] = result.record
    return (time.perf_counter() - start) / len(msgs) * 1e6


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    runs = [run_once(args.events, args.seed) for _ in range(args.repeat)]
    best = min(runs)
    shown = ", ".join(f"{r:.1f}" for r in runs)
    print(f"intake hot path: {args.events} events, best of {args.repeat}: "
          f"{best:.1f} µs/event ({shown})")
    return best


if __name__ == "__main__":
    main()

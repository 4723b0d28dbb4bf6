"""The worker's per-record path without Kafka: ``python -m bench.engine_hot``.

``RoutingEngine._process`` (the partitioning check, the intake, the state and its changelog
record, the metrics once "committed"; the outputs' partitioning is librdkafka's, in C, since
the engine moved to it) over a scripted day of the realistic mix (malformed,
duplicates, follow-ups, expired as in ``bench``), each record on its key's partition of 4,
then the counting that follows a commit. No broker, no aiokafka send: the figure is the
engine's and the logic's own CPU per input (best of ``--repeat``), which the worker adds to
librdkafka's fetch and produce costs. ``--profile out.txt`` writes pyinstrument's flat report.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))

from aiokafka import ConsumerRecord, TopicPartition

from bench.session import PARTNERS
from vigie.kafka.partitioning import key_partition
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import scripted_day
from vigie.workers.engine import RoutingEngine
from vigie.workers.transactions import Pass

PARTITIONS = 4


def records(events: int, seed: int) -> list[ConsumerRecord]:
    sites = load_sample_sites()
    out = []
    for i, m in enumerate(scripted_day(sites, events, seed=seed)):
        p = key_partition(m.key, PARTITIONS) or 0
        out.append(ConsumerRecord(m.topic, p, i, 0, 0, m.key, m.value, None,
                                  len(m.key or b""), len(m.value), []))
    return out


def fresh_engine() -> RoutingEngine:
    """An engine owning the 4 partitions of every input, state empty."""
    engine = RoutingEngine(Settings(partners=PARTNERS),
                           ReferenceStore.with_defaults(sites=load_sample_sites()))
    owned = {TopicPartition(t, p) for t in engine.lanes.inputs for p in range(PARTITIONS)}
    split = engine.lanes.split(owned)
    split.partition_counts.update({t: PARTITIONS for t in engine.lanes.inputs})
    engine.ownership.owned = split
    return engine


def run_once(feed: list[ConsumerRecord]) -> tuple[float, int]:
    """CPU µs (process time: steadier than wall time on a shared machine) per input of one
    pass over ``feed`` (fresh engine and state), and the outputs per input."""
    engine = fresh_engine()
    outputs = 0
    start = time.process_time()
    for i in range(0, len(feed), 256):  # passes of 256 records
        passes: dict[int, Pass] = defaultdict(Pass)
        for record in feed[i:i + 256]:
            engine._process(record, passes[record.partition])
        for work in passes.values():
            outputs += len(work.outbound)
            for count in work.counted:
                count()
    return (time.process_time() - start) / len(feed) * 1e6, outputs


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="pyinstrument flat report (text)")
    args = parser.parse_args(argv)
    feed = records(args.events, args.seed)
    if args.profile:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer

        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        run_once(feed)
        profiler.stop()
        args.profile.write_text(profiler.output(ConsoleRenderer(
            unicode=False, color=False, flat=True, show_all=False)))
    runs = [run_once(feed) for _ in range(args.repeat)]
    best = min(r[0] for r in runs)
    shown = ", ".join(f"{r[0]:.1f}" for r in runs)
    print(f"engine hot path: {len(feed)} inputs, {runs[0][1] / len(feed):.2f} outputs/input, "
          f"best of {args.repeat}: {best:.1f} CPU µs/input ({shown})")
    return best


if __name__ == "__main__":
    main()

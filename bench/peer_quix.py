"""The peer of the benchmark: Vigie's ``IntakeProcessor`` inside quixstreams, exactly once.

One quixstreams ``Application`` (its own consumer group, ``processing_guarantee=
"exactly-once"``: one transactional producer, offsets committed in its transactions with the
group metadata, KIP-447) over every partner input topic, concatenated into one stream so
that one state store serves incidents and alerts alike. For each record: the same
partitioning check as the worker, ``IntakeProcessor.handle`` with quixstreams' RocksDB state
(per key, with its changelog topic) as the event table, and every output produced through
the application's own transactional producer, so outputs, state and offsets commit together
at each checkpoint (``--commit-interval``, quixstreams' default 5 s).

Run in its own process by ``bench/runs/peers.py`` (``python -m bench --only quix``), with the
interpreter that has the ``bench-peer`` extra (quixstreams; ``make bench`` keeps one in
``.vigie/peer-venv``); stopped by SIGTERM once the bench has
counted every acknowledgement. Prints one JSON line at exit (records handled, CPU seconds).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="IntakeProcessor inside quixstreams (EOS)")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topics", required=True, help="JSON list of input topics")
    parser.add_argument("--partners", default="[]", help="JSON list")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--commit-interval", type=float, default=5.0)
    parser.add_argument("--partitions", type=int, default=4, help="of every input topic")
    args = parser.parse_args(argv)

    from quixstreams import Application, message_context

    from vigie.kafka.partitioning import key_partition
    from vigie.pipeline.intake import IntakeProcessor
    from vigie.pipeline.messages import EventRecord, Inbound
    from vigie.reference.sites import load_sample_sites
    from vigie.reference.snapshot import ReferenceStore
    from vigie.settings import Settings

    settings = Settings(bootstrap_servers=args.bootstrap, partners=json.loads(args.partners))
    processor = IntakeProcessor(ReferenceStore.with_defaults(sites=load_sample_sites()),
                                settings)
    app = Application(
        broker_address=args.bootstrap, consumer_group=args.group,
        auto_offset_reset="earliest", processing_guarantee="exactly-once",
        commit_interval=args.commit_interval, state_dir=str(args.state_dir),
        loglevel="WARNING",
        # Outputs keyed by the root event id land on murmur2(key), as Vigie's do.
        producer_extra_config={"partitioner": "murmur2_random", "linger.ms": 2},
    )
    names: list[str] = json.loads(args.topics)
    handled = 0

    def process(value: bytes, key: bytes | None, _ts: int, _headers: Any, state: Any) -> None:
        nonlocal handled
        ctx = message_context()
        topic = ctx.topic

        def lookup(event_id: str) -> EventRecord | None:
            stored = state.get(event_id)
            return EventRecord.from_json(stored) if stored is not None else None

        inbound = Inbound(topic, ctx.partition, ctx.offset, key, value,
                          key_partition(key, args.partitions))
        result = processor.handle(inbound, lookup)
        for record in (result.related, result.record):
            if record is not None:
                state.set(record.event_id, record.to_json())
        producer = app._producer
        for out in result.outbound:
            producer.produce(topic=out.topic, value=out.value, key=out.key,
                             partition=out.partition)
        handled += 1

    # One stream (and one state store) per partner: its alerts and incidents concatenated
    # (a partner's follow-ups only ever refer to its own events; one stream of every topic
    # would name a changelog topic longer than Kafka allows).
    by_partner: dict[str, list[str]] = {}
    for name in names:
        by_partner.setdefault(name.split(".")[1], []).append(name)
    for partner_topics in by_partner.values():
        frames = [app.dataframe(app.topic(n, key_deserializer="bytes",
                                          value_deserializer="bytes"))
                  for n in partner_topics]
        sdf = frames[0]
        for other in frames[1:]:
            sdf = sdf.concat(other)
        sdf.update(process, stateful=True, metadata=True)
    cpu0 = time.process_time()
    app.run()
    print(json.dumps({"done": handled, "cpu_s": round(time.process_time() - cpu0, 3),
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
          file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""librdkafka (confluent-kafka) loops of the Kafka benchmark, each run in its own process.

* ``passthrough``: the second baseline. A consumer assigned to the partner topics at given
  offsets, ``consume()`` batches of up to 1,000 → ``produce()`` the same key and value to
  ``bench.passthrough.v1`` (same partition number), ``poll(0)`` for the delivery reports,
  ``flush()`` at the end; acks=all as the worker. librdkafka batches and sends in its own
  C threads: the practical limit of one Python process with librdkafka on this machine.
* ``kip447``: the lever of issue 16, measured apart from the engine (which stays on
  aiokafka). One transactional producer per worker and one consumer in a consumer group;
  each pass consumes up to ``--pass-size`` records, runs Vigie's ``IntakeProcessor`` (with
  a dict of ``EventRecord`` as the state, each change also produced to a changelog topic
  as ``EventState.put`` does), produces the outputs, then commits **every partition of the
  pass in one transaction**: ``send_offsets_to_transaction(positions,
  consumer.consumer_group_metadata())`` (KIP-447: the broker fences a zombie by the group
  generation, so one producer serves all the partitions a worker owns). Reports the time
  of each commit (send_offsets + commit_transaction), to set beside the engine's
  ``vigie_pass_commit_seconds`` (one transaction per partition number and pass).

Both handle ``--count`` records and exit, printing one JSON line (CPU seconds, and for
``kip447`` the pass and commit figures).

``python -m bench.rdkafka_loops passthrough --bootstrap 127.0.0.1:PORT --starts s.json
--count N``
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from bench.inproc import PASSTHROUGH_TOPIC
from vigie.kafka.clients import librdkafka_config
from vigie.settings import Settings

CHANGELOG_TOPIC = "bench.kip447-changelog.v1"
#: Set by SIGTERM (the bench's time box): the loop ends after its pass and reports.
STOPPING: list[bool] = []


def load_starts(path: Path) -> list[TopicPartition]:
    return [TopicPartition(t, int(p), int(o)) for t, p, o in json.loads(path.read_text())]


def passthrough(settings: Settings, starts: list[TopicPartition], count: int) -> dict[str, Any]:
    base = librdkafka_config(settings)
    consumer = Consumer({**base, "group.id": "bench-rd-passthrough", "enable.auto.commit": False,
                         "fetch.max.bytes": 8 << 20, "log_level": 3})
    producer = Producer({**base, "acks": "all", "linger.ms": 5, "log_level": 3})
    consumer.assign(starts)
    done = 0
    try:
        while done < count and not STOPPING:
            for m in consumer.consume(num_messages=1000, timeout=0.2):
                if m.error():
                    continue
                while True:
                    try:
                        producer.produce(PASSTHROUGH_TOPIC, m.value(), m.key(),
                                         partition=int(m.partition() or 0))
                        break
                    except BufferError:  # local queue full: let deliveries drain
                        producer.poll(0.05)
                done += 1
            producer.poll(0)
        producer.flush(60)
    finally:
        consumer.close()
    return {"done": done}


def kip447(settings: Settings, group: str, topics: list[str], count: int,
           pass_size: int) -> dict[str, Any]:
    from vigie.kafka.partitioning import key_partition
    from vigie.pipeline.intake import IntakeProcessor
    from vigie.pipeline.messages import EventRecord, Inbound
    from vigie.reference.sites import load_sample_sites
    from vigie.reference.snapshot import ReferenceStore

    processor = IntakeProcessor(ReferenceStore.with_defaults(sites=load_sample_sites()),
                                settings)
    table: dict[str, EventRecord] = {}
    base = librdkafka_config(settings)
    consumer = Consumer({**base, "group.id": group, "enable.auto.commit": False,
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "partition.assignment.strategy": "range", "log_level": 3})
    producer = Producer({**base, "transactional.id": f"{group}-kip447", "acks": "all",
                         "enable.idempotence": True, "linger.ms": 2,
                         "partitioner": "murmur2_random", "log_level": 3})
    producer.init_transactions(30)
    consumer.subscribe(topics)
    counts: dict[str, int] = {}
    done = passes = 0
    commits: list[float] = []
    try:
        while done < count and not STOPPING:
            batch = [m for m in consumer.consume(num_messages=pass_size, timeout=0.2)
                     if not m.error()]
            if not batch:
                continue
            producer.begin_transaction()
            for m in batch:
                topic, partition = str(m.topic()), int(m.partition() or 0)
                if topic not in counts:
                    counts[topic] = len(consumer.list_topics(topic).topics[topic].partitions)
                inbound = Inbound(topic, partition, int(m.offset() or 0), m.key(), m.value(),
                                  key_partition(m.key(), counts[topic]))
                result = processor.handle(inbound, table.get)
                for record in (result.related, result.record):
                    if record is not None:
                        table[record.event_id] = record
                        producer.produce(CHANGELOG_TOPIC, json.dumps(
                            record.to_json(), separators=(",", ":")).encode(),
                            record.event_id.encode(), partition=partition)
                for out in result.outbound:
                    if out.partition is None:
                        producer.produce(out.topic, out.value, out.key)
                    else:
                        producer.produce(out.topic, out.value, out.key, partition=out.partition)
                producer.poll(0)
            t0 = time.perf_counter()
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(),
                30)
            producer.commit_transaction(30)
            commits.append(time.perf_counter() - t0)
            passes += 1
            done += len(batch)
    finally:
        consumer.close()
    ordered = sorted(commits)
    return {
        "done": done, "passes": passes, "records_per_pass": round(done / max(passes, 1), 1),
        "commit_ms_mean": round(1000 * statistics.fmean(commits), 1) if commits else None,
        "commit_ms_p50": round(1000 * ordered[len(ordered) // 2], 1) if commits else None,
        "commit_ms_p99": round(1000 * ordered[min(len(ordered) - 1,
                                                  int(0.99 * len(ordered)))], 1)
        if commits else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="librdkafka loops for the benchmark")
    parser.add_argument("mode", choices=["passthrough", "kip447"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--starts", type=Path, help="JSON [[topic, p, offset]] (passthrough)")
    parser.add_argument("--group", help="consumer group, offsets set by the bench (kip447)")
    parser.add_argument("--topics", default="[]", help="JSON list of input topics (kip447)")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--pass-size", type=int, default=256)
    parser.add_argument("--partners", default="[]", help="JSON list")
    args = parser.parse_args(argv)
    settings = Settings(bootstrap_servers=args.bootstrap, partners=json.loads(args.partners))
    signal.signal(signal.SIGTERM, lambda *_: STOPPING.append(True))
    cpu0 = time.process_time()
    if args.mode == "passthrough":
        assert args.starts is not None
        out = passthrough(settings, load_starts(args.starts), args.count)
    else:
        out = kip447(settings, args.group, json.loads(args.topics), args.count, args.pass_size)
    out["cpu_s"] = round(time.process_time() - cpu0, 3)
    out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out), file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

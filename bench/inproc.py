"""The two plain-aiokafka loops of the Kafka benchmark, each run in its own process.

* ``passthrough``: the baseline. getmany → send the same key/value to ``bench.passthrough.v1``
  (same partition number), await the batch's deliveries, next batch. No decoding at all: the
  practical limit of one Python process with aiokafka on this machine.
* ``intake``: Vigie's ``IntakeProcessor`` in the same loop: decode, validate, dedupe (a dict
  of ``EventRecord`` per event id, as the worker's ``EventState`` holds them), locate, route,
  encode, then send the routed copies and the acknowledgement: the logic without the engine.
  What is left between this and the worker (``vigie.workers.engine``) is the engine: one
  Kafka transaction per partition and pass (begin, sends, offsets, commit), the state
  changelog records, the lanes and per-partner shares, the escalation timer.

Both read the partner topics from given offsets, handle ``--count`` records, flush and exit.
``--profile out`` wraps the loop in pyinstrument (the ``bench`` extra, see docs/performance.md)
and writes ``out.txt`` (flat, by self time) and ``out.html`` (call tree).

Usage (the orchestrator in ``bench/kafka_bench.py`` runs it):
``python -m bench.inproc intake --bootstrap 127.0.0.1:PORT --starts starts.json --count N``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from vigie.kafka import clients
from vigie.settings import Settings

PASSTHROUGH_TOPIC = "bench.passthrough.v1"

#: acks=all as the worker's producers (which are also idempotent and transactional);
#: aiokafka's defaults otherwise.
PRODUCER_KW: dict[str, Any] = {"acks": "all", "max_request_size": 4 * 64 * 1024}
CONSUMER_KW: dict[str, Any] = {
    "group_id": None,
    "enable_auto_commit": False,
    "max_partition_fetch_bytes": 1024 * 1024,
}
BATCH = 2000


def load_starts(path: Path) -> dict[TopicPartition, int]:
    data = json.loads(path.read_text())
    return {TopicPartition(t, int(p)): int(o) for t, p, o in data}


async def _consumer(settings: Settings, starts: dict[TopicPartition, int]) -> AIOKafkaConsumer:
    consumer = clients.consumer(settings, **CONSUMER_KW)
    await consumer.start()
    consumer.assign(list(starts))
    for tp, offset in starts.items():
        consumer.seek(tp, offset)
    return consumer


async def passthrough(settings: Settings, starts: dict[TopicPartition, int], count: int) -> int:
    consumer = await _consumer(settings, starts)
    producer = clients.producer(settings, **PRODUCER_KW)
    await producer.start()
    done = 0
    try:
        while done < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=BATCH)
            futures = []
            for records in batches.values():
                for r in records:
                    futures.append(await producer.send(
                        PASSTHROUGH_TOPIC, r.value, key=r.key, partition=r.partition))
                done += len(records)
            if futures:
                await asyncio.gather(*futures)
    finally:
        await producer.stop()
        await consumer.stop()
    return done


async def intake(settings: Settings, starts: dict[TopicPartition, int], count: int) -> int:
    from vigie.pipeline.intake import IntakeProcessor
    from vigie.pipeline.messages import EventRecord, Inbound
    from vigie.reference.snapshot import ReferenceStore
    from vigie.workers.reference_loader import ReferenceLoader

    store = ReferenceStore.with_defaults()
    loader = ReferenceLoader(store, settings)
    loader_task = asyncio.create_task(loader.run())
    await loader.ready.wait()
    processor = IntakeProcessor(store, settings)
    table: dict[str, EventRecord] = {}  # as EventState keeps them (without the changelog)

    def lookup(event_id: str) -> EventRecord | None:
        return table.get(event_id)

    consumer = await _consumer(settings, starts)
    producer = clients.producer(settings, **PRODUCER_KW)
    await producer.start()
    done = 0
    try:
        while done < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=BATCH)
            futures = []
            for records in batches.values():
                for r in records:
                    inbound = Inbound(r.topic, r.partition, r.offset, r.key, r.value)
                    result = processor.handle(inbound, lookup)
                    for record in (result.related, result.record):  # as the engine does
                        if record is not None:
                            table[record.event_id] = record
                    for out in result.outbound:
                        futures.append(await producer.send(out.topic, out.value, key=out.key))
                done += len(records)
            if futures:
                await asyncio.gather(*futures)
    finally:
        loader_task.cancel()
        await producer.stop()
        await consumer.stop()
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="plain aiokafka loops for the benchmark")
    parser.add_argument("mode", choices=["passthrough", "intake"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--starts", type=Path, required=True, help="JSON [[topic, p, offset]]")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--partners", default="[]", help="JSON list (intake)")
    parser.add_argument("--profile", type=Path, help="pyinstrument output prefix")
    args = parser.parse_args(argv)
    starts = load_starts(args.starts)
    settings = Settings(bootstrap_servers=args.bootstrap, partners=json.loads(args.partners))
    if args.mode == "passthrough":
        coro = passthrough(settings, starts, args.count)
    else:
        coro = intake(settings, starts, args.count)

    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    cpu0 = time.process_time()
    done = asyncio.run(coro)
    cpu = time.process_time() - cpu0
    if profiler is not None:
        from pyinstrument.renderers import ConsoleRenderer

        profiler.stop()
        args.profile.with_suffix(".html").write_text(profiler.output_html())
        flat = profiler.output(ConsoleRenderer(unicode=False, color=False, flat=True,
                                               show_all=False))
        args.profile.with_suffix(".txt").write_text(flat)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"done": done, "cpu_s": round(cpu, 3), "peak_rss_kb": peak_kb}),
          file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How a transactional producer is fed, measured alone: ``python -m bench.txn_send
--bootstrap HOST:PORT`` (a broker with Vigie's topics, e.g. a ``bench --keep`` one).

The outputs of ``--events`` inputs of the realistic mix as the engine makes them
(``bench.engine_hot``: routed copies, acks, dead letters, changelog records), committed in
passes of ``--pass-size`` inputs' outputs, one transaction each, two ways in alternation:
``send`` (record by record, as the engine did) and ``batch`` (``TransactionPool``'s
``send_batch`` per topic and partition). Prints the CPU µs per output record of each, best
of ``--repeat``: the producer's own cost, the rest of the worker left out.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from typing import Any

from aiokafka.admin import NewTopic

from bench import engine_hot
from bench.session import PARTNERS
from vigie.kafka import clients
from vigie.pipeline.messages import Outbound
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.engine import RoutingEngine
from vigie.workers.transactions import Pass, TransactionPool

CHANGELOG = "bench.txn-send-changelog.v1"


def passes_of(events: int, pass_size: int) -> list[list[Outbound]]:
    feed = engine_hot.records(events, seed=11)
    engine = RoutingEngine(Settings(partners=PARTNERS),
                           ReferenceStore.with_defaults(sites=load_sample_sites()))
    split = engine.lanes.split(set())
    split.partition_counts.update({t: engine_hot.PARTITIONS for t in engine.lanes.inputs})
    engine.ownership.owned = split
    out: list[list[Outbound]] = []
    for i in range(0, len(feed), pass_size):
        work: dict[int, Pass] = defaultdict(Pass)
        for record in feed[i:i + pass_size]:
            engine._process(record, work[0])
        out.append([Outbound(CHANGELOG, o.key, o.value, o.partition)
                    if o.topic == engine.state.changelog else o for o in work[0].outbound])
    return out


async def run(args: argparse.Namespace) -> None:
    settings = Settings(bootstrap_servers=args.bootstrap, app_id="bench-txn-send")
    admin = clients.admin(settings)
    await admin.start()
    try:
        if CHANGELOG not in await admin.list_topics():
            await admin.create_topics([NewTopic(CHANGELOG, engine_hot.PARTITIONS, 1)])
    finally:
        await admin.close()
    passes = passes_of(args.events, args.pass_size)
    records = sum(len(p) for p in passes)
    pool = TransactionPool(settings, "bench-txn-send")
    await pool.start([0])
    producer = pool._producers[0]
    results: dict[str, list[float]] = {"send": [], "batch": []}
    walls: dict[str, list[float]] = {"send": [], "batch": []}

    async def by_send(work: list[Outbound]) -> None:
        await producer.begin_transaction()
        sent: list[Any] = [await producer.send(o.topic, o.value, key=o.key, partition=o.partition)
                           for o in work]
        await asyncio.gather(*sent)
        await producer.commit_transaction()

    async def by_batch(work: list[Outbound]) -> None:
        await pool.commit({0: Pass(outbound=work)})

    try:
        for p in passes[:2]:  # metadata of every topic, connections
            await by_send(p)
        for _ in range(args.repeat):
            for name, way in (("send", by_send), ("batch", by_batch)):
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for p in passes:
                    await way(p)
                results[name].append((time.process_time() - cpu0) / records * 1e6)
                walls[name].append((time.perf_counter() - wall0) / len(passes) * 1e3)
    finally:
        await pool.close()
    for name, runs in results.items():
        shown = ", ".join(f"{r:.1f}" for r in runs)
        print(f"{name}: {records} records in {len(passes)} transactions, best of "
              f"{args.repeat}: {min(runs):.1f} CPU µs/record ({shown}); wall ms per "
              f"transaction {', '.join(f'{w:.0f}' for w in walls[name])}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--pass-size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

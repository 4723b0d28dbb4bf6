"""End-to-end benchmark on a real Kafka broker that it starts itself: ``make bench``.

One broker (own free ports, temporary state folder, shared jar cache), one backlog published
once (bench/session.py), then each measurement in turn (bench/runs/), each consumer group
pointed at the offsets it must read:

1. baseline      plain aiokafka passthrough (getmany → send), own process   runs/plain_loops
2. rd_baseline   librdkafka passthrough (consume → produce), own process     runs/peers
3. inproc        IntakeProcessor in a plain aiokafka loop, own process: the  runs/plain_loops
                 logic without the engine (no transactions, no changelog)
4. worker_1      the real worker (``python -m vigie worker``: the engine)    runs/workers
5. quix          the peer: IntakeProcessor inside quixstreams, exactly once  runs/peers
6. kip447        prototype: librdkafka, one transaction per pass (KIP-447)   runs/peers
7. worker_2      two workers of one app id sharing the partitions            runs/workers
8. latency       fixed offered rate (2,000 events/s for 20 s) of fresh       runs/latency
                 events, sent → routed
9. alerts        urgent alerts published slowly while 100,000 incidents      runs/alerts
                 wait in the backlog
   quix_alerts   (on request) the same with the quixstreams peer in the      runs/peers
                 worker's place
10. flood        one partner's urgent alerts, first alone, then while        runs/flood
                 another partner floods its topics (incident backlog, alert
                 burst, oversized and malformed messages)

Ratios are against the faster of the two passthroughs of the same run.
Throughput = events / (timestamp of the last output - timestamp of the first output), counted
on the output topics (acks for Vigie, ``bench.passthrough.v1`` for the baseline), read with
``isolation_level="read_committed"``. CPU and peak RSS come from /proc of the measured
process. See docs/performance.md.

``python -m bench [--quick] [--events N] [--only RUNS] [--skip-profile] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import ROOT, record
from bench.goals import verdicts
from bench.ports import listen_port
from bench.runs import (
    alerts,
    flood,
    followup,
    gateway,
    latency,
    peers,
    plain_loops,
    worker_profile,
    workers,
)
from bench.session import PARTNERS, RESULTS, Bench, console
from bench.tables import print_tables
from vigie.broker.local import LocalBroker
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings

#: The quixstreams peer's interpreter that ``make bench`` keeps (the ``bench-peer`` extra):
#: quixstreams pins pydantic and confluent-kafka below the project's, so not in ``.venv``.
PEER_PYTHON = ROOT / ".vigie" / "peer-venv" / "bin" / "python"

RUNS: list[tuple[str, Callable[[Bench], Awaitable[Any]]]] = [
    ("baseline", plain_loops.baseline),
    ("rd_baseline", peers.rd_baseline),
    ("inproc", plain_loops.inproc),
    ("worker_1", workers.one_worker),
    ("quix", peers.quix),
    ("kip447", peers.kip447),
    ("worker_2", workers.two_workers),
    ("latency", latency.fixed_rate),
    ("gateway", gateway.gateway),
    ("alerts", alerts.behind_backlog),
    ("flood", flood.flood),
    ("followup_sink", followup.sink),
    ("followup_national", followup.national),
]
#: Runs made only when named in ``--only`` (not part of ``make bench``).
ON_REQUEST: list[tuple[str, Callable[[Bench], Awaitable[Any]]]] = [
    ("worker_profile", worker_profile.worker_profile),
    ("quix_alerts", peers.quix_alerts),
]


async def run_all(bench: Bench) -> None:
    """Every run in turn, each bounded by ``--run-timeout`` on top of its own time boxes. A
    run that fails or overruns is recorded under ``failed`` (``complete: false``, the error)
    and the next one starts: an unattended ``make bench`` always ends with its record. Each
    run stops its own processes and servers in ``finally``, which cancellation also runs."""
    r = bench.results
    steps = RUNS
    if bench.args.only:
        wanted = set(bench.args.only.split(","))
        steps = [(n, f) for n, f in [*steps, *ON_REQUEST] if n in wanted]
    if not bench.args.skip_profile and (not bench.args.only or "profile" in bench.args.only):
        steps = [*steps, ("profile", plain_loops.profile)]
    for name, step in steps:
        t0 = time.perf_counter()
        try:
            r[name] = await asyncio.wait_for(step(bench), bench.args.run_timeout)
        except Exception as exc:  # recorded, and the bench goes on with the next run
            overran = time.perf_counter() - t0 >= bench.args.run_timeout - 1
            error = (f"no end after --run-timeout {bench.args.run_timeout:.0f}s"
                     if isinstance(exc, TimeoutError) and overran
                     else f"{type(exc).__name__}: {exc}")
            r.setdefault("failed", {})[name] = {
                "complete": False, "error": error[-2000:],
                "seconds": round(time.perf_counter() - t0)}
            console.print(f"[bold red]{name} failed[/bold red] "
                          f"({time.perf_counter() - t0:.0f}s): {error[-2000:]}")
            continue
        console.print(f"[bold]{name}[/bold] ({time.perf_counter() - t0:.0f}s): {r[name]}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Vigie benchmark on a local Kafka broker")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="~20,000 events, short phases")
    parser.add_argument("--alert-backlog", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2000.0, help="offered rate (latency)")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--alert-rate", type=float, default=10.0)
    parser.add_argument("--alert-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="per throughput run")
    parser.add_argument("--window", type=float, default=60.0,
                        help="time box of each throughput run, from its first output (s)")
    parser.add_argument("--run-timeout", type=float, default=900.0,
                        help="last-resort bound of any one run (s): it is then recorded as "
                        "failed and the bench goes on")
    parser.add_argument("--profile-events", type=int, default=15_000)
    parser.add_argument("--flood-backlog", type=int, default=50_000,
                        help="flood run: incidents the flooding partner pre-publishes (plus "
                        "5 %% alerts, 3 %% malformed, 0.2 %% oversized)")
    parser.add_argument("--flood-own-backlog", type=int, default=5_000,
                        help="flood run: incidents of the well-behaved partner, each phase")
    parser.add_argument("--flood-alert-rate", type=float, default=5.0,
                        help="flood run: the well-behaved partner's urgent alerts per second "
                        "(for --alert-seconds)")
    parser.add_argument("--followup-events", type=int, default=20_000,
                        help="follow-up sink run: incidents (a routed copy and an ack each)")
    parser.add_argument("--national-events", type=int, default=1_000_000,
                        help="follow-up national run: facts over a year")
    parser.add_argument("--national-sites", type=int, default=20_000,
                        help="follow-up national run: residences")
    parser.add_argument("--only", help="comma-separated runs: baseline,rd_baseline,inproc,"
                        "worker_1,quix,kip447,worker_2,latency,gateway,alerts,flood,followup_sink,"
                        "followup_national,profile; on request only: worker_profile, "
                        "quix_alerts (partial "
                        "results, no goals table)")
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--peer-python", help="interpreter with quixstreams for the quix run "
                        f"(default: {PEER_PYTHON.relative_to(ROOT)} if it exists, made by "
                        "make bench from the bench-peer extra; else this one)")
    parser.add_argument("--quix-commit-interval", type=float, default=5.0,
                        help="quix run: its checkpoint interval (quixstreams' default 5 s)")
    parser.add_argument("--kip447-pass-size", type=int, default=256,
                        help="kip447 run: records per pass (one transaction each)")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.peer_python is None and PEER_PYTHON.exists():
        args.peer_python = str(PEER_PYTHON)
    if args.quick:
        args.events = min(args.events, 20_000)
        args.alert_backlog = min(args.alert_backlog, 20_000)
        args.latency_seconds = min(args.latency_seconds, 5.0)
        args.alert_seconds = min(args.alert_seconds, 5.0)
        args.flood_backlog = min(args.flood_backlog, 20_000)
        args.flood_own_backlog = min(args.flood_own_backlog, 2_000)
        args.window = min(args.window, 20.0)
        args.profile_events = min(args.profile_events, 5_000)
        args.followup_events = min(args.followup_events, 5_000)
        args.national_events = min(args.national_events, 100_000)
        args.national_sites = min(args.national_sites, 2_000)
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        if not args.skip_profile:
            console.print("pyinstrument not installed: profile skipped "
                          "(.venv/bin/pip install pyinstrument)")
            args.skip_profile = True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    port, controller = listen_port(), listen_port()
    settings = Settings(broker_port=port, controller_port=controller,
                        bootstrap_servers=f"127.0.0.1:{port}", state_dir=workdir / "kafka",
                        partitions=4, partners=PARTNERS)
    broker = LocalBroker(settings)
    unit_ids = sorted(ReferenceStore.with_defaults().snapshot().units)
    bench = Bench(settings, workdir, args, unit_ids)
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        broker.start()
        console.print(f"broker up on {settings.bootstrap_servers} in "
                      f"{time.perf_counter() - t0:.1f}s ({workdir})")
        asyncio.run(bench.setup())
        asyncio.run(run_all(bench))
    finally:
        broker.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    r = bench.results
    r["peer_python"] = args.peer_python or "this interpreter"
    if args.only:  # partial: the figures its runs allow, and the goals they judge
        record.context(r, load_before)
        r["only"] = args.only
        r["wall_seconds"] = round(time.perf_counter() - started)
        record.derive(r)
        r["goals"] = {name: {"measured": m, "target": t, "met": ok}
                      for name, m, t, ok in verdicts(r)}
        record.write(r, args.json)
        print_tables(r)
        console.print(f"written {args.json} (partial: {args.only})")
        return _failed(r)
    record.headline(r, load_before)
    r["wall_seconds"] = round(time.perf_counter() - started)
    record.write(r, args.json)
    print_tables(r)
    console.print(f"written {args.json} in {r['wall_seconds']}s")
    return _failed(r)


def _failed(r: dict[str, Any]) -> int:
    """Exit status: 1 when a run failed or overran (its error is in the record)."""
    for name, failure in r.get("failed", {}).items():
        console.print(f"[bold red]failed run[/bold red] {name} after {failure['seconds']}s: "
                      f"{failure['error'][:300]}")
    return 1 if r.get("failed") else 0

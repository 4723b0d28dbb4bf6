"""Runs beside Vigie's worker over segment A, each in its own process, counted the same way
(outputs read with ``read_committed``, CPU from /proc of the measured process):

* ``rd_baseline``: the librdkafka (confluent-kafka) raw consume → produce passthrough
  (``bench/rdkafka_loops.py passthrough``). With the aiokafka one (``baseline``), the faster
  of the two is the limit the goals are judged against.
* ``quix``: the peer — Vigie's ``IntakeProcessor`` inside quixstreams, exactly once
  (``bench/peer_quix.py``), its own consumer group at segment A's start. Run with
  ``--peer-python`` (default: ``.vigie/peer-venv``'s when it exists, else this interpreter),
  which must have the ``bench-peer`` extra.
* ``quix_alerts``: the ``alerts`` run (bench/runs/alerts.py) with the peer in the worker's
  place: urgent alerts behind the incident backlog, publish → routed copy committed.
* ``kip447``: the one-transaction-per-pass prototype (``bench/rdkafka_loops.py kip447``):
  the same logic, one transactional librdkafka producer, every partition of a pass in one
  transaction with the group metadata. Not the engine: the lever, measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka.admin import NewTopic

from bench import ROOT
from bench.inproc import PASSTHROUGH_TOPIC
from bench.kafka_io import Offsets, commit_group, count_outputs, end_offsets
from bench.rdkafka_loops import CHANGELOG_TOPIC
from bench.runs.alerts import behind_backlog
from bench.session import PARTNERS, Bench
from bench.throughput import Proc, Sampler, summarize
from vigie.kafka import clients


async def rd_baseline(bench: Bench) -> dict[str, Any]:
    starts = bench.workdir / "starts-rd.json"
    starts.write_text(json.dumps(
        [[tp.topic, tp.partition, off] for tp, off in bench.segment_a.items()]))
    cmd = [sys.executable, "-m", "bench.rdkafka_loops", "passthrough", "--bootstrap",
           bench.bootstrap, "--starts", str(starts), "--count", str(bench.events)]
    return await _measure(bench, cmd, [PASSTHROUGH_TOPIC], exits=True)


async def quix(bench: Bench) -> dict[str, Any]:
    group = f"vigie-bench-quix-{uuid.uuid4().hex[:6]}"
    await commit_group(bench.settings, group, bench.segment_a)
    result = await _measure(bench, quix_command(bench, group), bench.ack_topics(), exits=False)
    result["commit_interval_s"] = bench.args.quix_commit_interval
    return result


def quix_command(bench: Bench, group: str) -> list[str]:
    """The peer (bench/peer_quix.py) as consumer group ``group``, over every partner input
    topic, with the interpreter that has quixstreams."""
    python = bench.args.peer_python or sys.executable
    return [python, "-m", "bench.peer_quix", "--bootstrap", bench.bootstrap, "--group", group,
            "--topics", json.dumps(bench.input_topics()), "--partners", json.dumps(PARTNERS),
            "--state-dir", str(bench.workdir / group),
            "--commit-interval", str(bench.args.quix_commit_interval),
            "--partitions", str(bench.settings.partitions)]


async def quix_alerts(bench: Bench) -> dict[str, Any]:
    """The ``alerts`` run (urgent alerts behind the incident backlog, segment B) with the
    peer in the worker's place: the same offsets, alerts, reader and figures. The peer has
    no urgent lane: quixstreams (3.x) hands the topics of one partition number to the
    application in timestamp order (``internal_consumer/buffering.py``), so a fresh alert
    waits for every older incident of its partition; and its outputs become visible at each
    checkpoint (``--quix-commit-interval``, reported with the result). Alerts not routed
    15 s after the last one make the p99 a lower bound (flagged), as in ``alerts``. On
    request only (``--only quix_alerts``): ~70 s in a quick run (start, 15 s wait, stop)."""
    result = await behind_backlog(bench, start=start_quix, name="quix-alerts")
    result["commit_interval_s"] = bench.args.quix_commit_interval
    return result


async def start_quix(bench: Bench, group: str, timeout: float = 90.0) -> Callable[[], None]:
    """The peer in its own process, ready once it has produced its first output (an ack,
    committed or not: it has its partitions and processes), as the worker's ``/readyz``
    means it owns its partitions. Its outputs are the worker's: acks on the partner ack
    topics, routed copies on the real unit topics."""
    before = await end_offsets(bench.settings, bench.ack_topics())
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'services'}")
    log = bench.workdir / f"{group}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(quix_command(bench, group), env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=err)

    def stop() -> None:
        """SIGTERM (quixstreams closes its application), SIGKILL after 30 s."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    try:
        deadline = time.monotonic() + timeout
        while not outputs_moved(before, await end_offsets(bench.settings, bench.ack_topics())):
            if process.poll() is not None:
                raise RuntimeError(f"peer exited with {process.returncode}:\n"
                                   f"{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"peer produced nothing in {timeout:.0f}s:\n"
                                   f"{log.read_text()[-3000:]}")
            await asyncio.sleep(0.2)
    except BaseException:
        stop()
        raise
    return stop


def outputs_moved(before: Offsets, now: Offsets) -> bool:
    """Whether any partition's end offset went past where it was (a first output)."""
    return any(off > before.get(tp, 0) for tp, off in now.items())


async def kip447(bench: Bench) -> dict[str, Any]:
    admin = clients.admin(bench.settings)
    await admin.start()
    try:
        if CHANGELOG_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(CHANGELOG_TOPIC, bench.settings.partitions, 1)])
    finally:
        await admin.close()
    group = f"vigie-bench-kip447-{uuid.uuid4().hex[:6]}"
    await commit_group(bench.settings, group, bench.segment_a)
    cmd = [sys.executable, "-m", "bench.rdkafka_loops", "kip447", "--bootstrap",
           bench.bootstrap, "--group", group, "--topics", json.dumps(bench.input_topics()),
           "--count", str(bench.events), "--partners", json.dumps(PARTNERS),
           "--pass-size", str(bench.args.kip447_pass_size)]
    return await _measure(bench, cmd, bench.ack_topics(), exits=True)


async def _measure(bench: Bench, cmd: list[str], outputs: list[str], *,
                   exits: bool) -> dict[str, Any]:
    """Run ``cmd``, count its outputs from their current ends; a process that runs until
    stopped (``exits=False``) gets SIGTERM once counted (or time-boxed), and its JSON line
    is read either way."""
    out_starts = await end_offsets(bench.settings, outputs)
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'services'}")
    log = bench.workdir / f"{Path(cmd[2]).name}-{uuid.uuid4().hex[:4]}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    proc = Proc(process.pid)
    report: dict[str, Any] = {}
    died = asyncio.Event()

    async def watch() -> None:
        """A process that dies (or one meant to run until stopped that exits) ends the count
        at once; one that exits 0 after its ``--count`` leaves its outputs to be counted."""
        while process.poll() is None:
            await asyncio.sleep(0.5)
        if process.returncode != 0 or not exits:
            died.set()

    watcher = asyncio.create_task(watch())
    try:
        sample = Sampler([proc])
        counted = await count_outputs(bench.settings, out_starts, bench.events,
                                      timeout=bench.args.timeout, on_progress=sample.progress,
                                      window=bench.args.window, stop=died)
        watcher.cancel()
        peak = proc.peak_rss_mb()
        if not (exits and counted.done):
            process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(process.communicate, timeout=120)
        lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
        if lines:
            report = json.loads(lines[-1])
        elif process.returncode not in (0, -signal.SIGTERM):
            raise RuntimeError(f"{' '.join(cmd[1:3])} failed:\n{log.read_text()[-3000:]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    summary = summarize(counted, sample, peak_rss_mb=peak)
    summary.update({k: v for k, v in report.items() if k not in ("peak_rss_kb",)})
    if report.get("cpu_s") and report.get("done"):
        # The process's own CPU over its whole life (start-up included): an upper bound,
        # and the only figure when it finishes in less than /proc's tick resolution allows
        # the sampler to see (the librdkafka passthrough moves 20,000 events in ~0.1 s).
        summary["cpu_us_per_event_process"] = round(report["cpu_s"] / report["done"] * 1e6, 1)
    return summary

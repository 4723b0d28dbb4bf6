"""Baseline and in-process runs: plain aiokafka loops (bench/inproc.py) over segment A, each
in its own process, so that the worker's figures have a floor and a ceiling to sit between.

* ``baseline``: getmany → send, no decoding: what one Python process with aiokafka can move.
* ``inproc``: the IntakeProcessor in the same loop: the logic without the engine.
* ``profile``: ``inproc`` again under pyinstrument, over fewer events, untimed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.inproc import PASSTHROUGH_TOPIC
from bench.kafka_io import count_outputs, end_offsets
from bench.session import PARTNERS, RESULTS, Bench
from bench.throughput import Proc, Sampler, summarize


async def baseline(bench: Bench) -> dict[str, Any]:
    return await _measure(bench, "passthrough", [PASSTHROUGH_TOPIC])


async def inproc(bench: Bench) -> dict[str, Any]:
    return await _measure(bench, "intake", bench.ack_topics())


async def profile(bench: Bench) -> str:
    """Where the intake's time goes; returns the flat report's path, relative to the repo."""
    prefix = RESULTS / "profile-intake"
    await _measure(bench, "intake", bench.ack_topics(), profile=prefix,
                   count=min(bench.events, bench.args.profile_events))
    return str(prefix.with_suffix(".txt").relative_to(ROOT))


async def _measure(bench: Bench, mode: str, outputs: list[str], profile: Path | None = None,
                   count: int | None = None) -> dict[str, Any]:
    """Run bench.inproc ``mode`` over segment A; count its outputs. A profiled run is not
    time-boxed: the profile must cover its whole ``count``."""
    count = count or bench.events
    starts_file = bench.workdir / f"starts-{mode}.json"
    starts_file.write_text(json.dumps(
        [[tp.topic, tp.partition, off] for tp, off in bench.segment_a.items()]))
    out_starts = await end_offsets(bench.settings, outputs)
    cmd = [sys.executable, "-m", "bench.inproc", mode, "--bootstrap", bench.bootstrap,
           "--starts", str(starts_file), "--count", str(count),
           "--partners", json.dumps(PARTNERS)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'services'}")
    process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    proc = Proc(process.pid)
    try:
        sample = Sampler([proc])
        counted = await count_outputs(bench.settings, out_starts, count,
                                      timeout=bench.args.timeout, on_progress=sample.progress,
                                      window=None if profile else bench.args.window)
        peak = proc.peak_rss_mb()
        if counted.done or profile:
            _out, err = await asyncio.to_thread(process.communicate, timeout=120)
            if process.returncode != 0:
                raise RuntimeError(f"bench.inproc {mode} failed:\n{err.decode()[-3000:]}")
    finally:
        if process.poll() is None:  # time-boxed: stop it
            process.kill()
            process.wait()
    return summarize(counted, sample, peak_rss_mb=peak)

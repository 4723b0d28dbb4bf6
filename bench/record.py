"""bench/results/latest.json: the runs' figures, the headline figures and goals derived from
them, and what a later reader needs to judge them (machine, load, commit, dirty tree)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.goals import verdicts
from bench.report import limit_eps


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_kb = int(first.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def headline(r: dict[str, Any], load_before: tuple[float, float, float]) -> None:
    """Add to ``r`` (every run made) the context and the figures the goals are judged on."""
    context(r, load_before)
    derive(r)
    r["goals"] = {name: {"measured": m, "target": t, "met": ok}
                  for name, m, t, ok in verdicts(r)}


def context(r: dict[str, Any], load_before: tuple[float, float, float]) -> None:
    """What a later reader needs to judge the figures: machine, load, date, commit."""
    r["machine"] = machine()
    r["loadavg_before"] = [round(x, 2) for x in load_before]
    r["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    r["dirty_tree"] = bool(_git("status", "--porcelain", "--", "services"))
    r["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    r["git"] = _git("rev-parse", "--short", "HEAD")


def derive(r: dict[str, Any]) -> None:
    """The figures the goals are judged on, from the runs made (a partial run gets those
    its runs allow). Ratios are against the faster passthrough of the same run."""
    limit = limit_eps(r)
    if "baseline" in r:
        r["baseline_eps"] = r["baseline"]["eps"]
    if "rd_baseline" in r:
        r["rd_baseline_eps"] = r["rd_baseline"]["eps"]
    r["passthrough_limit_eps"] = limit
    if "worker_1" in r:
        r["pipeline_eps"] = r["worker_1"]["eps"]
        r["ratio"] = round(r["pipeline_eps"] / max(1, limit), 3)
        r["cpu_us_per_event"] = r["worker_1"]["cpu_us_per_event"]
        r["peak_rss_mb"] = r["worker_1"]["peak_rss_mb"]
    if "inproc" in r:
        r["inproc_eps"] = r["inproc"]["eps"]
        r["inproc_ratio"] = round(r["inproc_eps"] / max(1, limit), 3)
    if "quix" in r:
        r["quix_ratio"] = round(r["quix"]["eps"] / max(1, limit), 3)
    if "latency" in r:
        r["p99_ms"] = r["latency"]["p99_ms"]
    if "alerts" in r:
        r["alert_p99_ms"] = r["alerts"]["p99_ms"]
    if "quix_alerts" in r:
        r["quix_alert_p99_ms"] = r["quix_alerts"]["p99_ms"]
    if "flood" in r:
        r["flood_alert_p99_ratio"] = r["flood"]["p99_ratio"]
    if "worker_1" in r and "worker_2" in r:
        # Steady windows (after the first 10 % of outputs) so the 2-worker join rebalance
        # does not count as lack of scaling; both full-window figures are in worker_1/2.
        r["scale_2_workers"] = round(
            r["worker_2"]["eps_steady"] / max(1, r["worker_1"]["eps_steady"]), 2)


def write(r: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(r), indent=2, ensure_ascii=False) + "\n")


def jsonable(value: Any) -> Any:
    """NaN and infinities as null: strict JSON for whoever reads latest.json."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()

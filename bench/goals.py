"""The targets the bench is held to, and the verdict on each (the Goals table, and
``goals`` in latest.json)."""

from __future__ import annotations

from typing import Any

GOALS = {
    "ratio": 0.50,            # pipeline >= 50 % of the baseline
    "pipeline_eps": 10_000,   # per worker
    "p99_ms": 100.0,          # at 2,000 events/s
    "alert_p99_ms": 250.0,    # behind a 100,000-incident backlog
    "scale_2_workers": 1.8,
}


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    fl = r["flood"]["flood"]
    bad = fl["bad"]
    return [
        ("pipeline / baseline", f"{r['ratio']:.2f}", f">= {GOALS['ratio']:.2f}",
         r["ratio"] >= GOALS["ratio"]),
        ("events/s per worker", f"{r['pipeline_eps']:,}", f">= {GOALS['pipeline_eps']:,}",
         r["pipeline_eps"] >= GOALS["pipeline_eps"]),
        (f"p99 at {r['latency']['offered_eps']:.0f}/s", f"{r['p99_ms']:.0f} ms",
         f"<= {GOALS['p99_ms']:.0f} ms", r["p99_ms"] <= GOALS["p99_ms"]),
        (f"alert p99 behind {r['alerts']['backlog']:,}", f"{r['alert_p99_ms']:.0f} ms",
         f"<= {GOALS['alert_p99_ms']:.0f} ms", r["alert_p99_ms"] <= GOALS["alert_p99_ms"]),
        ("alert p99 while another partner floods", f"{fl['p99_ms']:.0f} ms",
         f"<= {GOALS['alert_p99_ms']:.0f} ms", fl["p99_ms"] <= GOALS["alert_p99_ms"]),
        ("flood: oversized/malformed rejected", f"{bad['handled']:,} / {bad['sent']:,}",
         "all", bad["handled"] == bad["sent"]),
        ("2 workers / 1", f"{r['scale_2_workers']:.2f}x", f">= {GOALS['scale_2_workers']}x",
         r["scale_2_workers"] >= GOALS["scale_2_workers"]),
    ]

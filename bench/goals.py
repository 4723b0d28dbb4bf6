"""The targets the bench is held to (issue 16), and the verdict on each (the Goals table, and
``goals`` in latest.json). Each verdict that is missed says by how much in ``measured``."""

from __future__ import annotations

from typing import Any

GOALS = {
    "ratio": 0.50,              # worker >= 50 % of the faster raw passthrough, same run
    "cpu_us_per_event": 100.0,  # in the worker
    "pipeline_eps": 10_000,     # per worker
    "p99_ms": 100.0,            # sent -> routed at 2,000 events/s offered
    "alert_p99_ms": 100.0,      # behind an incident backlog (100,000 in a full run)
    "flood_p99_ratio": 1.5,     # well-behaved partner's alert p99, flood / alone
    "scale_2_workers": 1.8,
}


def _missed(measured: float, target: float, higher_is_better: bool) -> str:
    if higher_is_better:
        return "" if measured >= target else f" (missed: ×{target / max(measured, 1e-9):.1f})"
    return "" if measured <= target else f" (missed: ×{measured / max(target, 1e-9):.1f})"


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    out: list[tuple[str, str, str, bool]] = []

    def add(name: str, measured: float, shown: str, target: float, target_shown: str,
            higher_is_better: bool) -> None:
        ok = measured >= target if higher_is_better else measured <= target
        out.append((name, shown + _missed(measured, target, higher_is_better), target_shown,
                    ok))

    if "ratio" in r:
        add("worker / fastest passthrough", r["ratio"], f"{r['ratio']:.3f}", GOALS["ratio"],
            f">= {GOALS['ratio']:.2f}", True)
    if "cpu_us_per_event" in r:
        cpu = r["cpu_us_per_event"]
        add("CPU µs per event in the worker", cpu, f"{cpu:.0f} µs",
            GOALS["cpu_us_per_event"], f"<= {GOALS['cpu_us_per_event']:.0f} µs", False)
    if "pipeline_eps" in r:
        add("events/s per worker", r["pipeline_eps"], f"{r['pipeline_eps']:,}",
            GOALS["pipeline_eps"], f">= {GOALS['pipeline_eps']:,}", True)
    if "latency" in r:
        add(f"p99 at {r['latency']['offered_eps']:.0f}/s", r["p99_ms"],
            f"{r['p99_ms']:.0f} ms", GOALS["p99_ms"], f"<= {GOALS['p99_ms']:.0f} ms", False)
    if "alerts" in r:
        add(f"alert p99 behind {r['alerts']['backlog']:,}", r["alert_p99_ms"],
            f"{r['alert_p99_ms']:.0f} ms", GOALS["alert_p99_ms"],
            f"<= {GOALS['alert_p99_ms']:.0f} ms", False)
    if "flood" in r:
        fl = r["flood"]
        add("alert p99 while another partner floods / alone", fl["p99_ratio"],
            f"{fl['p99_ratio']:.2f}x ({fl['flood']['p99_ms']:.0f} ms)",
            GOALS["flood_p99_ratio"], f"<= {GOALS['flood_p99_ratio']}x", False)
        bad = fl["flood"]["bad"]
        out.append(("flood: oversized/malformed rejected",
                    f"{bad['handled']:,} / {bad['sent']:,}", "all",
                    bad["handled"] == bad["sent"]))
    if "scale_2_workers" in r:
        add("2 workers / 1", r["scale_2_workers"], f"{r['scale_2_workers']:.2f}x",
            GOALS["scale_2_workers"], f">= {GOALS['scale_2_workers']}x", True)
    if "quix" in r and "worker_1" in r:
        q, w = r["quix"], r["worker_1"]
        add("worker / quixstreams peer, events/s", w["eps"] / max(q["eps"], 1),
            f"{w['eps']:,} / {q['eps']:,}", 1.0, "> 1 (ahead)", True)
        add("quixstreams peer / worker, CPU µs/event",
            q["cpu_us_per_event"] / max(w["cpu_us_per_event"], 1e-9),
            f"{q['cpu_us_per_event']:.0f} / {w['cpu_us_per_event']:.0f} µs", 1.0,
            "> 1 (worker cheaper)", True)
    if "quix_alerts" in r and "alerts" in r:
        q, w = r["quix_alerts"], r["alerts"]
        add("quixstreams peer / worker, alert p99", alert_p99_ratio(q, w),
            f"{'≥ ' if q.get('p99_lower_bound') else ''}{q['p99_ms']:.0f} / "
            f"{w['p99_ms']:.0f} ms", 1.0, "> 1 (worker lower)", True)
    return out


def alert_p99_ratio(peer: dict[str, Any], worker: dict[str, Any]) -> float:
    """The peer's urgent-alert p99 over the worker's, same backlog and alerts: above 1 when
    the worker's is lower. A peer p99 flagged as a lower bound (alerts never routed) keeps
    the ratio a lower bound; a missing figure (NaN, null) gives 0, never a goal met."""
    p, w = peer.get("p99_ms"), worker.get("p99_ms")
    if p is None or w is None or p != p or w != w:
        return 0.0
    return float(p) / max(float(w), 1e-9)

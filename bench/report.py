"""Markdown tables of a benchmark result, for docs/performance.md.

``python -m bench.report [bench/results/latest.json]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"Run of {r['date']} on commit `{r['git']}`"
        f"{' (services/ had uncommitted changes)' if r.get('dirty_tree') else ''}: "
        f"{m['nproc']} CPU ({m['cpu_model']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"load average {r['loadavg_before'][0]} before / {r['loadavg_after'][0]} after; "
        f"{r['events']:,} events of {r['avg_message_bytes']} bytes on average; "
        f"wall time {r['wall_seconds']} s.",
        "",
        "| run | events/s | steady events/s | CPU µs/event | 1-core capacity/s "
        "| peak RSS MB | outputs counted | complete |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, key in (("baseline: aiokafka passthrough", "baseline"),
                      ("in-process IntakeProcessor (aiokafka loop)", "inproc"),
                      ("faust worker ×1", "worker_1"),
                      ("faust workers ×2", "worker_2")):
        s = r[key]
        lines.append(
            f"| {name} | {s['eps']:,} | {s['eps_steady']:,} | {s['cpu_us_per_event']:,.0f} | "
            f"{s.get('cpu_capacity_eps', 0):,} | {s['peak_rss_mb']:.0f} | "
            f"{s['outputs_counted']:,} | {'yes' if s['complete'] else 'no (time box)'} |"
        )
    lat, al = r["latency"], r["alerts"]
    lb = " (lower bound)"
    lines += [
        "",
        "| latency run | p50 ms | p95 ms | p99 ms | max ms | routed / sent |",
        "|---|---:|---:|---:|---:|---|",
        f"| {lat['offered_eps']:,.0f} events/s offered for the run | {lat['p50_ms']} | "
        f"{lat['p95_ms']} | {lat['p99_ms']}{lb if lat.get('p99_lower_bound') else ''} | "
        f"{lat['max_ms']} | {lat['routed']:,} / {lat['sent']:,} |",
        f"| urgent alerts behind {al['backlog']:,} incidents | {al['p50_ms']} | | "
        f"{al['p99_ms']}{lb if al.get('p99_lower_bound') else ''} | {al['max_ms']} | "
        f"{al['alerts_routed']} / {al['alerts_sent']} (backlog left: "
        f"{al['backlog_left_at_end']:,}) |",
        "",
        "| goal | measured | target | met |",
        "|---|---|---|---|",
    ]
    for name, g in r["goals"].items():
        lines.append(f"| {name} | {g['measured']} | {g['target']} | "
                     f"{'yes' if g['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0]) if args else ROOT / "bench" / "results" / "latest.json"
    print(markdown(json.loads(path.read_text())), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

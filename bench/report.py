"""Markdown tables of a benchmark result, for docs/performance.md.

``python -m bench.report [bench/results/latest.json]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
THROUGHPUT_RUNS = (("baseline: aiokafka passthrough", "baseline"),
                   ("baseline: librdkafka passthrough", "rd_baseline"),
                   ("in-process IntakeProcessor (no engine)", "inproc"),
                   ("worker ×1 (transactional engine)", "worker_1"),
                   ("workers ×2", "worker_2"),
                   ("peer: IntakeProcessor in quixstreams, exactly-once", "quix"),
                   ("prototype: librdkafka, one transaction per pass (KIP-447)", "kip447"))


def limit_eps(r: dict[str, Any]) -> int:
    """The faster of the two raw passthroughs of the run: what the goals compare with."""
    return max(r.get(k, {}).get("eps", 0) for k in ("baseline", "rd_baseline"))


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
        "| run | events/s | / fastest passthrough | steady events/s | CPU µs/event "
        "| 1-core capacity/s "
        "| peak RSS MB | outputs counted | complete |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    base = limit_eps(r)
    for name, key in THROUGHPUT_RUNS:
        if key not in r:
            continue
        s = r[key]
        lines.append(
            f"| {name} | {s['eps']:,} | {s['eps'] / max(1, base):.3f} | {s['eps_steady']:,} | "
            f"{s['cpu_us_per_event']:,.0f} | "
            f"{s.get('cpu_capacity_eps', 0):,} | {s['peak_rss_mb']:.0f} | "
            f"{s['outputs_counted']:,} | {'yes' if s['complete'] else 'no (time box)'} |"
        )
    lat, al = r["latency"], r["alerts"]
    lb = " (lower bound)"
    lines += [
        "",
        "Latency = publish → routed copy read by a `read_committed` consumer (its transaction "
        "committed); in brackets, by the copy's record timestamp (the worker's send).",
        "",
        "| latency run | p50 ms | p95 ms | p99 ms | max ms | routed / sent |",
        "|---|---:|---:|---:|---:|---|",
        f"| {lat['offered_eps']:,.0f} events/s offered for the run | {lat['p50_ms']} "
        f"({lat['p50_created_ms']}) | {lat['p95_ms']} | {lat['p99_ms']}"
        f"{lb if lat.get('p99_lower_bound') else ''} ({lat['p99_created_ms']}) | "
        f"{lat['max_ms']} | {lat['routed']:,} / {lat['sent']:,} |",
        f"| urgent alerts behind {al['backlog']:,} incidents | {al['p50_ms']} "
        f"({al['p50_created_ms']}) | {al['p95_ms']} | "
        f"{al['p99_ms']}{lb if al.get('p99_lower_bound') else ''} ({al['p99_created_ms']}) | "
        f"{al['max_ms']} | {al['alerts_routed']} / {al['alerts_sent']} (backlog left: "
        f"{al['backlog_left_at_end']:,}) |",
        *quix_alert_lines(r),
        "",
        *flood_lines(r["flood"]),
        "",
        "| goal | measured | target | met |",
        "|---|---|---|---|",
    ]
    for name, g in r["goals"].items():
        lines.append(f"| {name} | {g['measured']} | {g['target']} | "
                     f"{'yes' if g['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def quix_alert_lines(r: dict[str, Any]) -> list[str]:
    """The ``alerts`` row again for the quixstreams peer, when the run was made."""
    if "quix_alerts" not in r:
        return []
    qa = r["quix_alerts"]
    lb = " (lower bound)" if qa.get("p99_lower_bound") else ""
    return [
        f"| the same, in the quixstreams peer (checkpoint every {qa['commit_interval_s']:g} s) "
        f"| {qa['p50_ms']} ({qa['p50_created_ms']}) | {qa['p95_ms']} | {qa['p99_ms']}{lb} "
        f"({qa['p99_created_ms']}) | {qa['max_ms']} | {qa['alerts_routed']} / "
        f"{qa['alerts_sent']} (backlog left: {qa['backlog_left_at_end']:,}) |",
    ]


def flood_lines(f: dict[str, Any]) -> list[str]:
    q, fl = f["quiet"], f["flood"]
    bad = fl["bad"]
    lb = " (lower bound)"
    rows = [
        f"| {f['partner']}'s urgent alerts ({f['alert_rate']:g}/s), {f['partner']}'s "
        f"{q['own_incidents']:,} incidents | alone | {q['p50_ms']} | "
        f"{q['p99_ms']}{lb if q['p99_lower_bound'] else ''} | {q['max_ms']} | "
        f"{q['alerts_routed']} / {q['alerts_sent']} | {q['own_incidents_eps']:,} | |",
        f"| the same | {f['flooding_partner']} floods: {fl['flood_messages']:,} messages | "
        f"{fl['p50_ms']} | {fl['p99_ms']}{lb if fl['p99_lower_bound'] else ''} | "
        f"{fl['max_ms']} | {fl['alerts_routed']} / {fl['alerts_sent']} | "
        f"{fl['own_incidents_eps']:,} | {fl['flood_left_at_window_end']:,} |",
        f"| flood / alone | | {f['p50_ratio']}× | {f['p99_ratio']}× | | | "
        f"{f['own_incidents_eps_ratio']}× | |",
    ]
    return [
        "| flood run | other partner | alert p50 ms | alert p99 ms | max ms | routed / sent "
        "| own incidents/s | flood left at window end |",
        "|---|---|---:|---:|---:|---|---:|---:|",
        *rows,
        "",
        f"Flood's bad messages: {bad['sent']:,} ({bad['oversized']} oversized of "
        f"{' / '.join(str(k) for k in bad['oversized_kib'])} KiB, {bad['malformed']} "
        f"malformed); {bad['handled']:,} rejected "
        f"({bad['rejected_ack']:,} REJECTED acks, {bad['reason_as_expected']:,} with the "
        f"expected reason code; {bad['dead_lettered']:,} also dead-lettered).",
    ]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0]) if args else ROOT / "bench" / "results" / "latest.json"
    print(markdown(json.loads(path.read_text())), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

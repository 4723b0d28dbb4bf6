"""The console report of a bench run; with ``--only``, the tables of the runs made
(bench/report.py renders the same figures as Markdown for docs/performance.md)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from bench.goals import verdicts
from bench.report import THROUGHPUT_RUNS, limit_eps
from bench.session import console
from vigie.broker.version import kafka_version


def print_tables(r: dict[str, Any]) -> None:
    m = r["machine"]
    if any(key in r for _, key in THROUGHPUT_RUNS):
        table = Table(title=f"Vigie on Kafka {kafka_version()} — {r.get('events', 0):,} events, "
                            f"{m['nproc']} CPU ({m['cpu_model']}), {m['ram_gb']} GB")
        for col in ("run", "events/s", "steady/s", "CPU µs/event", "1-core capacity/s",
                    "peak RSS MB", "seconds", "/ fastest passthrough"):
            table.add_column(col, justify="right" if col != "run" else "left")
        base = limit_eps(r)
        for name, key in THROUGHPUT_RUNS:
            if key not in r:
                continue
            s = r[key]
            table.add_row(name, f"{s['eps']:,}", f"{s['eps_steady']:,}",
                          f"{s['cpu_us_per_event']:.0f}", f"{s.get('cpu_capacity_eps', 0):,}",
                          f"{s['peak_rss_mb']:.0f}", f"{s['seconds']:.1f}",
                          f"{s['eps'] / base:.3f}" if base else "")
        console.print(table)
    if "latency" in r or "alerts" in r or "quix_alerts" in r:
        print_latency(r)
    if "flood" in r:
        print_flood(r["flood"])
    if "gateway" in r:
        print_gateway(r["gateway"])
    if "goals" in r:
        t3 = Table(title="Goals")
        for col in ("goal", "measured", "target", "met"):
            t3.add_column(col)
        for name, measured, target, ok in verdicts(r):
            t3.add_row(name, measured, target, "yes" if ok else "[red]NO[/red]")
        console.print(t3)


def print_latency(r: dict[str, Any]) -> None:
    t2 = Table(title="Latency: sent → routed copy committed (read_committed consumer)")
    for col in ("run", "p50 ms", "p95 ms", "p99 ms", "max ms", "note"):
        t2.add_column(col, justify="right" if col != "run" else "left")
    rows: list[tuple[str, dict[str, Any], str]] = []
    if "latency" in r:
        lat = r["latency"]
        rows.append((f"{lat['offered_eps']:.0f} events/s offered", lat,
                     f"{lat['routed']}/{lat['sent']} routed; p99 by record timestamp "
                     f"{lat['p99_created_ms']}"))
    if "alerts" in r:
        al = r["alerts"]
        rows.append((f"alerts behind {al['backlog']:,} incidents", al,
                     f"{al['alerts_routed']}/{al['alerts_sent']} routed; "
                     f"backlog left {al['backlog_left_at_end']:,}"))
    if "quix_alerts" in r:
        qa = r["quix_alerts"]
        rows.append((f"peer (quixstreams): alerts behind {qa['backlog']:,} incidents", qa,
                     f"{qa['alerts_routed']}/{qa['alerts_sent']} routed; "
                     f"backlog left {qa['backlog_left_at_end']:,}; checkpoint every "
                     f"{qa['commit_interval_s']:g} s"))
    for name, run, note in rows:
        t2.add_row(name, *(f"{run[k]}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")), note)
    console.print(t2)


def print_flood(f: dict[str, Any]) -> None:
    t = Table(title=f"Flood: {f['partner']}'s urgent alerts ({f['alert_rate']:g}/s), "
                    f"alone, then while {f['flooding_partner']} floods its topics")
    for col in ("phase", "p50 ms", "p99 ms", "max ms", "alerts routed",
                f"{f['partner']} incidents/s", "flood left at window end"):
        t.add_column(col, justify="right" if col != "phase" else "left")
    for name in ("quiet", "flood"):
        ph = f[name]
        flood_left = (f"{ph['flood_left_at_window_end']:,} / {ph['flood_messages']:,}"
                      if "flood_messages" in ph else "")
        t.add_row(name, f"{ph['p50_ms']}", f"{ph['p99_ms']}"
                  f"{' (lower bound)' if ph['p99_lower_bound'] else ''}", f"{ph['max_ms']}",
                  f"{ph['alerts_routed']}/{ph['alerts_sent']}",
                  f"{ph['own_incidents_eps']:,} ({ph['own_incidents_acked']:,} acked)",
                  flood_left)
    t.add_row("flood / quiet", f"{f['p50_ratio']}x", f"{f['p99_ratio']}x", "", "",
              f"{f['own_incidents_eps_ratio']}x", "")
    console.print(t)
    bad = f["flood"]["bad"]
    console.print(f"flood's bad messages: {bad['sent']:,} ({bad['oversized']} oversized, "
                  f"{bad['malformed']} malformed): {bad['handled']:,} rejected "
                  f"({bad['rejected_ack']:,} REJECTED acks, {bad['reason_as_expected']:,} "
                  f"with the expected reason; {bad['dead_lettered']:,} dead letters)")


def print_gateway(g: dict[str, Any]) -> None:
    """The partner gateway beside the Kafka path (bench/runs/gateway.py)."""
    table = Table(title=f"Partner gateway vs Kafka ({g['concurrency']} single POSTs in flight, "
                        f"batches of {g['batch']} x {g['batch_concurrency']})")
    for col in ("path", "requests/s", "events/s", "request p50 ms", "request p99 ms",
                "routed p50 ms", "routed p99 ms"):
        table.add_column(col, justify="right" if col != "path" else "left")
    for name in ("kafka", "http_single", "http_batch"):
        if name in g:
            s = g[name]
            table.add_row(name, f"{s['requests_per_s']:,}", f"{s['events_per_s']:,}",
                          f"{s['request_p50_ms']}", f"{s['request_p99_ms']}",
                          f"{s['routed_p50_ms']}", f"{s['routed_p99_ms']}"
                          + (" (≥)" if s["routed_p99_lower_bound"] else ""))
    console.print(table)

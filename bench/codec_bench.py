"""Codec throughput vs plain fastavro, single core: ``python bench/codec_bench.py [--json F]``.

Why compare with plain fastavro: fastavro's Cython reader/writer is the floor we build on;
the ratio shows what our framing, fingerprint lookup, size checks and pydantic mapping cost
on top. Same PartnerEvent records on both sides (latest schema, no resolution), plus the
v1 -> v2 resolution path that old partners trigger.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))

import fastavro

from vigie.contracts.codec import codec_for, decode, encode
from vigie.contracts.enums import Category, ReporterRole, Urgency
from vigie.contracts.mapping import to_avro
from vigie.contracts.models import Address, Coordinates, Location, PartnerEvent
from vigie.contracts.schemas import get_registry


def records(n: int) -> list[PartnerEvent]:
    """Realistic, varied events (deterministic)."""
    base = datetime(2025, 3, 14, 21, 0, tzinfo=UTC)
    categories = list(Category)
    out = []
    for i in range(n):
        out.append(
            PartnerEvent(
                event_id=str(uuid.UUID(int=i * 7919 + 1, version=4)),
                partner_id="oise-habitat",
                sent_at=base + timedelta(seconds=i),
                occurred_at=base + timedelta(seconds=i - 300),
                category=categories[i % len(categories)],
                urgency=Urgency.IMMEDIATE if i % 3 == 0 else Urgency.UNKNOWN,
                site_id=f"OH-{i % 500:04d}",
                location=Location(
                    coordinates=Coordinates(lat=49.3 + i % 100 / 1000, lon=2.1),
                    address=Address(street=f"{i % 90} rue de Paris", postcode="60000"),
                ),
                description="Dégradation des boîtes aux lettres, hall B. " * (1 + i % 4),
                expires_at=base + timedelta(hours=6),
                source_system="ikos 4.2",
                reporter_role=ReporterRole.CARETAKER,
            )
        )
    return out


def rate(fn: Callable[[], Any], n: int, seconds: float) -> float:
    """Best-of-repeats operations per second (``fn`` does ``n`` operations)."""
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
        if time.perf_counter() > deadline:
            return n / best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args(argv)

    events = records(args.records)
    n = len(events)
    latest = get_registry().latest("partner_event").parsed
    v1 = get_registry().version("partner_event", 1).parsed
    dicts = [to_avro(e) for e in events]
    bodies = []
    for d in dicts:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, latest, d)
        bodies.append(buf.getvalue())
    ours = [encode(e) for e in events]
    ours_v1 = [encode(e, version=1) for e in events]
    bodies_v1 = [m[10:] for m in ours_v1]
    codec = codec_for(PartnerEvent)

    def fa_write() -> None:
        for d in dicts:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, latest, d)

    def fa_read() -> None:
        for b in bodies:
            fastavro.schemaless_reader(io.BytesIO(b), latest, None)

    def fa_read_v1() -> None:
        for b in bodies_v1:
            fastavro.schemaless_reader(io.BytesIO(b), v1, latest)

    def our_encode() -> None:
        for e in events:
            encode(e)

    def our_decode() -> None:
        for m in ours:
            decode(m, PartnerEvent)

    def our_decode_v1() -> None:
        for m in ours_v1:
            codec.decode(m)

    figures = {
        "encode": (rate(our_encode, n, args.seconds), rate(fa_write, n, args.seconds)),
        "decode": (rate(our_decode, n, args.seconds), rate(fa_read, n, args.seconds)),
        "decode v1->v2": (rate(our_decode_v1, n, args.seconds), rate(fa_read_v1, n, args.seconds)),
    }
    avg_size = sum(map(len, ours)) / n
    version = platform.python_version()
    print(f"PartnerEvent, {n} records, avg {avg_size:.0f} bytes, Python {version}")
    print(f"{'operation':<15} {'vigie codec/s':>14} {'fastavro/s':>12} {'ratio':>7}")
    result: dict[str, Any] = {"records": n, "avg_bytes": round(avg_size), "results": {}}
    for name, (mine, floor) in figures.items():
        print(f"{name:<15} {mine:>14,.0f} {floor:>12,.0f} {mine / floor:>7.2f}")
        result["results"][name] = {
            "vigie_per_s": round(mine),
            "fastavro_per_s": round(floor),
            "ratio": round(mine / floor, 3),
        }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()

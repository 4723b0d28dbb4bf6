"""Measure the routing policy alone: decisions per second per core, per locating method.

Why: the router must keep up with bursts without the policy being the bottleneck (target
>= 50,000 decisions/s per core for site-located events). No broker, no codec: only
``decide(event, snapshot, context)`` on pre-built events, with the routing rules on (service
hours, holidays, availability, overflow: every decision runs the rule chain). The
``alerts_night`` set is the rules' worst common case: urgent alerts at 02:00 on a Sunday,
every gendarmerie one diverted through its compagnie to the CORG; ``alerts_day`` the same
alerts in service hours, with a load of open alerts per unit (overflow checked).

Usage: ``PYTHONPATH=services python bench/policy_bench.py [--seconds 1.0] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from vigie.contracts.enums import Category  # noqa: E402
from vigie.contracts.models import Address, Coordinates, Location, PartnerEvent  # noqa: E402
from vigie.reference.snapshot import ReferenceSnapshot, ReferenceStore  # noqa: E402
from vigie.routing.chain import RoutingContext  # noqa: E402
from vigie.routing.policy import decide  # noqa: E402

TARGET_SITE_PER_S = 50_000


SENT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
#: When each set is decided: a Monday morning, and the night of issue 15.
CONTEXTS = {
    "site": RoutingContext(at=SENT),
    "coordinates": RoutingContext(at=SENT),
    "insee": RoutingContext(at=SENT),
    "alerts_day": RoutingContext(at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
                                 open_alerts={"gn-bt-meru": 1, "pn-csp-creil": 2}),
    "alerts_night": RoutingContext(at=datetime(2026, 11, 29, 1, 0, tzinfo=UTC)),
}


def make_events(ref: ReferenceSnapshot) -> dict[str, list[PartnerEvent]]:
    """One event per sample site for each method, so lookups vary across communes."""
    sent = SENT
    events: dict[str, list[PartnerEvent]] = {"site": [], "coordinates": [], "insee": [],
                                             "alerts_day": [], "alerts_night": []}
    for i, site in enumerate(sorted(ref.sites.values(), key=lambda s: s.site_id)):
        common = {
            "event_id": f"00000000-0000-4000-8000-{i:012d}",
            "partner_id": site.partner_id,
            "sent_at": sent,
            "occurred_at": sent,
            "category": Category.DAMAGE,
        }
        events["site"].append(PartnerEvent(site_id=site.site_id, **common))
        events["coordinates"].append(
            PartnerEvent(
                location=Location(coordinates=Coordinates(lat=site.lat, lon=site.lon)),
                **common,
            )
        )
        events["insee"].append(
            PartnerEvent(location=Location(address=Address(insee_code=site.insee_code)), **common)
        )
        alert = PartnerEvent(site_id=site.site_id, **{**common,
                                                      "category": Category.STAFF_THREAT})
        events["alerts_day"].append(alert)
        events["alerts_night"].append(alert)
    return events


def measure(events: list[PartnerEvent], ref: ReferenceSnapshot, seconds: float,
            context: RoutingContext | None = None) -> float:
    """Decisions per second over at least ``seconds`` of wall time (after a warm-up)."""
    for event in events:
        decide(event, ref, context)
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for event in events:
            decide(event, ref, context)
        done += len(events)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="routing policy decisions per second")
    parser.add_argument("--seconds", type=float, default=1.0, help="duration per method")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    store = ReferenceStore.with_sample_sites()
    ref = store.snapshot()
    results = {}
    for method, events in make_events(ref).items():
        rate = measure(events, ref, args.seconds, CONTEXTS[method])
        results[method] = round(rate)
        print(f"{method:12} {rate:>10,.0f} decisions/s")
    # The store hands out the same snapshot until something changes: measure that too.
    start = time.perf_counter()
    for _ in range(100_000):
        store.snapshot()
    snapshot_ns = (time.perf_counter() - start) / 100_000 * 1e9
    print(f"{'snapshot()':12} {snapshot_ns:>10,.0f} ns/call (unchanged store)")
    ok = min(results["site"], results["alerts_night"]) >= TARGET_SITE_PER_S
    print(f"target site (and alerts at night) >= {TARGET_SITE_PER_S:,}/s: "
          f"{'met' if ok else 'NOT met'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "bench": "policy",
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "decisions_per_s": results,
                    "snapshot_ns": round(snapshot_ns),
                    "target_site_per_s": TARGET_SITE_PER_S,
                    "target_met": ok,
                    "reference_versions": dict(ref.versions),
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

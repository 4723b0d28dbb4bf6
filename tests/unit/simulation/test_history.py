"""The simulated past: routed by the real policy, facts only, hotspots where they were put."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from vigie.contracts.enums import AckStatus
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.simulation.history import generate

END = datetime(2026, 11, 29, tzinfo=UTC)


def test_half_a_year_of_the_sample_sites_with_three_hotspots() -> None:
    sites = load_sample_sites()
    ref = ReferenceStore.with_sample_sites().snapshot()
    history = generate(sites, ref, end=END, weeks=26, seed=26)
    again = generate(sites, ref, end=END, weeks=26, seed=26)
    assert [r.event_id for r in history.routed] == [r.event_id for r in again.routed]
    assert 1000 < len(history.routed) < 4000 and len(history.hotspots) == 3
    assert all(r.occurred_at < END for r in history.routed)
    per_site = Counter(r.site_id for r in history.routed)
    typical = sorted(per_site.values())[len(per_site) // 2]
    for spike in history.hotspots:  # a hotspot residence reports well above the median
        assert per_site[spike.site_id] > typical
    # Every incident has its ROUTED acknowledgement; statuses refer to stored incidents.
    ids = {r.event_id for r in history.routed}
    routed_acks = {a.event_id for a in history.acks if a.status == AckStatus.ROUTED.value}
    assert routed_acks == ids and {a.event_id for a in history.acks} <= ids


def test_the_history_is_routed_by_the_policy() -> None:
    sites = load_sample_sites()[:5]
    ref = ReferenceStore.with_sample_sites().snapshot()
    history = generate(sites, ref, end=END, weeks=4, seed=3, hotspots=0)
    assert history.routed and not history.hotspots
    for row in history.routed:
        site = ref.sites[row.site_id or ""]
        assert row.insee_code == site.insee_code
        assert row.method == "SITE" and row.units  # placed by the site, routed to a unit

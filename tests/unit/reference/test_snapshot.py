"""ReferenceStore and ReferenceSnapshot: cheap snapshots, isolation, content versions."""

from __future__ import annotations

from datetime import date

from vigie.contracts.enums import Force
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore

SITES = load_sample_sites()


def test_defaults_have_no_sites_and_a_version_per_part() -> None:
    snap = ReferenceStore.with_defaults().snapshot()
    assert set(snap.versions) == {"communes", "competence", "units", "sites", "rules",
                                  "availability"}
    assert len(snap.sites) == 0
    assert len(snap.rules) == len(snap.units) and len(snap.availability) == 0
    assert len(snap.competence) == 680
    assert snap.command_centres == {Force.PN: "pn-cic-oise", Force.GN: "gn-corg-oise"}
    assert snap.problems() == []


def test_snapshot_is_reused_until_something_changes() -> None:
    store = ReferenceStore.with_defaults()
    first = store.snapshot()
    assert store.snapshot() is first
    store.upsert_site(SITES[0])
    second = store.snapshot()
    assert second is not first
    assert second.versions["sites"] != first.versions["sites"]
    assert second.versions["units"] == first.versions["units"]
    store.upsert_site(SITES[0])  # same content: no change
    assert store.snapshot() is second


def test_old_snapshots_do_not_see_later_changes() -> None:
    store = ReferenceStore.with_defaults(sites=SITES[:2])
    before = store.snapshot()
    store.upsert_site(SITES[2])
    store.delete_site(SITES[0].site_id)
    after = store.snapshot()
    assert set(before.sites) == {SITES[0].site_id, SITES[1].site_id}
    assert set(after.sites) == {SITES[1].site_id, SITES[2].site_id}
    assert store.delete_site("no-such-site") is False


def test_versions_depend_on_content_not_on_update_order() -> None:
    a = ReferenceStore.with_defaults(sites=SITES)
    b = ReferenceStore.with_defaults(sites=reversed(SITES))
    assert a.snapshot().versions == b.snapshot().versions
    b.delete_site(SITES[0].site_id)
    b.upsert_site(SITES[0])
    assert a.snapshot().versions == b.snapshot().versions


def test_competence_upsert_keeps_other_effective_dates() -> None:
    store = ReferenceStore.with_defaults()
    before = store.snapshot()
    current = before.competent("60139", date(2026, 1, 1))
    assert current is not None and current.unit_id == "gn-bt-chambly"
    planned = current.model_copy(
        update={"effective_from": date(2030, 1, 1), "unit_id": "gn-bt-meru", "version": "plan"}
    )
    store.upsert_competence(planned)
    after = store.snapshot()
    assert after.versions["competence"] != before.versions["competence"]
    assert after.competent("60139", date(2026, 1, 1)) == current
    assert after.competent("60139", date(2030, 1, 2)) == planned
    assert before.competent("60139", date(2030, 1, 2)) == current


def test_unit_upsert_renames_without_touching_other_parts() -> None:
    store = ReferenceStore.with_defaults()
    before = store.snapshot()
    unit = before.units["pn-csp-creil"].model_copy(update={"name": "Commissariat de Creil"})
    store.upsert_unit(unit)
    after = store.snapshot()
    assert after.units["pn-csp-creil"].name == "Commissariat de Creil"
    assert before.units["pn-csp-creil"].name != "Commissariat de Creil"
    assert after.versions["competence"] == before.versions["competence"]

"""decide(), transfer() and escalation_target()."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.factories import CREIL, MERU, PARIS, partner_event, sample_snapshot
from vigie.contracts.enums import Category, DecisionStatus, Force, Lane, LocateMethod, Urgency
from vigie.reference.competence import load_default_competence
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.policy import RoutingOutcome, decide, escalation_target, transfer

REF = sample_snapshot()
BOTH_CENTRES = ["pn-cic-oise", "gn-corg-oise"]


def test_site_located_event_routes_to_the_competent_unit_and_is_enriched() -> None:
    outcome = decide(partner_event(site_id="oise-habitat-0001", location=None), REF)
    assert isinstance(outcome, RoutingOutcome)
    d = outcome.decision
    assert d.status is DecisionStatus.ROUTED
    assert d.units == ["pn-csp-creil"] and d.force is Force.PN
    assert d.method is LocateMethod.SITE and d.insee_code == "60175"
    assert d.reference_versions == dict(REF.versions)
    assert d.reason_code is None and d.discrepancy is None
    e = outcome.enrichment
    assert e.site is not None and e.site.site_id == "oise-habitat-0001"
    assert e.commune is not None and e.commune.name == "Creil"
    assert e.qpv_name == e.site.qpv_name and e.zsp is True


@pytest.mark.parametrize(
    ("kwargs", "method", "unit"),
    [
        ({"at": CREIL}, LocateMethod.COORDINATES, "pn-csp-creil"),
        ({"at": MERU}, LocateMethod.COORDINATES, "gn-bt-meru"),
        ({"insee": "60139"}, LocateMethod.INSEE, "gn-bt-chambly"),
        ({"postcode": "60100", "commune": "CREIL"}, LocateMethod.POSTCODE, "pn-csp-creil"),
    ],
)
def test_each_method(kwargs: dict, method: LocateMethod, unit: str) -> None:
    d = decide(partner_event(**kwargs), REF).decision
    assert d.method is method and d.units == [unit] and d.status is DecisionStatus.ROUTED
    assert d.force is (Force.PN if unit.startswith("pn-") else Force.GN)


def test_qpv_in_gendarmerie_zone_goes_to_the_gendarmerie() -> None:
    meru_qpv = next(s for s in load_sample_sites() if s.qpv_name == "La Nacre")
    d = decide(partner_event(meru_qpv.partner_id, site_id=meru_qpv.site_id,
                             location=None), REF).decision
    assert d.force is Force.GN


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"at": PARIS}, "OUT_OF_AREA"),
        ({"insee": "75056"}, "OUT_OF_AREA"),
        ({"site_id": None, "location": None}, "UNLOCATED"),
        ({"site_id": "opac-oise-9999", "location": None}, "UNLOCATED"),
    ],
)
def test_unplaced_goes_to_both_command_centres(kwargs: dict, reason: str) -> None:
    outcome = decide(partner_event(**kwargs), REF)
    d = outcome.decision
    assert d.status is DecisionStatus.MANUAL_TRIAGE
    assert d.units == BOTH_CENTRES and d.force is None
    assert d.method is LocateMethod.DEFAULT and d.reason_code == reason
    assert outcome.enrichment.commune is None


def test_unknown_site_located_otherwise_is_routed_with_the_reason() -> None:
    d = decide(partner_event("opac-oise", "60057", site_id="opac-oise-9999"), REF).decision
    assert d.status is DecisionStatus.ROUTED and d.reason_code == "UNKNOWN_SITE"


def test_site_of_other_partner_is_noted() -> None:
    d = decide(partner_event("clesence", "60395", site_id="opac-oise-0001"), REF).decision
    assert d.units == ["gn-bt-meru"] and d.reason_code == "SITE_OF_OTHER_PARTNER"


def test_discrepancy_is_recorded() -> None:
    d = decide(partner_event(at=CREIL, insee="60395"), REF).decision
    assert d.units == ["pn-csp-creil"] and d.discrepancy is not None


@pytest.mark.parametrize(
    ("kwargs", "lane"),
    [
        ({"category": Category.DAMAGE}, Lane.INCIDENT),
        ({"category": Category.STAFF_AGGRESSION}, Lane.ALERT),
        ({"category": Category.STAFF_THREAT}, Lane.ALERT),
        ({"category": Category.WEAPON}, Lane.ALERT),
        ({"category": Category.FIRE, "persons_in_danger": True}, Lane.ALERT),
        ({"staff_involved": True, "urgency": Urgency.IMMEDIATE}, Lane.ALERT),
        ({"staff_involved": True, "urgency": Urgency.EXPECTED}, Lane.INCIDENT),
        ({"urgency": Urgency.IMMEDIATE}, Lane.INCIDENT),
    ],
)
def test_lanes(kwargs: dict, lane: Lane) -> None:
    assert decide(partner_event(insee="60175", **kwargs), REF).decision.lane is lane
    assert decide(partner_event(at=PARIS, **kwargs), REF).decision.lane is lane  # unplaced too


def test_deterministic_across_calls_and_equal_stores() -> None:
    sites = load_sample_sites()
    other = ReferenceStore.with_defaults(sites=list(reversed(sites))).snapshot()
    cases = [
        partner_event(site_id="oise-habitat-0003", location=None),
        partner_event(at=CREIL, insee="60057"),
        partner_event(at=PARIS),
        partner_event(postcode="60100", commune="Creil"),
    ]
    for e in cases:
        first = decide(e, REF)
        assert decide(e, REF) == first
        assert decide(e, other) == first


def test_explanation_never_carries_free_text() -> None:
    secret = "Jean Dupont 06 12 34 56 78"
    for kwargs in ({"insee": "60175"}, {"at": PARIS}):
        d = decide(partner_event(description=secret, **kwargs), REF).decision
        assert "Dupont" not in d.explanation and "Dupont" not in d.model_dump_json()


def test_competence_follows_effective_dates() -> None:
    store = ReferenceStore.with_defaults()
    current = store.snapshot().competent("60139", date(2026, 1, 1))
    assert current is not None
    store.upsert_competence(
        current.model_copy(
            update={
                "force": Force.PN,
                "unit_id": "pn-csp-creil",
                "effective_from": date(2027, 1, 1),
            }
        )
    )
    ref = store.snapshot()
    assert decide(partner_event(insee="60139"), ref).decision.units == ["gn-bt-chambly"]
    later = datetime(2027, 1, 2, 9, 0, tzinfo=UTC)
    moved = decide(partner_event(insee="60139", sent_at=later, occurred_at=later), ref).decision
    assert moved.units == ["pn-csp-creil"] and moved.force is Force.PN


def test_missing_competence_or_unit_goes_to_manual_triage() -> None:
    store = ReferenceStore.with_defaults()
    records = [r for r in load_default_competence().records if r.insee_code != "60395"]
    store.replace_competence(records)
    d = decide(partner_event(insee="60395"), store.snapshot()).decision
    assert d.status is DecisionStatus.MANUAL_TRIAGE and d.units == BOTH_CENTRES
    assert d.insee_code == "60395" and d.reason_code == "UNKNOWN_UNIT"
    chambly = next(r for r in records if r.insee_code == "60139")
    store.upsert_competence(chambly.model_copy(update={"unit_id": "gn-bt-nowhere"}))
    d = decide(partner_event(insee="60139"), store.snapshot()).decision
    assert d.status is DecisionStatus.MANUAL_TRIAGE and d.reason_code == "UNKNOWN_UNIT"


def test_new_snapshot_decisions_carry_new_versions() -> None:
    store = ReferenceStore.with_defaults()
    before = decide(partner_event(insee="60175"), store.snapshot()).decision
    unit = store.snapshot().units["pn-csp-creil"]
    store.upsert_unit(unit.model_copy(update={"name": "Commissariat de Creil"}))
    after = decide(partner_event(insee="60175"), store.snapshot()).decision
    assert after.reference_versions["units"] != before.reference_versions["units"]


def test_transfer_to_the_other_force_command_centre() -> None:
    d = decide(partner_event(insee="60175"), REF).decision
    moved = transfer(d, "pn-csp-creil", REF)
    assert moved.units == ["gn-corg-oise"] and moved.force is Force.GN
    assert moved.status is DecisionStatus.ROUTED
    assert moved.insee_code == "60175" and moved.lane is d.lane
    back = transfer(decide(partner_event(insee="60395"), REF).decision, "gn-bt-meru", REF)
    assert back.units == ["pn-cic-oise"] and back.force is Force.PN


def test_transfer_to_the_other_force_unit_named_by_the_table() -> None:
    store = ReferenceStore.with_defaults()
    creil = store.snapshot().competent("60175")
    assert creil is not None
    # The table keeps an earlier gendarmerie record for Creil: that unit is the target.
    store.upsert_competence(
        creil.model_copy(
            update={"force": Force.GN, "unit_id": "gn-bt-saint-leu-d-esserent",
                    "effective_from": date(1999, 1, 1)}
        )
    )  # fmt: skip
    ref = store.snapshot()
    d = decide(partner_event(insee="60175"), ref).decision
    assert d.units == ["pn-csp-creil"]
    assert transfer(d, "pn-csp-creil", ref).units == ["gn-bt-saint-leu-d-esserent"]


def test_transfer_of_a_manual_triage_decision() -> None:
    d = decide(partner_event(at=PARIS), REF).decision
    assert transfer(d, "pn-cic-oise", REF).units == ["gn-corg-oise"]


@pytest.mark.parametrize(
    ("unit", "target"),
    [
        ("gn-bt-chambly", "gn-corg-oise"),
        ("gn-cie-meru", "gn-corg-oise"),
        ("pn-csp-creil", "pn-cic-oise"),
        ("pn-cic-oise", "pn-cic-oise"),
        ("gn-corg-oise", "gn-corg-oise"),
        ("gn-bt-unknown", "gn-corg-oise"),
    ],
)
def test_escalation_target(unit: str, target: str) -> None:
    assert escalation_target(unit, REF) == target


def test_escalation_target_of_an_unknown_force() -> None:
    with pytest.raises(ValueError):
        escalation_target("xx-unit", REF)

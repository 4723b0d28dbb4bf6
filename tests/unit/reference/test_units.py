"""Units as data: ids, hierarchy, command centres."""

from __future__ import annotations

import re

from vigie.contracts.enums import Force, UnitKind
from vigie.contracts.models import UNIT_ID_PATTERN
from vigie.reference.units import check_units, command_centres, load_units_file

UNITS = load_units_file()
BY_ID = {u.unit_id: u for u in UNITS.units}

EXPECTED_IDS = {
    "pn-cic-oise", "pn-csp-beauvais", "pn-csp-compiegne", "pn-csp-creil",
    "gn-corg-oise",
    "gn-cie-beauvais", "gn-cie-clermont", "gn-cie-compiegne", "gn-cie-meru", "gn-cie-senlis",
    "gn-bt-beauvais", "gn-bt-bresles", "gn-bt-catenoy", "gn-bt-chambly", "gn-bt-clermont",
    "gn-bt-compiegne", "gn-bt-grandvilliers", "gn-bt-liancourt", "gn-bt-meru",
    "gn-bt-nanteuil-le-haudouin", "gn-bt-saint-leu-d-esserent", "gn-bt-senlis",
    "gn-bt-verberie",
}  # fmt: skip


def test_unit_ids() -> None:
    assert set(BY_ID) == EXPECTED_IDS
    pattern = re.compile(UNIT_ID_PATTERN)
    assert all(pattern.match(u) and u == u.lower() for u in BY_ID)


def test_hierarchy_is_consistent() -> None:
    assert check_units(BY_ID) == []
    assert command_centres(UNITS.units) == {Force.PN: "pn-cic-oise", Force.GN: "gn-corg-oise"}
    for unit in UNITS.units:
        if unit.kind is UnitKind.BRIGADE:
            assert BY_ID[unit.parent_id].kind is UnitKind.COMPAGNIE  # type: ignore[index]
            assert unit.command_centre_id == "gn-corg-oise"
        if unit.kind is UnitKind.CIRCONSCRIPTION:
            assert unit.force is Force.PN and unit.command_centre_id == "pn-cic-oise"


def test_every_company_seat_has_a_brigade_under_it() -> None:
    for unit_id in EXPECTED_IDS:
        if unit_id.startswith("gn-cie-"):
            assert BY_ID[unit_id.replace("-cie-", "-bt-")].parent_id == unit_id


def test_every_unit_has_provenance_and_a_content_version() -> None:
    assert set(UNITS.provenance) == EXPECTED_IDS
    assert UNITS.version.startswith("units-oise.json@")

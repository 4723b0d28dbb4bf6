"""The sample sites: four landlords, real communes, coordinates inside the right commune."""

from __future__ import annotations

import re
from collections import Counter

from vigie.reference.communes import default_commune_index
from vigie.reference.sites import load_sample_sites

SITES = load_sample_sites()
INDEX = default_commune_index()
QPV_NAMES = {
    "Argentine", "Saint-Lucien", "Saint-Jean", "Plateau Rouher", "Clos des Roses", "La Nacre",
    "Beauséjour", "Les abords du Parc", "Font-Robin",
}  # fmt: skip
ZSP = {"60395", "60139", "60175"}  # Méru, Chambly, Creil


def test_four_landlords_with_15_to_25_sites_each() -> None:
    counts = Counter(s.partner_id for s in SITES)
    assert set(counts) == {"opac-oise", "oise-habitat", "clesence", "sa-hlm-oise"}
    assert all(15 <= n <= 25 for n in counts.values())
    assert len({s.site_id for s in SITES}) == len(SITES)
    for site in SITES:
        assert re.fullmatch(rf"{site.partner_id}-\d{{4}}", site.site_id)


def test_site_coordinates_locate_to_their_insee_code() -> None:
    for site in SITES:
        commune = INDEX.locate(site.lat, site.lon)
        assert commune is not None and commune.insee == site.insee_code, site.site_id
        assert commune.name == site.commune_name
        assert site.postcode in commune.postcodes


def test_qpv_and_zsp_flags() -> None:
    assert {s.qpv_name for s in SITES if s.qpv_name} <= QPV_NAMES
    assert any(s.qpv_name for s in SITES)
    for site in SITES:
        assert site.zsp is (site.insee_code in ZSP)
        assert site.homes > 0

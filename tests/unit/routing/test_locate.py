"""The locating order and its discrepancy rules."""

from __future__ import annotations

from tests.factories import BEAUVAIS, CREIL, PARIS, partner_event, sample_snapshot
from vigie.contracts.enums import LocateMethod
from vigie.routing.locate import locate

REF = sample_snapshot()


def test_site_first() -> None:
    placement = locate(partner_event(site_id="oise-habitat-0004", location=None), REF)
    assert placement.method is LocateMethod.SITE
    assert placement.commune is not None and placement.commune.insee == "60175"
    assert placement.site is not None and placement.site.site_id == "oise-habitat-0004"
    assert placement.discrepancy is None and placement.notes == ()


def test_site_wins_over_event_coordinates_with_a_discrepancy() -> None:
    e = partner_event(at=BEAUVAIS, site_id="oise-habitat-0004")
    placement = locate(e, REF)
    assert placement.method is LocateMethod.SITE
    assert placement.commune.insee == "60175"  # type: ignore[union-attr]
    assert placement.discrepancy is not None and "60057" in placement.discrepancy


def test_unknown_site_falls_through_and_is_noted() -> None:
    placement = locate(partner_event("opac-oise", at=CREIL, site_id="opac-oise-9999"), REF)
    assert placement.method is LocateMethod.COORDINATES
    assert placement.notes == ("UNKNOWN_SITE",)


def test_site_of_another_partner_is_not_used() -> None:
    placement = locate(partner_event("clesence", site_id="oise-habitat-0004", location=None), REF)
    assert placement.method is LocateMethod.DEFAULT
    assert placement.commune is None and placement.site is None
    assert placement.notes == ("SITE_OF_OTHER_PARTNER",)
    assert placement.reason_code == "UNLOCATED"
    with_insee = locate(
        partner_event("clesence", "60395", site_id="oise-habitat-0004"), REF
    )
    assert with_insee.method is LocateMethod.INSEE and with_insee.site is None


def test_coordinates() -> None:
    placement = locate(partner_event(at=CREIL), REF)
    assert placement.method is LocateMethod.COORDINATES
    assert placement.commune.insee == "60175"  # type: ignore[union-attr]


def test_coordinates_inside_oise_win_over_the_declared_insee_code() -> None:
    placement = locate(partner_event(at=CREIL, insee="60057"), REF)
    assert placement.method is LocateMethod.COORDINATES
    assert placement.commune.insee == "60175"  # type: ignore[union-attr]
    assert placement.discrepancy is not None
    assert "60175" in placement.discrepancy and "60057" in placement.discrepancy


def test_coordinates_outside_oise_alone_are_out_of_area() -> None:
    placement = locate(partner_event(at=PARIS), REF)
    assert placement.method is LocateMethod.DEFAULT
    assert placement.reason_code == "OUT_OF_AREA"


def test_coordinates_outside_oise_with_an_oise_address_use_the_address() -> None:
    placement = locate(partner_event(at=PARIS, insee="60395"), REF)
    assert placement.method is LocateMethod.INSEE
    assert placement.commune.insee == "60395"  # type: ignore[union-attr]
    assert placement.discrepancy is not None and "outside Oise" in placement.discrepancy


def test_insee_code() -> None:
    placement = locate(partner_event(insee="60471"), REF)
    assert placement.method is LocateMethod.INSEE
    assert placement.commune.name == "Noyon"  # type: ignore[union-attr]


def test_insee_code_of_another_departement_is_out_of_area() -> None:
    assert locate(partner_event(insee="02001"), REF).reason_code == "OUT_OF_AREA"


def test_postcode_and_name_only_when_unique() -> None:
    placement = locate(partner_event(postcode="60100", commune="Creil"), REF)
    assert placement.method is LocateMethod.POSTCODE
    assert placement.commune.insee == "60175"  # type: ignore[union-attr]
    atlantis, paris = (partner_event(postcode="60100", commune="Atlantis"),
                       partner_event(postcode="75001", commune="Paris"))
    assert locate(atlantis, REF).reason_code == "UNLOCATED"
    assert locate(paris, REF).reason_code == "OUT_OF_AREA"


def test_nothing_usable_is_unlocated() -> None:
    placement = locate(partner_event(site_id=None, location=None), REF)
    assert placement.method is LocateMethod.DEFAULT and placement.reason_code == "UNLOCATED"


def test_registered_site_outside_oise_is_out_of_area() -> None:
    from vigie.reference.snapshot import ReferenceStore

    site = REF.sites["opac-oise-0001"].model_copy(
        update={
            "site_id": "opac-oise-0999",
            "insee_code": "75056",
            "lat": PARIS[0],
            "lon": PARIS[1],
        }
    )
    ref = ReferenceStore.with_defaults(sites=[site]).snapshot()
    placement = locate(partner_event("opac-oise", site_id="opac-oise-0999", location=None), ref)
    assert placement.method is LocateMethod.DEFAULT and placement.reason_code == "OUT_OF_AREA"
    assert placement.notes == ()

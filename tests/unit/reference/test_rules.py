"""The routing rules as data: the shipped file of Oise, and the public holidays they follow."""

from __future__ import annotations

from datetime import date

from vigie.reference.rules import compile_rules, describe_hours, load_rules_file, public_holiday
from vigie.reference.snapshot import ReferenceStore

BRIGADE, COMPANY, CORG, CIC = "gn-bt-meru", "gn-cie-meru", "gn-corg-oise", "pn-cic-oise"
RULES = load_rules_file()
DEFAULT = ReferenceStore.with_defaults().snapshot()


def test_every_unit_has_sourced_rules_and_known_fallbacks() -> None:
    by_unit = {r.unit_id: r for r in RULES.records}
    assert set(by_unit) == set(DEFAULT.units)
    for record in RULES.records:
        assert record.provenance and record.version == RULES.version
        assert record.fallback_unit_id is None or record.fallback_unit_id in DEFAULT.units
    for centre in (CIC, CORG):
        assert describe_hours(by_unit[centre]) == "round the clock"
        assert compile_rules(by_unit[centre]).round_the_clock
    assert by_unit[BRIGADE].inferred and "INFERRED" in by_unit[BRIGADE].provenance
    assert by_unit[BRIGADE].fallback_unit_id == COMPANY
    assert all(r.overflow_limit is None for r in RULES.records)
    assert DEFAULT.problems() == []


def test_public_holidays_come_from_the_library() -> None:
    assert public_holiday("FR", date(2026, 12, 25)) is not None
    assert public_holiday("FR", date(2027, 3, 29)) is not None  # Easter Monday, computed
    assert public_holiday("FR", date(2026, 5, 14)) is not None  # Ascension Day, computed
    assert public_holiday("FR", date(2026, 12, 26)) is None  # only in Alsace-Moselle
    assert public_holiday("FR-57", date(2026, 12, 26)) is not None

"""The routing rules as data: the shipped file of Oise, and the public holidays they follow."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from vigie.reference.rules import (
    compile_rules,
    describe_hours,
    load_rules_file,
    parse_rules,
    public_holiday,
)
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
        assert describe_hours(by_unit[centre]) == "24 h/24"
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


def test_an_exercise_is_written_once_for_its_units() -> None:
    """Issue 18: a rules file's ``exercises`` become each named unit's windows; none is
    shipped (EXERCISE events reach no unit until operations load one)."""
    document = {
        "units": [{"unit_id": BRIGADE}, {"unit_id": CORG}, {"unit_id": CIC}],
        "exercises": [{"name": "EXO-OISE-2026", "start": "2026-11-26T09:00+01:00",
                       "end": "2026-11-26T17:00+01:00", "escalate": True,
                       "units": [BRIGADE, CORG]}],
    }
    by_unit = {r.unit_id: r for r in parse_rules(document, "test")}
    [window] = by_unit[BRIGADE].exercises
    assert (window.name, window.escalate) == ("EXO-OISE-2026", True)
    assert window.covers(datetime.fromisoformat("2026-11-26T12:00+01:00"))
    assert not window.covers(datetime.fromisoformat("2026-11-26T17:00+01:00"))
    assert by_unit[CORG].exercises == [window] and by_unit[CIC].exercises == []
    assert all(r.exercises == [] for r in RULES.records)
    unknown = {**document, "units": [{"unit_id": CIC}]}
    with pytest.raises(ValueError, match="without an entry"):
        parse_rules(unknown, "test")

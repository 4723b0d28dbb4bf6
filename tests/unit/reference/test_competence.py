"""The competence table: shipped default of Oise, official-format importer, effective dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from vigie.contracts.enums import Force, UnitKind
from vigie.reference.communes import default_commune_index
from vigie.reference.competence import (
    CompetenceTable,
    import_competence_csv,
    load_default_competence,
)
from vigie.reference.units import load_units_file

FIXTURE = Path(__file__).parent / "fixtures" / "competence-official-sample.csv"
DEFAULT = load_default_competence()
UNITS = {u.unit_id: u for u in load_units_file().units}
CREIL_CSP = {"60175", "60414", "60463", "60684"}


def test_every_commune_resolves_to_exactly_one_unit() -> None:
    communes = {c.insee for c in default_commune_index()}
    rows = [r.insee_code for r in DEFAULT.records]
    assert len(rows) == len(set(rows)) == 680
    assert set(rows) == communes
    table = CompetenceTable.from_records(DEFAULT.records)
    for insee in communes:
        record = table.lookup(insee, date(2026, 1, 1))
        assert record is not None
        unit = UNITS[record.unit_id]
        assert unit.force is record.force
        assert unit.kind in (UnitKind.BRIGADE, UnitKind.CIRCONSCRIPTION)
    assert DEFAULT.warnings == ()


def test_police_zone_is_the_three_circonscriptions() -> None:
    police = {r.insee_code: r for r in DEFAULT.records if r.force is Force.PN}
    assert set(police) == CREIL_CSP | {"60057", "60159", "60382"}
    for insee in CREIL_CSP:
        assert police[insee].unit_id == "pn-csp-creil" and not police[insee].inferred
    assert police["60057"].unit_id == "pn-csp-beauvais" and not police["60057"].inferred
    assert police["60159"].unit_id == "pn-csp-compiegne" and not police["60159"].inferred
    assert police["60382"].inferred  # Margny-lès-Compiègne: agglomeration, not confirmed


def test_gendarmerie_examples_and_inference_flags() -> None:
    by_insee = {r.insee_code: r for r in DEFAULT.records}
    for insee in ("60395", "60139", "60471", "60612", "60141", "60176", "60509", "60157"):
        assert by_insee[insee].force is Force.GN
    # A brigade's own seat is not inferred; other gendarmerie communes are.
    assert by_insee["60139"].unit_id == "gn-bt-chambly" and not by_insee["60139"].inferred
    assert by_insee["60471"].inferred  # Noyon: no known brigade seat
    assert all(r.provenance for r in DEFAULT.records)


def test_default_version_is_content_addressed() -> None:
    assert DEFAULT.version.startswith("competence-oise.csv@")
    assert load_default_competence().version == DEFAULT.version


def test_import_official_file_semicolon_and_bom() -> None:
    result = import_competence_csv(
        FIXTURE,
        departement="60",
        effective_from=date(2025, 1, 1),
        unit_map={"12345": "pn-csp-creil", "67891": "gn-bt-chambly"},
    )
    by_insee = {r.insee_code: r for r in result.records}
    assert set(by_insee) == {"60175", "60414", "60395", "60139", "60256"}
    assert result.skipped_other_departements == 1  # 2001 -> 02001 (Aisne)
    assert by_insee["60175"].unit_id == "pn-csp-creil"
    assert by_insee["60175"].force is Force.PN
    assert by_insee["60395"].unit_id == "gn-svc-67890"  # unmapped official service id
    assert by_insee["60256"].postcodes == ["60240", "60110"]
    assert by_insee["60139"].unit_id == "gn-bt-chambly"  # first row kept
    assert any("60139" in w for w in result.warnings)
    assert all(r.effective_from == date(2025, 1, 1) for r in result.records)
    assert result.version.startswith("competence-official-sample.csv@")
    assert all(r.version == result.version and not r.inferred for r in result.records)


def test_import_comma_delimited_text_without_bom() -> None:
    text = FIXTURE.read_text(encoding="utf-8-sig").replace(";", ",")
    result = import_competence_csv(
        text, departement="60", effective_from=date(2025, 1, 1), version="v-test"
    )
    assert len(result.records) == 5
    assert {r.version for r in result.records} == {"v-test"}


def test_import_accepts_long_institution_names() -> None:
    text = (
        "code_commune,libelle_commune,institution,id_service,service,code_postal,codes_postaux\n"
        "60175,Creil,Police nationale,1,CSP Creil,60100,60100\n"
        "60395,Méru,Gendarmerie nationale,2,BTA Méru,60110,60110\n"
    )
    records = import_competence_csv(text, departement="60", effective_from=date(2025, 1, 1)).records
    assert [r.force for r in records] == [Force.PN, Force.GN]


def test_import_refuses_a_file_without_the_official_columns() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        import_competence_csv(
            "insee;force\n60175;PN\n", departement="60", effective_from=date(2025, 1, 1)
        )


def test_effective_dated_versions() -> None:
    base = import_competence_csv(
        FIXTURE, departement="60", effective_from=date(2020, 1, 1), version="v1"
    ).records
    moved = base[0].model_copy(
        update={"force": Force.GN, "unit_id": "gn-bt-chambly", "effective_from": date(2027, 1, 1),
                "version": "v2"}
    )  # fmt: skip
    table = CompetenceTable.from_records([*base, moved])
    insee = base[0].insee_code
    assert table.lookup(insee, date(2019, 12, 31)) is None
    assert table.lookup(insee, date(2026, 12, 31)) == base[0]
    assert table.lookup(insee, date(2027, 1, 1)) == moved
    assert table.lookup(insee) == moved  # latest loaded
    assert table.as_of(date(2026, 6, 1))[insee] == base[0]
    assert table.as_of(date(2027, 6, 1))[insee] == moved
    assert table.effective_dates() == [date(2020, 1, 1), date(2027, 1, 1)]

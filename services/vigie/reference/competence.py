"""Which unit of which force is competent for each commune, effective-dated and versioned.

Why effective-dated: communes move between police and gendarmerie zones (redeployments),
announced ahead with a start date. A table keeps, per INSEE code, every record with its
``effective_from`` date; ``lookup(insee, on)`` answers with the latest record in force on
that date, so a planned change can be loaded before it applies.

The importer reads the official "Compétence territoriale gendarmerie et police nationales"
CSV of the Ministère de l'Intérieur (data.gouv.fr); the shipped default table of Oise
(``data/competence-oise.csv``) uses the same columns plus ``provenance`` and ``inferred``.
Routing is on the INSEE code, never on the postal code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from vigie.contracts.enums import Force
from vigie.contracts.models import UNIT_ID_PATTERN, CompetenceRecord
from vigie.reference.dated import by_key_and_date, in_force

DATA_DIR = Path(__file__).resolve().parent / "data"
COMPETENCE_FILE = DATA_DIR / "competence-oise.csv"
#: The default table has no known start date: it applies from this baseline.
DEFAULT_EFFECTIVE_FROM = date(2000, 1, 1)

REQUIRED_COLUMNS = ("code_commune", "libelle_commune", "institution", "id_service", "service")
_UNIT_ID = re.compile(UNIT_ID_PATTERN)
_TRUE = {"1", "true", "vrai", "yes", "oui", "x"}


@dataclass(frozen=True)
class CompetenceImport:
    """What an import produced: records to load, and warnings for the operator."""

    records: tuple[CompetenceRecord, ...]
    version: str
    effective_from: date
    warnings: tuple[str, ...] = ()
    skipped_other_departements: int = 0


def _institution(value: str) -> Force | None:
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    text = text.strip()
    if text in ("PN", "GN"):
        return Force(text)
    if text.startswith("POLICE"):
        return Force.PN
    if text.startswith("GENDARMERIE"):
        return Force.GN
    return None


def _slug(value: str) -> str:
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def official_unit_id(force: Force, id_service: str, unit_map: Mapping[str, str]) -> str:
    """Our unit id for a service of the official file.

    An id that is already one of ours (``pn-…``/``gn-…``, as in the shipped default table) is
    kept; an id listed in ``unit_map`` is translated; any other becomes
    ``pn-svc-<id>``/``gn-svc-<id>``, a deterministic id the operator must then declare in the
    units table (the snapshot reports competence rows whose unit is unknown).
    """
    key = id_service.strip()
    if key in unit_map:
        return unit_map[key]
    if key.startswith(("pn-", "gn-")) and _UNIT_ID.match(key):
        return key
    return f"{force.value.lower()}-svc-{_slug(key)}"[:48]


def _decode(data: bytes) -> str:
    # utf-8-sig strips the BOM that spreadsheet exports add; fall back to cp1252 for
    # files re-saved by Excel on Windows.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _delimiter(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def _insee(value: str) -> str:
    code = value.strip().upper()
    # Spreadsheets drop the leading zero of départements 01-09.
    return code.zfill(5) if code.isdigit() else code


def import_competence_csv(
    source: str | Path | bytes,
    *,
    departement: str,
    effective_from: date,
    version: str | None = None,
    unit_map: Mapping[str, str] | None = None,
    source_name: str | None = None,
) -> CompetenceImport:
    """Read an official-format competence CSV, keeping the communes of one département.

    ``source`` is a path, the file's bytes, or its text. The delimiter (``;`` or ``,``) is
    detected from the header, a UTF-8 BOM is accepted. The version defaults to the file
    name plus a hash of its bytes, so the same file always gives the same version. A commune
    listed twice keeps its first row and yields a warning (communes split between the two
    forces exist in the official data and need a human decision).
    """
    if isinstance(source, Path):
        data = source.read_bytes()
        name = source_name or source.name
    elif isinstance(source, bytes):
        data, name = source, source_name or "competence.csv"
    else:
        data, name = source.encode("utf-8"), source_name or "competence.csv"
    text = _decode(data)
    header = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(header))
    fields = [f.strip() for f in (reader.fieldnames or [])]
    reader.fieldnames = fields
    missing = [c for c in REQUIRED_COLUMNS if c not in fields]
    if missing:
        raise ValueError(f"{name}: missing columns {', '.join(missing)}")
    digest = hashlib.sha256(data).hexdigest()[:12]
    version = version or f"{name}@{digest}"
    unit_map = unit_map or {}
    records: dict[str, CompetenceRecord] = {}
    warnings: list[str] = []
    skipped = 0
    for line, row in enumerate(reader, start=2):
        insee = _insee(row.get("code_commune") or "")
        if not insee.startswith(departement):
            skipped += 1
            continue
        force = _institution(row.get("institution") or "")
        id_service = (row.get("id_service") or "").strip()
        if force is None or not id_service:
            warnings.append(f"line {line}: {insee}: unknown institution or empty id_service")
            continue
        postcodes = [
            p.strip() for p in re.split(r"[-,; ]+", row.get("codes_postaux") or "") if p.strip()
        ]
        main_postcode = (row.get("code_postal") or "").strip()
        if main_postcode and main_postcode not in postcodes:
            postcodes.insert(0, main_postcode)
        inferred = (row.get("inferred") or "").strip().lower() in _TRUE
        record = CompetenceRecord(
            insee_code=insee,
            commune_name=(row.get("libelle_commune") or "").strip(),
            force=force,
            unit_id=official_unit_id(force, id_service, unit_map),
            service_name=(row.get("service") or "").strip(),
            postcodes=postcodes,
            effective_from=effective_from,
            version=version,
            provenance=(row.get("provenance") or "").strip() or f"official file {name}",
            inferred=inferred,
        )
        if insee in records:
            if records[insee] != record:
                warnings.append(f"line {line}: {insee} listed twice; first row kept")
            continue
        records[insee] = record
    return CompetenceImport(
        records=tuple(records[k] for k in sorted(records)),
        version=version,
        effective_from=effective_from,
        warnings=tuple(warnings),
        skipped_other_departements=skipped,
    )


def load_default_competence() -> CompetenceImport:
    """The shipped table of Oise (mostly inferred; see ``data/README.md``)."""
    return import_competence_csv(
        COMPETENCE_FILE, departement="60", effective_from=DEFAULT_EFFECTIVE_FROM
    )


@dataclass(frozen=True)
class CompetenceTable:
    """Read-only, effective-dated competence: per INSEE code, records sorted by date.

    Built from a mapping the owner promises not to mutate afterwards (``ReferenceStore``
    copies on write), so that building a table costs nothing per event.
    """

    _by_insee: Mapping[str, tuple[CompetenceRecord, ...]]
    version: str = ""
    _empty: tuple[CompetenceRecord, ...] = field(default=(), repr=False)

    @classmethod
    def from_records(
        cls, records: Iterable[CompetenceRecord], version: str = ""
    ) -> CompetenceTable:
        return cls(by_key_and_date(records, lambda r: r.insee_code), version)

    def lookup(self, insee: str, on: date | None = None) -> CompetenceRecord | None:
        """The record in force on ``on`` (default: the latest one loaded)."""
        return in_force(self._by_insee.get(insee, self._empty), on)

    def as_of(self, on: date) -> dict[str, CompetenceRecord]:
        """The whole table as it applies on one date (one record per commune)."""
        result = {}
        for insee in self._by_insee:
            record = self.lookup(insee, on)
            if record is not None:
                result[insee] = record
        return result

    def history(self, insee: str) -> tuple[CompetenceRecord, ...]:
        return self._by_insee.get(insee, self._empty)

    def effective_dates(self) -> list[date]:
        """Every date on which some commune's competence changes."""
        return sorted({r.effective_from for h in self._by_insee.values() for r in h})

    def records(self) -> Iterator[CompetenceRecord]:
        for insee in sorted(self._by_insee):
            yield from self._by_insee[insee]

    def __len__(self) -> int:
        return len(self._by_insee)

    def __contains__(self, insee: object) -> bool:
        return insee in self._by_insee

    def postcodes(self) -> dict[str, list[str]]:
        """INSEE -> every postcode any record lists (for the postcode + name locator)."""
        result: dict[str, list[str]] = {}
        for insee, history in self._by_insee.items():
            codes: list[str] = []
            for record in history:
                codes.extend(p for p in record.postcodes if p not in codes)
            result[insee] = codes
        return result

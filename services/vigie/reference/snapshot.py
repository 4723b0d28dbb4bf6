"""An immutable view of all reference data, and the mutable store workers update.

Why a snapshot: the routing policy must give the same answer for the same event and the
same reference data, and every decision must name the reference versions it used. The
router asks the store for a snapshot per event, so ``snapshot()`` must cost nothing when
nothing changed: the store keeps its last snapshot and builds a new one only after a change.
Changes never leak into an older snapshot: the store copies a dictionary on the first write
after it was handed out (copy-on-write), never per event.

Versions are content hashes, independent of the order of updates: two router instances that
replayed the same compacted topics report the same versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from vigie.contracts.enums import Force
from vigie.contracts.models import (
    CompetenceRecord,
    SiteRecord,
    UnitAvailability,
    UnitRecord,
    UnitRules,
)
from vigie.reference.communes import CommuneIndex, default_commune_index
from vigie.reference.competence import CompetenceTable, load_default_competence
from vigie.reference.rules import RuleTable, check_rules, load_rules_file
from vigie.reference.sites import load_sample_sites
from vigie.reference.units import check_units, command_centres, load_units_file

PARTS = ("communes", "competence", "units", "sites", "rules", "availability")
_MOD = 1 << 128


def _digest(record: BaseModel) -> int:
    payload = record.model_dump_json().encode("utf-8")
    return int.from_bytes(hashlib.blake2b(payload, digest_size=16).digest(), "big")


@dataclass(frozen=True, slots=True)
class ReferenceSnapshot:
    """Everything the policy reads, frozen. Mappings are read-only views."""

    communes: CommuneIndex
    competence: CompetenceTable
    units: Mapping[str, UnitRecord]
    sites: Mapping[str, SiteRecord]
    versions: Mapping[str, str]
    #: Departmental command centre per force (police CIC, gendarmerie CORG).
    command_centres: Mapping[Force, str] = field(default_factory=dict)
    #: Increases with every rebuilt snapshot of one store (cheap "did it change?" test).
    generation: int = 0
    #: Routing rules per unit, effective-dated (service hours, fallback, overflow limit).
    rules: RuleTable = field(default_factory=RuleTable)
    #: The latest availability declaration per unit (``ref.availability.v1``).
    availability: Mapping[str, UnitAvailability] = field(default_factory=dict)
    #: Memo for pure functions of this snapshot (the policy caches decisions here). It dies
    #: with the snapshot, so it can never serve an answer computed with other data.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def competent(self, insee: str, on: date | None = None) -> CompetenceRecord | None:
        """The competence record in force for a commune on a date."""
        return self.competence.lookup(insee, on)

    def problems(self) -> list[str]:
        """Inconsistencies an operator must fix (not checked per event)."""
        found = check_units(self.units)
        missing = sorted(
            {r.unit_id for r in self.competence.records() if r.unit_id not in self.units}
        )
        found.extend(f"competence names unknown unit {u}" for u in missing)
        found.extend(check_rules(self.rules, self.units))
        uncovered = [c.insee for c in self.communes if c.insee not in self.competence]
        if uncovered:
            found.append(f"{len(uncovered)} communes without competence, e.g. {uncovered[0]}")
        return found


class _Part:
    """One dictionary of the store with its content hash and copy-on-write flag."""

    __slots__ = ("acc", "data", "shared")

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}
        self.acc = 0
        self.shared = False

    def writable(self) -> dict[Any, Any]:
        if self.shared:
            self.data = dict(self.data)
            self.shared = False
        return self.data

    def version(self) -> str:
        return f"{len(self.data)}-{self.acc:032x}"[:24]

    def put(self, key: str, record: BaseModel) -> bool:
        """Replace the record of ``key``; False when it was already this one."""
        old = self.data.get(key)
        if old == record:
            return False
        data = self.writable()
        if old is not None:
            self.acc = (self.acc - _digest(old)) % _MOD
        data[key] = record
        self.acc = (self.acc + _digest(record)) % _MOD
        return True

    def put_dated(self, key: str, record: Any) -> bool:
        """Add or replace the record of (``key``, its ``effective_from``) in the key's
        history, kept sorted by date; other dates stay. False when nothing changed."""
        history: tuple[Any, ...] = self.data.get(key, ())
        kept = []
        for existing in history:
            if existing.effective_from == record.effective_from:
                if existing == record:
                    return False
                self.acc = (self.acc - _digest(existing)) % _MOD
            else:
                kept.append(existing)
        kept.append(record)
        kept.sort(key=lambda r: r.effective_from)
        self.writable()[key] = tuple(kept)
        self.acc = (self.acc + _digest(record)) % _MOD
        return True


class ReferenceStore:
    """Mutable reference data fed by the ``ref.*`` topics; hands out cheap snapshots.

    Not thread-safe: one store per worker event loop.
    """

    def __init__(self, communes: CommuneIndex | None = None) -> None:
        self._communes_base = communes or default_commune_index()
        self._communes = self._communes_base
        self._units = _Part()
        self._sites = _Part()
        self._competence = _Part()  # insee -> tuple of records sorted by effective_from
        self._rules = _Part()  # unit id -> tuple of records sorted by effective_from
        self._availability = _Part()  # unit id -> latest declaration
        self._snapshot: ReferenceSnapshot | None = None
        self._generation = 0
        self._competence_changed = True

    # -- construction --------------------------------------------------------------------

    @classmethod
    def with_defaults(cls, *, sites: Iterable[SiteRecord] = ()) -> ReferenceStore:
        """Shipped communes, units, competence and routing rules of Oise; no sites (they come
        from the topic) and every unit available."""
        store = cls()
        for unit in load_units_file().units:
            store.upsert_unit(unit)
        for record in load_default_competence().records:
            store.upsert_competence(record)
        for rules in load_rules_file().records:
            store.upsert_rules(rules)
        for site in sites:
            store.upsert_site(site)
        return store

    @classmethod
    def with_sample_sites(cls) -> ReferenceStore:
        """Defaults plus the invented sample sites (demos, simulations, tests)."""
        return cls.with_defaults(sites=load_sample_sites())

    # -- updates -------------------------------------------------------------------------

    def _changed(self) -> None:
        self._snapshot = None

    def upsert_site(self, site: SiteRecord) -> None:
        if self._sites.put(site.site_id, site):
            self._changed()

    def delete_site(self, site_id: str) -> bool:
        """Forget a site (tombstone on ``ref.sites.v1``); False if it was unknown."""
        part = self._sites
        if site_id not in part.data:
            return False
        old = part.writable().pop(site_id)
        part.acc = (part.acc - _digest(old)) % _MOD
        self._changed()
        return True

    def upsert_unit(self, unit: UnitRecord) -> None:
        if self._units.put(unit.unit_id, unit):
            self._changed()

    def upsert_competence(self, record: CompetenceRecord) -> None:
        """Add or replace the record of (commune, effective date); other dates are kept."""
        if self._competence.put_dated(record.insee_code, record):
            self._competence_changed = True
            self._changed()

    def upsert_rules(self, record: UnitRules) -> None:
        """Add or replace the rules of (unit, effective date); other dates are kept."""
        if self._rules.put_dated(record.unit_id, record):
            self._changed()

    def set_availability(self, record: UnitAvailability) -> None:
        """Apply a unit's latest availability declaration (replaces the previous one)."""
        if self._availability.put(record.unit_id, record):
            self._changed()

    def replace_competence(self, records: Iterable[CompetenceRecord]) -> None:
        """Drop the whole table and load another one (import of the official file)."""
        self._competence = _Part()
        for record in records:
            self.upsert_competence(record)
        self._competence_changed = True
        self._changed()

    # -- reading -------------------------------------------------------------------------

    def versions(self) -> dict[str, str]:
        return {
            "communes": self._communes_base.version,
            "competence": self._competence.version(),
            "units": self._units.version(),
            "sites": self._sites.version(),
            "rules": self._rules.version(),
            "availability": self._availability.version(),
        }

    def snapshot(self) -> ReferenceSnapshot:
        """The current frozen view; the same object until the next change."""
        snap = self._snapshot
        if snap is not None:
            return snap
        if self._competence_changed:
            postcodes = {
                insee: [p for r in history for p in r.postcodes]
                for insee, history in self._competence.data.items()
            }
            self._communes = self._communes_base.with_postcodes(postcodes)
            self._competence_changed = False
        for part in (self._units, self._sites, self._competence, self._rules,
                     self._availability):
            part.shared = True
        self._generation += 1
        versions = self.versions()
        snap = ReferenceSnapshot(
            communes=self._communes,
            competence=CompetenceTable(
                MappingProxyType(self._competence.data), versions["competence"]
            ),
            units=MappingProxyType(self._units.data),
            sites=MappingProxyType(self._sites.data),
            versions=MappingProxyType(versions),
            command_centres=MappingProxyType(command_centres(self._units.data.values())),
            generation=self._generation,
            rules=RuleTable(MappingProxyType(self._rules.data), versions["rules"]),
            availability=MappingProxyType(self._availability.data),
        )
        self._snapshot = snap
        return snap

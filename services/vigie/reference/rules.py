"""Routing rules as reference data: when each unit is on duty, where its events go otherwise.

Why data and not code: service hours, fallbacks and overflow limits are operational choices
of the forces, they change (a brigade's hours, a new backup centre), and the ones shipped for
Oise are partly inferred: each record says where its values come from (``provenance``,
``inferred``), exactly like the competence table. Rules are effective-dated per unit
(``lookup(unit, on)``), so a change of hours can be loaded before it applies.

Public holidays come from the ``holidays`` library (France's calendar, kept up to date by its
maintainers, Easter-based dates included), never from a hand-written list.

The file format (``data/rules-oise.json``) names a few schedules once and gives each unit a
schedule, a fallback and an overflow limit, and lists the exercises (CAP ``Exercise``: name,
start, end, whether alerts escalate, units taking part) once for all their units;
``load_rules_file`` expands it into one ``UnitRules`` record per unit, which is also what
``ref.rules.v1`` carries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from vigie.contracts.enums import HOLIDAY, WEEKDAYS, Lane, RoutingRule
from vigie.contracts.models import ServiceWindow, UnitRules, minutes_of
from vigie.reference.dated import by_key_and_date, in_force

DATA_DIR = Path(__file__).resolve().parent / "data"
RULES_FILE = DATA_DIR / "rules-oise.json"
#: Written in a rules file instead of a list of windows: on duty round the clock.
ROUND_THE_CLOCK = "24/7"


@dataclass(frozen=True)
class RulesFile:
    """The records of a rules file, its version (content hash) and its description."""

    records: tuple[UnitRules, ...]
    version: str
    about: str = ""


def _hours(value: Any) -> list[ServiceWindow] | None:
    if value == ROUND_THE_CLOCK or value is None:
        return None
    return [ServiceWindow.model_validate(w) for w in value]


def parse_rules(document: Mapping[str, Any], version: str) -> tuple[UnitRules, ...]:
    """Expand a rules document (named schedules + per-unit entries) into records.

    Each record's provenance joins the sources of its parts (schedule, fallback, limits,
    lanes), so that a record read alone on the topic still says where each value comes from.
    """
    defaults = dict(document.get("defaults", {}))
    defaults_provenance = str(document.get("defaults_provenance", "")).strip()
    schedules = document.get("schedules", {})
    start = date.fromisoformat(str(document.get("effective_from", "2000-01-01")))
    exercises = _exercises_by_unit(document)
    named = {str(entry["unit_id"]) for entry in document["units"]}
    if set(exercises) - named:
        raise ValueError("an exercise names units without an entry in the rules file: "
                         + ", ".join(sorted(set(exercises) - named)))
    records = []
    for entry in document["units"]:
        entry = dict(entry)
        entry.setdefault("exercises", exercises.get(str(entry["unit_id"]), []))
        sources = []
        inferred = bool(entry.pop("inferred", False))
        schedule_name = entry.pop("schedule", None)
        if schedule_name is not None:
            schedule = schedules[schedule_name]
            entry.setdefault("hours", schedule["hours"])
            sources.append(f"hours ({schedule_name}): {schedule['provenance']}")
            inferred = inferred or bool(schedule.get("inferred", False))
        own = str(entry.pop("provenance", "")).strip()
        if own:
            sources.append(own)
        if defaults_provenance:
            sources.append(defaults_provenance)
        inferred = inferred or bool(document.get("defaults_inferred", False))
        values = {**defaults, **entry}
        values["hours"] = _hours(values.get("hours", ROUND_THE_CLOCK))
        values.setdefault("effective_from", start)
        values.setdefault("version", version)
        records.append(
            UnitRules.model_validate(
                {**values, "provenance": " | ".join(sources), "inferred": inferred}
            )
        )
    return tuple(sorted(records, key=lambda r: (r.unit_id, r.effective_from)))


def _exercises_by_unit(document: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The file's exercises (``"exercises": [{"name", "start", "end", "escalate", "units"}]``,
    written once for all their units) as each unit's list of windows."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for exercise in document.get("exercises", ()):
        window = {key: exercise[key] for key in ("name", "start", "end", "escalate")
                  if key in exercise}
        for unit_id in exercise["units"]:
            by_unit.setdefault(str(unit_id), []).append(window)
    return by_unit


def load_rules_file(path: Path = RULES_FILE) -> RulesFile:
    """Read and validate a rules file; the version is its name plus a hash of its bytes."""
    raw = path.read_bytes()
    version = f"{path.name}@{hashlib.sha256(raw).hexdigest()[:12]}"
    document = json.loads(raw)
    return RulesFile(parse_rules(document, version), version, str(document.get("about", "")))


# -- public holidays ------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _holidays_of(calendar: str, year: int) -> Mapping[date, str]:
    country, _, subdivision = calendar.partition("-")
    # Names in French where the calendar has them (explanations are read by the forces).
    try:
        found = holidays.country_holidays(country, subdiv=subdivision or None, years=year,
                                          language="fr")
    except NotImplementedError:  # a calendar without French names
        found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return MappingProxyType(dict(found.items()))


def public_holiday(calendar: str, day: date) -> str | None:
    """The name of the public holiday on ``day`` in ``calendar`` ("FR", "FR-57"), or None."""
    return _holidays_of(calendar, day.year).get(day)


# -- the table ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleTable:
    """Read-only, effective-dated rules: per unit, records sorted by ``effective_from``.

    Built from a mapping the owner promises not to mutate (``ReferenceStore`` copies on
    write), so building a table costs nothing per event."""

    _by_unit: Mapping[str, tuple[UnitRules, ...]] = field(default_factory=dict)
    version: str = ""

    @classmethod
    def from_records(cls, records: Iterable[UnitRules], version: str = "") -> RuleTable:
        return cls(by_key_and_date(records, lambda r: r.unit_id), version)

    def lookup(self, unit_id: str, on: date | None = None) -> UnitRules | None:
        """The record in force on ``on`` (default: the latest one loaded)."""
        return in_force(self._by_unit.get(unit_id, ()), on)

    def history(self, unit_id: str) -> tuple[UnitRules, ...]:
        return self._by_unit.get(unit_id, ())

    def records(self) -> Iterator[UnitRules]:
        for unit_id in sorted(self._by_unit):
            yield from self._by_unit[unit_id]

    def __len__(self) -> int:
        return len(self._by_unit)

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._by_unit


# -- compiled form, what the policy evaluates -----------------------------------------------
HOLIDAYS_FR = "jours fériés"
Windows = tuple[tuple[int, int], ...]
#: Day names in explanations and ``vigie route explain`` (French: read by the forces).
_DAY_NAMES = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")


def _windows_text(windows: Windows) -> str:
    if not windows:
        return "fermé"
    return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in windows)


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """A ``UnitRules`` record in the form the policy checks fast: minutes per weekday."""

    rules: UnitRules | None
    zone: ZoneInfo | None
    #: Windows per weekday (Monday first) and on public holidays, in minutes since midnight.
    week: tuple[Windows, ...]
    holiday: Windows
    round_the_clock: bool
    hours_lanes: frozenset[Lane]
    unavailable_lanes: frozenset[Lane]
    overflow_lanes: frozenset[Lane]

    @property
    def fallback_unit_id(self) -> str | None:
        return self.rules.fallback_unit_id if self.rules is not None else None

    @property
    def overflow_limit(self) -> int | None:
        return self.rules.overflow_limit if self.rules is not None else None

    @property
    def version(self) -> str | None:
        return self.rules.version if self.rules is not None else None

    def off_duty(self, at: datetime) -> tuple[RoutingRule, str] | None:
        """None when the unit is on duty at ``at``; else the rule and a fixed-form detail
        (local time, the hours of that day, the holiday's name: reference data only)."""
        if self.round_the_clock or self.zone is None or self.rules is None:
            return None
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        holiday = public_holiday(self.rules.holiday_calendar, local.date())
        windows = self.holiday if holiday is not None else self.week[local.weekday()]
        for start, end in windows:
            if start <= minute < end:
                return None
        when = f"{_DAY_NAMES[local.weekday()]} {local:%Y-%m-%d %H:%M} {local.tzname()}"
        if holiday is not None:
            return (RoutingRule.PUBLIC_HOLIDAY,
                    f"{when}, jour férié ({holiday}), horaires des jours fériés "
                    f"{_windows_text(windows)}")
        return RoutingRule.OUTSIDE_HOURS, f"{when}, horaires {_windows_text(windows)}"


_ALL_DAY: Windows = ((0, 24 * 60),)


def _merge(windows: list[tuple[int, int]]) -> Windows:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def compile_rules(rules: UnitRules | None) -> CompiledRules:
    """The compiled form of a record; ``None`` (a unit without rules) is on duty round the
    clock, with no fallback and no limit, and unavailability diverts every lane."""
    if rules is None:
        return CompiledRules(None, None, (_ALL_DAY,) * 7, _ALL_DAY, True,
                             frozenset({Lane.ALERT}), frozenset(Lane), frozenset({Lane.ALERT}))
    per_day: dict[str, list[tuple[int, int]]] = {d: [] for d in (*WEEKDAYS, HOLIDAY)}
    for window in rules.hours or ():
        for day in window.days:
            per_day[day].append((minutes_of(window.start), minutes_of(window.end)))
    week = tuple(_merge(per_day[d]) for d in WEEKDAYS)
    holiday = _merge(per_day[HOLIDAY])
    always = rules.hours is None or all(w == _ALL_DAY for w in (*week, holiday))
    return CompiledRules(
        rules=rules,
        zone=ZoneInfo(rules.time_zone),
        week=week,
        holiday=holiday,
        round_the_clock=always,
        hours_lanes=frozenset(rules.hours_lanes),
        unavailable_lanes=frozenset(rules.unavailable_lanes),
        overflow_lanes=frozenset(rules.overflow_lanes),
    )


def describe_hours(rules: UnitRules | None) -> str:
    """Service hours in one line (French), for ``vigie route explain`` and the docs."""
    compiled = compile_rules(rules)
    if compiled.round_the_clock:
        return "24 h/24"
    # Consecutive days with the same hours are written once: "Mon-Sat 08:00-12:00, ...".
    groups: list[tuple[list[str], Windows]] = []
    for name, windows in [*zip(_DAY_NAMES, compiled.week, strict=True),
                          (HOLIDAYS_FR, compiled.holiday)]:
        if groups and groups[-1][1] == windows and name != HOLIDAYS_FR:
            groups[-1][0].append(name)
        else:
            groups.append(([name], windows))
    parts = []
    for names, windows in groups:
        label = names[0] if len(names) == 1 else f"{names[0]}-{names[-1]}"
        parts.append(f"{label} {_windows_text(windows)}")
    return " ; ".join(parts)


def check_rules(table: RuleTable, unit_ids: Iterable[str]) -> list[str]:
    """Problems of a rule set against the units: rules or fallbacks naming unknown units.

    Fallback loops are not problems: the default command centres back each other up (CORG
    -> CIC -> CORG), and the policy stops at a unit it already passed over."""
    known = set(unit_ids)
    problems: list[str] = []
    for record in table.records():
        if record.unit_id not in known:
            problems.append(f"rules name unknown unit {record.unit_id}")
        if record.fallback_unit_id is not None and record.fallback_unit_id not in known:
            problems.append(f"{record.unit_id}: unknown fallback {record.fallback_unit_id}")
    return problems

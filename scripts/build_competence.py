"""Build the default units and competence table of Oise from the facts in domain.md.

domain.md: the project's domain notes, beside the repository in ``../shared/context/`` (not
published with it); services/vigie/reference/data/README.md restates the facts used here.

Why a script: until an operator imports the official "Compétence territoriale gendarmerie et
police nationales" file, Vigie needs a table in which every one of the 680 communes resolves
to exactly one unit. The script writes it from a few sourced facts and one explicit,
reproducible inference, and flags every inferred row (column ``inferred``) with its reason
(column ``provenance``), so nobody mistakes it for the official table.

Sourced (domain.md):
- CSP Creil = Creil, Montataire, Nogent-sur-Oise, Villers-Saint-Paul (AN question
  12-1718QOSD); the circonscriptions of Beauvais and Compiègne contain their city;
- everything outside the three police circonscriptions is gendarmerie zone;
- gendarmerie companies Beauvais, Clermont, Compiègne, Méru, Senlis; brigades Chambly,
  Clermont, Grandvilliers, Liancourt, Bresles, Nanteuil-le-Haudouin, Verberie,
  Saint-Leu-d'Esserent, Catenoy; every company seat also has a brigade; CORG in Beauvais;
  the police has a departmental command centre (CIC).

Inferred (flagged):
- Margny-lès-Compiègne in the Compiègne circonscription (continuous built-up area with
  Compiègne across the Oise; not confirmed). No commune is added to Beauvais.
- each gendarmerie-zone commune goes to the brigade whose seat commune has the nearest
  centroid (the seat commune itself is not flagged);
- each brigade belongs to the company whose seat is nearest (no canton-to-company mapping
  was found).

Usage: ``PYTHONPATH=services python scripts/build_competence.py``
"""

from __future__ import annotations

import csv
import json
import math
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

import shapely  # noqa: E402

from vigie.reference.communes import Commune, default_commune_index  # noqa: E402

DATA = ROOT / "services" / "vigie" / "reference" / "data"
UNITS_OUT = DATA / "units-oise.json"
COMPETENCE_OUT = DATA / "competence-oise.csv"
OFFICIAL_COLUMNS = [
    "code_commune",
    "libelle_commune",
    "institution",
    "id_service",
    "service",
    "code_postal",
    "codes_postaux",
]
EXTRA_COLUMNS = ["provenance", "inferred"]

AN_QUESTION = "AN question 12-1718QOSD (CSP Creil)"
CIRCO_SOURCE = "domain.md: seat of a police circonscription (press, parliamentary sources)"

#: Police circonscriptions: unit id -> (name, seat INSEE, sourced members, inferred members).
POLICE = {
    "pn-csp-beauvais": ("Circonscription de sécurité publique de Beauvais", "60057", {}, {}),
    "pn-csp-creil": (
        "Circonscription de sécurité publique de Creil",
        "60175",
        {"60414": AN_QUESTION, "60463": AN_QUESTION, "60684": AN_QUESTION},
        {},
    ),
    "pn-csp-compiegne": (
        "Circonscription de sécurité publique de Compiègne",
        "60159",
        {},
        {"60382": "inferred: built-up area of Compiègne (Margny-lès-Compiègne), not confirmed"},
    ),
}
#: Gendarmerie companies (seat INSEE) and known brigades (seat INSEE).
COMPANIES = {
    "beauvais": "60057",
    "clermont": "60157",
    "compiegne": "60159",
    "meru": "60395",
    "senlis": "60612",
}
BRIGADES = {
    "beauvais": "60057",
    "bresles": "60103",
    "catenoy": "60130",
    "chambly": "60139",
    "clermont": "60157",
    "compiegne": "60159",
    "grandvilliers": "60286",
    "liancourt": "60360",
    "meru": "60395",
    "nanteuil-le-haudouin": "60446",
    "saint-leu-d-esserent": "60584",
    "senlis": "60612",
    "verberie": "60667",
}
#: Communes domain.md names as confirmed gendarmerie zone.
CONFIRMED_GN = {
    "60395", "60139", "60471", "60612", "60141", "60176", "60509", "60157", "60403", "60616",
}  # fmt: skip


def _centroid_m(commune: Commune) -> tuple[float, float]:
    """Centroid in a local metric frame (equirectangular at 49.4°N): distances to ~0.5 %."""
    c = shapely.centroid(commune.geometry)
    return (c.x * 111_320.0 * math.cos(math.radians(49.4)), c.y * 111_132.0)


def _distance_km(a: Commune, b: Commune) -> float:
    (ax, ay), (bx, by) = _centroid_m(a), _centroid_m(b)
    return math.hypot(ax - bx, ay - by) / 1000.0


def _seat_name(commune: Commune) -> str:
    """ "Brigade de gendarmerie de Méru": French elision before a vowel is not attempted."""
    return commune.name


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def build_units(index) -> tuple[list[dict], dict[str, str], dict[str, tuple[str, float]]]:
    """Units and their provenance; also each brigade's company with the distance used."""
    units: list[dict] = [
        {
            "unit_id": "pn-cic-oise",
            "force": "PN",
            "kind": "COMMAND_CENTRE",
            "name": "Centre d'information et de commandement de la police nationale de l'Oise",
            "parent_id": None,
            "command_centre_id": None,
        },
        {
            "unit_id": "gn-corg-oise",
            "force": "GN",
            "kind": "COMMAND_CENTRE",
            "name": "Centre d'opérations et de renseignement de la gendarmerie de l'Oise "
            "(Beauvais)",
            "parent_id": None,
            "command_centre_id": None,
        },
    ]
    provenance = {
        "pn-cic-oise": "domain.md: the police has a departmental command centre (CIC)",
        "gn-corg-oise": "domain.md: the gendarmerie operations centre (CORG) is in Beauvais",
    }
    for unit_id, (name, _seat, _src, _inf) in POLICE.items():
        units.append(
            {
                "unit_id": unit_id,
                "force": "PN",
                "kind": "CIRCONSCRIPTION",
                "name": name,
                "parent_id": None,
                "command_centre_id": "pn-cic-oise",
            }
        )
        provenance[unit_id] = "domain.md: three police circonscriptions, Beauvais, Creil, Compiègne"
    for key, seat in COMPANIES.items():
        commune = index.by_insee(seat)
        units.append(
            {
                "unit_id": f"gn-cie-{key}",
                "force": "GN",
                "kind": "COMPAGNIE",
                "name": f"Compagnie de gendarmerie départementale de {_seat_name(commune)}",
                "parent_id": None,
                "command_centre_id": "gn-corg-oise",
            }
        )
        provenance[f"gn-cie-{key}"] = "domain.md: gendarmerie companies known in Oise"
    company_of: dict[str, tuple[str, float]] = {}
    for key, seat in BRIGADES.items():
        commune = index.by_insee(seat)
        if key in COMPANIES:
            company_of[key] = (f"gn-cie-{key}", 0.0)
            note = "domain.md: every company seat also has a brigade; parent: same seat"
        else:
            best = min(
                COMPANIES.items(),
                key=lambda kv: (_distance_km(commune, index.by_insee(kv[1])), kv[0]),
            )
            km = _distance_km(commune, index.by_insee(best[1]))
            company_of[key] = (f"gn-cie-{best[0]}", km)
            note = (
                "domain.md: brigade seen in Oise; parent company inferred "
                f"(nearest company seat, {km:.1f} km)"
            )
        units.append(
            {
                "unit_id": f"gn-bt-{key}",
                "force": "GN",
                "kind": "BRIGADE",
                "name": f"Brigade de gendarmerie de {_seat_name(commune)}",
                "parent_id": company_of[key][0],
                "command_centre_id": "gn-corg-oise",
            }
        )
        provenance[f"gn-bt-{key}"] = note
    units.sort(key=lambda u: u["unit_id"])
    return units, dict(sorted(provenance.items())), company_of


def build_competence(index, units: list[dict]) -> list[dict[str, str]]:
    """One row per commune, official columns plus provenance and inferred."""
    name_of = {u["unit_id"]: u["name"] for u in units}
    police: dict[str, tuple[str, str, bool]] = {}
    for unit_id, (_name, seat, sourced, inferred) in POLICE.items():
        police[seat] = (unit_id, CIRCO_SOURCE, False)
        for insee, why in sourced.items():
            police[insee] = (unit_id, why, False)
        for insee, why in inferred.items():
            police[insee] = (unit_id, why, True)
    seats = {key: index.by_insee(insee) for key, insee in BRIGADES.items()}
    rows: list[dict[str, str]] = []
    for commune in index:
        if commune.insee in police:
            unit_id, why, inferred = police[commune.insee]
            institution = "PN"
        else:
            institution = "GN"
            force_why = (
                "GN zone confirmed (domain.md)"
                if commune.insee in CONFIRMED_GN
                else "GN zone: outside the three police circonscriptions"
            )
            key, km = min(
                ((k, _distance_km(commune, seat)) for k, seat in seats.items()),
                key=lambda kv: (kv[1], kv[0]),
            )
            unit_id = f"gn-bt-{key}"
            if seats[key].insee == commune.insee:
                why, inferred = f"{force_why}; seat of the brigade", False
            else:
                why = f"{force_why}; brigade inferred: nearest brigade seat ({km:.1f} km)"
                inferred = True
        postcodes = list(commune.postcodes)
        rows.append(
            {
                "code_commune": commune.insee,
                "libelle_commune": commune.name,
                "institution": institution,
                "id_service": unit_id,
                "service": name_of[unit_id],
                "code_postal": postcodes[0] if postcodes else "",
                "codes_postaux": "-".join(postcodes),
                "provenance": why,
                "inferred": "true" if inferred else "false",
            }
        )
    return rows


def main() -> int:
    index = default_commune_index()
    units, provenance, _ = build_units(index)
    rows = build_competence(index, units)
    document = {
        "about": "Default units of Oise for Vigie, built by scripts/build_competence.py from "
        "docs in ../shared/context/domain.md. Names are data; ids are stable keys.",
        "provenance": provenance,
        "units": units,
    }
    UNITS_OUT.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", "utf-8")
    with COMPETENCE_OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=OFFICIAL_COLUMNS + EXTRA_COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    per_unit: dict[str, int] = {}
    for row in rows:
        per_unit[row["id_service"]] = per_unit.get(row["id_service"], 0) + 1
    inferred = sum(row["inferred"] == "true" for row in rows)
    print(f"{len(units)} units, {len(rows)} communes ({inferred} inferred)")
    for unit_id, count in sorted(per_unit.items()):
        print(f"  {_ascii(unit_id):28} {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

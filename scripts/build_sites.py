"""Build ``services/vigie/reference/data/sites-sample.json``: invented sites of four landlords.

Why invented: the landlords' real site registries are theirs and travel on ``ref.sites.v1``;
demos and tests need a plausible sample. Residence and street names are invented; communes,
postcodes and priority-district (QPV) names are real, QPV names only where domain.md gives
them. Coordinates are drawn (fixed seed) inside the commune polygon shrunk by ~50 m, so they
locate to the declared INSEE code; they are NOT inside the QPV perimeter itself.

Usage: ``PYTHONPATH=services python scripts/build_sites.py``
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

import shapely  # noqa: E402

from vigie.contracts.models import SiteRecord  # noqa: E402
from vigie.reference.communes import Commune, default_commune_index, normalize_name  # noqa: E402

OUTPUT = ROOT / "services" / "vigie" / "reference" / "data" / "sites-sample.json"
SEED = 601_860
#: Inward buffer (degrees) so that no sample site sits within ~50 m of a commune border.
INWARD_DEG = 0.0006

#: QPV names given by domain.md, per commune (others are left unnamed rather than guessed).
QPV = {
    "Beauvais": ["Argentine", "Saint-Lucien", "Saint-Jean"],
    "Creil": ["Plateau Rouher"],
    "Compiègne": ["Clos des Roses"],
    "Méru": ["La Nacre"],
    "Noyon": ["Beauséjour"],
    "Liancourt": ["Les abords du Parc"],
    "Pont-Sainte-Maxence": ["Font-Robin"],
}
#: Priority security zones of the 2018 convention: Méru-Chambly and Creil.
ZSP_COMMUNES = {"Méru", "Chambly", "Creil"}

#: partner -> list of (commune, number of sites, number of them in a QPV).
PORTFOLIOS: dict[str, list[tuple[str, int, int]]] = {
    "opac-oise": [
        ("Beauvais", 5, 3), ("Compiègne", 3, 1), ("Noyon", 2, 1), ("Méru", 2, 1),
        ("Clermont", 2, 0), ("Crépy-en-Valois", 2, 0), ("Pont-Sainte-Maxence", 1, 1),
        ("Senlis", 1, 0), ("Grandvilliers", 1, 0), ("Formerie", 1, 0), ("Songeons", 1, 0),
        ("Estrées-Saint-Denis", 1, 0),
    ],
    "oise-habitat": [
        ("Creil", 6, 4), ("Montataire", 4, 0), ("Nogent-sur-Oise", 4, 0),
        ("Villers-Saint-Paul", 2, 0), ("Liancourt", 2, 1), ("Pont-Sainte-Maxence", 1, 0),
        ("Saint-Leu-d'Esserent", 1, 0),
    ],
    "clesence": [
        ("Compiègne", 3, 1), ("Margny-lès-Compiègne", 1, 0), ("Noyon", 3, 1),
        ("Beauvais", 3, 1), ("Chambly", 3, 0), ("Méru", 2, 1), ("Senlis", 1, 0),
        ("Chantilly", 1, 0), ("Lamorlaye", 1, 0),
    ],
    "sa-hlm-oise": [
        ("Beauvais", 4, 2), ("Clermont", 3, 0), ("Liancourt", 2, 1), ("Méru", 2, 0),
        ("Chambly", 2, 0), ("Crépy-en-Valois", 2, 0), ("Nanteuil-le-Haudouin", 1, 0),
        ("Creil", 2, 1), ("Saint-Just-en-Chaussée", 1, 0), ("Mouy", 1, 0),
    ],
}  # fmt: skip

RESIDENCES = [
    "Les Tilleuls", "Les Acacias", "Le Clos Fleuri", "Les Peupliers", "La Roseraie",
    "Les Charmilles", "Le Parc des Sources", "Les Hauts Prés", "Le Moulin", "Les Coteaux",
    "La Fontaine", "Les Marronniers", "Les Iris", "Le Bois Joli", "Les Lilas", "La Prairie",
    "Les Jardins du Thérain", "Le Val d'Oise", "Les Cèdres", "La Garenne", "Les Bleuets",
    "Le Verger", "Les Glycines", "La Source", "Les Érables", "Le Belvédère", "Les Saules",
]  # fmt: skip
STREETS = [
    "rue des Écoles", "avenue de la République", "rue Jean Jaurès", "rue Pasteur",
    "allée des Tilleuls", "rue Victor Hugo", "rue du Moulin", "place de la Mairie",
    "rue de la Gare", "chemin des Vignes", "rue Anatole France", "avenue Foch",
]  # fmt: skip


def point_inside(commune: Commune, rng: random.Random) -> tuple[float, float]:
    """A uniformly drawn (lat, lon) inside the commune shrunk by ``INWARD_DEG``."""
    area = shapely.buffer(commune.geometry, -INWARD_DEG)
    if area.is_empty:
        area = commune.geometry
    shapely.prepare(area)
    xmin, ymin, xmax, ymax = area.bounds
    for _ in range(10_000):
        lon, lat = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        if shapely.contains_xy(area, lon, lat):
            return round(lat, 6), round(lon, 6)
    raise RuntimeError(f"no point found inside {commune.name}")


def build() -> list[dict]:
    index = default_commune_index()
    by_name = {normalize_name(c.name): c for c in index}
    sites: list[dict] = []
    for partner, portfolio in PORTFOLIOS.items():
        rng = random.Random(f"{SEED}-{partner}")
        number = 0
        for commune_name, count, in_qpv in portfolio:
            commune = by_name[normalize_name(commune_name)]
            for i in range(count):
                number += 1
                lat, lon = point_inside(commune, rng)
                qpv = None
                if i < in_qpv:
                    names = QPV[commune.name]
                    qpv = names[i % len(names)]
                record = SiteRecord(
                    site_id=f"{partner}-{number:04d}",
                    partner_id=partner,
                    residence_name=f"Résidence {rng.choice(RESIDENCES)}",
                    street=f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
                    postcode=commune.postcodes[0],
                    commune_name=commune.name,
                    insee_code=commune.insee,
                    lat=lat,
                    lon=lon,
                    qpv_name=qpv,
                    zsp=commune.name in ZSP_COMMUNES,
                    homes=rng.randrange(12, 240, 4),
                )
                sites.append(record.model_dump(mode="json"))
    return sites


def main() -> int:
    sites = build()
    OUTPUT.write_text(json.dumps(sites, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(sites)} sites written to {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

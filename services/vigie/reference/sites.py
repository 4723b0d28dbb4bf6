"""Landlords' sites (residences, buildings): the sample file and its loader.

Why only a sample here: each landlord owns its site registry and publishes it on the
compacted ``ref.sites.v1`` topic; the router learns sites from there. The shipped
``data/sites-sample.json`` (invented residences in real communes, built by
``scripts/build_sites.py``) serves demos, simulations and tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from vigie.contracts.models import SiteRecord

DATA_DIR = Path(__file__).resolve().parent / "data"
SITES_SAMPLE_FILE = DATA_DIR / "sites-sample.json"


def load_sites_file(path: Path = SITES_SAMPLE_FILE) -> list[SiteRecord]:
    """Validate every site of a JSON list of SiteRecord objects."""
    return [SiteRecord.model_validate(item) for item in json.loads(path.read_text("utf-8"))]


def load_sample_sites() -> list[SiteRecord]:
    """The invented sites of opac-oise, oise-habitat, clesence and sa-hlm-oise."""
    return load_sites_file(SITES_SAMPLE_FILE)

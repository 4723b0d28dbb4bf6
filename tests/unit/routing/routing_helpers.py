"""Shared builders for the routing tests (one reference store per test session)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from vigie.contracts.enums import Category
from vigie.contracts.models import Address, Coordinates, Location, PartnerEvent
from vigie.reference.snapshot import ReferenceSnapshot, ReferenceStore

SENT = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
#: Points well inside a few communes (sample sites' coordinates).
CREIL = (49.2578, 2.4826)
BEAUVAIS = (49.4296, 2.0807)
MERU = (49.2365, 2.1335)
PARIS = (48.8566, 2.3522)


@lru_cache(maxsize=1)
def sample_snapshot() -> ReferenceSnapshot:
    return ReferenceStore.with_sample_sites().snapshot()


def event(
    *,
    partner_id: str = "opac-oise",
    category: Category = Category.DAMAGE,
    site_id: str | None = None,
    at: tuple[float, float] | None = None,
    insee: str | None = None,
    postcode: str | None = None,
    commune: str | None = None,
    **extra: Any,
) -> PartnerEvent:
    location = None
    if at is not None or insee or postcode or commune:
        location = Location(
            coordinates=Coordinates(lat=at[0], lon=at[1]) if at else None,
            address=Address(insee_code=insee, postcode=postcode, commune_name=commune)
            if (insee or postcode or commune)
            else None,
        )
    return PartnerEvent(
        event_id="6f1c2a9e-3b7d-4c55-9a8e-0d2f4b6c8e10",
        partner_id=partner_id,
        sent_at=extra.pop("sent_at", SENT),
        occurred_at=extra.pop("occurred_at", SENT),
        category=category,
        site_id=site_id,
        location=location,
        **extra,
    )

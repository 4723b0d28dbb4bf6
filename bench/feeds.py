"""Fresh events for the runs that publish while they measure (``sent_at`` = now, so that no
event expires on the way: the backlog of ``setup`` is a scripted day instead)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from vigie.contracts.enums import URGENT_CATEGORIES, Category
from vigie.contracts.models import SiteRecord
from vigie.reference.sites import load_sample_sites
from vigie.simulation.feed import FeedMessage, make_event, to_message

#: Non-urgent categories: they go to the partner's incidents topic.
CALM = [c for c in Category if c not in URGENT_CATEGORIES]
#: Urgent categories the alert runs draw from: each goes to a unit's alerts topic.
URGENT = [Category.STAFF_AGGRESSION, Category.WEAPON]


def partner_sites(partner: str | None = None) -> list[SiteRecord]:
    sites = load_sample_sites()
    return [s for s in sites if s.partner_id == partner] if partner else list(sites)


def partner_feed(partner: str, count: int, *, seed: int) -> list[FeedMessage]:
    """``count`` fresh, well-formed incidents (NEW, sent_at = now) from ``partner``'s sites."""
    sites, rng, now = partner_sites(partner), random.Random(seed), datetime.now(UTC)
    return [to_message(make_event(rng.choice(sites), rng, now, category=rng.choice(CALM)))
            for _ in range(count)]


def avg_size(feed: list[FeedMessage]) -> float:
    return sum(len(m.value) for m in feed) / max(1, len(feed))

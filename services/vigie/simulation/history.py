"""A realistic past for the follow-up store: half a year of the sample sites' incidents.

Why: the committee's report and the hotspot notices need months of history, and a newcomer
running ``make run`` has none. The history is what the pipeline would have stored: each
incident is made like the live demo's (``feed.make_event``), routed by the real policy at its
own time (``routing.policy.decide``), and turned into facts by the sink's own functions
(``followup.facts``) — only the Kafka trip is skipped, since the pipeline rejects events
older than its past horizon as no longer live.

A few residences turn into hotspots: one category group rises for two weeks at a chosen
point, so that the daily passes open and later close episodes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigie.contracts.enums import AckStatus, Category, Lane
from vigie.contracts.models import Acknowledgement, RoutedEvent, SiteRecord
from vigie.followup.facts import AckRow, RoutedEventRow, row_of_ack, row_of_routed
from vigie.pipeline.outputs import deterministic_id
from vigie.reference.snapshot import ReferenceSnapshot
from vigie.routing.chain import RoutingContext
from vigie.routing.policy import decide
from vigie.simulation.feed import HOURLY_PROFILE, make_event

#: Reports per residence and week, on average (a busy residence reports more).
WEEKLY_RATE = (0.3, 1.5)
#: Categories a hotspot is made of, by the prevention thresholds' group names.
HOTSPOT_CATEGORIES = (
    (Category.COMMON_AREA_OCCUPATION, Category.INTRUSION),
    (Category.DAMAGE, Category.GRAFFITI),
    (Category.DRUG_DEALING,),
)


@dataclass(frozen=True)
class Hotspot:
    site_id: str
    categories: tuple[Category, ...]
    start: datetime
    days: int = 14
    per_day: float = 1.2


@dataclass
class History:
    routed: list[RoutedEventRow]
    acks: list[AckRow]
    hotspots: list[Hotspot]


def _instants(rng: random.Random, start: datetime, days: int, per_day: float
              ) -> Iterator[datetime]:
    """Arrivals of a Poisson process of ``per_day`` a day over ``days``, thinned by the
    demo's hourly profile (quiet nights, busy evenings)."""
    peak = max(HOURLY_PROFILE)
    rate = per_day * peak * 24 / sum(HOURLY_PROFILE)  # a day at the peak hour's rate
    elapsed = rng.expovariate(rate)
    while elapsed < days:
        at = start + timedelta(days=elapsed)
        if rng.random() < HOURLY_PROFILE[at.hour] / peak:
            yield at
        elapsed += rng.expovariate(rate)


def generate(sites: Sequence[SiteRecord], ref: ReferenceSnapshot, *, end: datetime,
             weeks: int, seed: int = 26, hotspots: int = 3) -> History:
    rng = random.Random(seed)
    start = end - timedelta(weeks=weeks)
    chosen = rng.sample(list(sites), min(hotspots, len(sites)))
    spikes = [Hotspot(site.site_id, HOTSPOT_CATEGORIES[i % len(HOTSPOT_CATEGORIES)],
                      start + timedelta(weeks=rng.randint(weeks // 2, max(weeks - 4, weeks // 2))))
              for i, site in enumerate(chosen)]
    history = History([], [], spikes)
    by_id = {s.site_id: s for s in sites}
    for site in sites:
        rate = rng.uniform(*WEEKLY_RATE) / 7
        for at in _instants(rng, start, weeks * 7, rate):
            _record(history, site, at, None, ref, rng)
    for spike in spikes:
        for at in _instants(rng, spike.start, spike.days, spike.per_day):
            _record(history, by_id[spike.site_id], at, rng.choice(spike.categories), ref, rng)
    return history


def _record(history: History, site: SiteRecord, at: datetime, category: Category | None,
            ref: ReferenceSnapshot, rng: random.Random) -> None:
    event = make_event(site, rng, at, category=category)
    routing = decide(event, ref, RoutingContext(at=at))
    decision = routing.decision
    routed_at = at + timedelta(seconds=rng.uniform(0.2, 2.0))
    row = row_of_routed(RoutedEvent(unit_id=decision.units[0], routed_at=routed_at,
                                    event=event, enrichment=routing.enrichment,
                                    decision=decision))
    assert isinstance(row, RoutedEventRow)
    history.routed.append(row)
    # The unit's answers: alerts taken in charge in minutes, incidents in hours; most closed.
    delay = timedelta(minutes=rng.uniform(1, 12)) if decision.lane is Lane.ALERT else (
        timedelta(hours=rng.uniform(0.5, 30)))
    answers = [(AckStatus.ROUTED, routed_at)]
    if rng.random() < 0.93:
        answers.append((AckStatus.TAKEN_IN_CHARGE, routed_at + delay))
        if rng.random() < 0.85:
            answers.append((AckStatus.CLOSED, routed_at + delay * 3 + timedelta(hours=2)))
    elif decision.lane is Lane.ALERT:
        answers.append((AckStatus.ESCALATED, routed_at + timedelta(minutes=5)))
    for status, issued_at in answers:
        ack = row_of_ack(Acknowledgement(
            ack_id=deterministic_id("history", event.event_id, status.value),
            partner_id=event.partner_id, event_id=event.event_id, status=status,
            issued_at=issued_at.astimezone(UTC), units=list(decision.units)))
        if ack is not None:
            history.acks.append(ack)


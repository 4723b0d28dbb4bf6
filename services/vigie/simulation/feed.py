"""A realistic feed of partner messages: category mix, time of day, alerts, and mistakes.

Used by ``vigie simulate``, ``make run``, the end-to-end tests and the benchmark. Every
message carries what the tests need to check it (``expect``): a well-formed event, a
malformed one (with the reason it must be rejected for), a duplicate, an update, a cancel.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigie.contracts import topics
from vigie.contracts.codec import encode
from vigie.contracts.enums import (
    URGENT_CATEGORIES,
    Category,
    Certainty,
    EventStatus,
    Lane,
    MessageType,
    Severity,
    Urgency,
)
from vigie.contracts.keys import root_event_id
from vigie.contracts.models import PartnerEvent, SiteRecord
from vigie.routing.policy import lane_for

#: Relative frequency of each category in a landlord's reports (illustrative, not official).
CATEGORY_WEIGHTS: dict[Category, float] = {
    Category.DAMAGE: 22,
    Category.GRAFFITI: 10,
    Category.COMMON_AREA_OCCUPATION: 14,
    Category.DRUG_DEALING: 9,
    Category.NOISE: 9,
    Category.INTRUSION: 7,
    Category.FIRE: 5,
    Category.THEFT: 5,
    Category.ABANDONED_VEHICLE: 5,
    Category.RODEO: 4,
    Category.SQUAT: 3,
    Category.OTHER: 3,
    Category.STAFF_THREAT: 2,
    Category.STAFF_AGGRESSION: 1.5,
    Category.WEAPON: 0.5,
}

#: Events per hour of day (relative): quiet nights, busy late afternoons and evenings.
HOURLY_PROFILE = [2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 6, 6, 7, 8, 9, 10, 11, 11, 10, 8, 5, 3]

DESCRIPTIONS = {
    Category.DAMAGE: "Porte du hall forcée, vitre brisée.",
    Category.GRAFFITI: "Tags dans la cage d'escalier B.",
    Category.COMMON_AREA_OCCUPATION: "Regroupement dans le hall, accès gêné.",
    Category.DRUG_DEALING: "Allées et venues suspectes en bas de l'immeuble.",
    Category.NOISE: "Nuisances sonores répétées en soirée.",
    Category.INTRUSION: "Local technique ouvert, serrure arrachée.",
    Category.FIRE: "Départ de feu dans un local poubelles.",
    Category.THEFT: "Vol de matériel dans la loge du gardien.",
    Category.ABANDONED_VEHICLE: "Véhicule épave sur le parking depuis trois semaines.",
    Category.RODEO: "Rodéo de motos sur le parking.",
    Category.SQUAT: "Logement vacant occupé sans droit.",
    Category.OTHER: "Signalement divers.",
    Category.STAFF_THREAT: "Le gardien a été menacé lors de sa tournée.",
    Category.STAFF_AGGRESSION: "Agent d'entretien agressé dans le hall, besoin d'aide.",
    Category.WEAPON: "Arme aperçue aux abords de la résidence.",
}


@dataclass(frozen=True)
class FeedMessage:
    """One record to publish, with what the pipeline is expected to make of it."""

    topic: str
    key: bytes | None
    value: bytes
    partner_id: str
    event_id: str | None
    expect: str  # "route", "reject:<REASON>", "duplicate", "expired"
    urgent: bool = False
    message_type: MessageType = MessageType.NEW


def make_event(
    site: SiteRecord,
    rng: random.Random,
    sent_at: datetime,
    *,
    category: Category | None = None,
    status: EventStatus = EventStatus.ACTUAL,
) -> PartnerEvent:
    """A plausible NEW event at one of the partner's sites."""
    if category is None:
        category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    urgent = category in URGENT_CATEGORIES
    return PartnerEvent(
        event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        partner_id=site.partner_id,
        sent_at=sent_at,
        occurred_at=sent_at - timedelta(minutes=rng.randint(0, 30)),
        status=status,
        message_type=MessageType.NEW,
        category=category,
        urgency=Urgency.IMMEDIATE if urgent else rng.choice([Urgency.EXPECTED, Urgency.PAST]),
        severity=Severity.SEVERE if urgent else rng.choice([Severity.MINOR, Severity.MODERATE]),
        certainty=Certainty.OBSERVED,
        site_id=site.site_id,
        staff_involved=category in (Category.STAFF_AGGRESSION, Category.STAFF_THREAT),
        persons_in_danger=category is Category.STAFF_AGGRESSION,
        description=DESCRIPTIONS[category],
    )


def follow_up(original: PartnerEvent, kind: MessageType, sent_at: datetime,
              rng: random.Random) -> PartnerEvent:
    """An UPDATE or CANCEL that refers to ``original``."""
    text = "Mise à jour : situation calmée." if kind is MessageType.UPDATE else "Annulation."
    return original.model_copy(update={
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "message_type": kind,
        "references": [original.event_id],
        "sent_at": sent_at,
        "description": text,
    })


def to_message(event: PartnerEvent, expect: str = "route") -> FeedMessage:
    """Encode for the partner's own topic, keyed by the root event id (the contract)."""
    lane = lane_for(event)
    return FeedMessage(topics.partner_input(event.partner_id, lane),
                       root_event_id(event).encode(), encode(event), event.partner_id,
                       event.event_id, expect, lane is Lane.ALERT, event.message_type)


def malformed(site: SiteRecord, rng: random.Random, sent_at: datetime) -> FeedMessage:
    """A message a buggy partner system might send, with the rejection it must get."""
    event = make_event(site, rng, sent_at)
    good = encode(event)
    kind = rng.randrange(4)
    if kind == 0:
        return FeedMessage(topics.partner_incidents(site.partner_id), event.event_id.encode(),
                           b'{"json": "not avro"}', site.partner_id, None, "reject:BAD_MARKER")
    if kind == 1:
        return FeedMessage(topics.partner_incidents(site.partner_id), event.event_id.encode(),
                           good[: len(good) // 2], site.partner_id, event.event_id,
                           "reject:TRUNCATED")
    if kind == 2:
        late = event.model_copy(update={"sent_at": sent_at + timedelta(days=2),
                                        "occurred_at": sent_at + timedelta(days=2)})
        return FeedMessage(topics.partner_incidents(site.partner_id), event.event_id.encode(),
                           encode(late), site.partner_id, event.event_id,
                           "reject:FUTURE_TIMESTAMP")
    forged = event.model_copy(update={"partner_id": "someone-else"})
    return FeedMessage(topics.partner_incidents(site.partner_id), event.event_id.encode(),
                       encode(forged), site.partner_id, event.event_id, "reject:SENDER_MISMATCH")


@dataclass(frozen=True)
class FeedMix:
    """Shares of each kind of message in a feed (the rest are well-formed NEW events)."""

    malformed: float = 0.03
    duplicate: float = 0.03
    follow_up: float = 0.05
    expired: float = 0.01


def next_message(
    sites: Sequence[SiteRecord],
    rng: random.Random,
    sent_at: datetime,
    history: list[PartnerEvent],
    mix: FeedMix,
) -> FeedMessage:
    """Draw one message; ``history`` keeps the NEW events sent so far (for repeats)."""
    site = rng.choice(sites)
    roll = rng.random()
    if roll < mix.malformed:
        return malformed(site, rng, sent_at)
    roll -= mix.malformed
    if roll < mix.duplicate and history:
        return to_message(rng.choice(history), expect="duplicate")
    roll -= mix.duplicate
    if roll < mix.follow_up and history:
        kind = rng.choice([MessageType.UPDATE, MessageType.CANCEL])
        return to_message(follow_up(rng.choice(history), kind, sent_at, rng))
    roll -= mix.follow_up
    if roll < mix.expired:
        event = make_event(site, rng, sent_at - timedelta(minutes=5)).model_copy(
            update={"expires_at": sent_at - timedelta(minutes=1)})
        return to_message(event, expect="expired")
    event = make_event(site, rng, sent_at)
    history.append(event)
    return to_message(event)


def scripted_day(
    sites: Sequence[SiteRecord],
    count: int,
    *,
    seed: int = 2018,
    end: datetime | None = None,
    mix: FeedMix | None = None,
) -> Iterator[FeedMessage]:
    """``count`` messages over the 24 hours before ``end``, following the hourly profile."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    day_start = end - timedelta(hours=24)
    offsets = sorted(
        timedelta(hours=rng.choices(range(24), weights=HOURLY_PROFILE)[0],
                  seconds=rng.randrange(3600))
        for _ in range(count)
    )
    history: list[PartnerEvent] = []
    for offset in offsets:
        yield next_message(sites, rng, day_start + offset, history, mix or FeedMix())


def new_seed() -> int:
    """A fresh seed: event ids are drawn from the seed, and a replayed seed would repeat ids
    the broker (and Vigie's table) already hold, so every event would come back DUPLICATE."""
    return random.SystemRandom().randrange(2**31)


def live_feed(
    sites: Sequence[SiteRecord], *, seed: int = 2018, mix: FeedMix | None = None
) -> Iterator[FeedMessage]:
    """An endless feed stamped with the current time (``vigie simulate``, ``make run``)."""
    rng = random.Random(seed)
    history: list[PartnerEvent] = []
    while True:
        yield next_message(sites, rng, datetime.now(UTC), history, mix or FeedMix())
        del history[:-500]

"""Builders of partner events for the integration tests, located by INSEE code.

Test partners have ids of their own (see conftest), so events are placed by address rather
than by the shared sample sites.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from vigie.contracts import topics
from vigie.contracts.codec import encode
from vigie.contracts.enums import Category, MessageType
from vigie.contracts.keys import root_event_id
from vigie.contracts.models import Address, Location, PartnerEvent

#: Communes with a known competent force (domain.md): Creil is police, Méru gendarmerie.
COMMUNES = ["60175", "60414", "60463", "60684", "60057", "60159", "60395", "60139", "60471",
            "60612", "60141", "60176", "60509", "60157"]


def incident(partner_id: str, insee: str, *, category: Category = Category.DAMAGE,
             sent_at: datetime | None = None) -> PartnerEvent:
    sent_at = sent_at or datetime.now(UTC) - timedelta(seconds=5)
    return PartnerEvent(
        event_id=str(uuid.uuid4()),
        partner_id=partner_id,
        sent_at=sent_at,
        occurred_at=sent_at - timedelta(minutes=3),
        message_type=MessageType.NEW,
        category=category,
        location=Location(address=Address(insee_code=insee)),
        description="Porte du hall forcée.",
    )


def record_for(event: PartnerEvent) -> tuple[str, bytes, bytes]:
    """(topic, key, value) as the partner must publish it: keyed by the root event id (on
    the incidents topic whatever its lane: the tests choose the topic themselves)."""
    return topics.partner_incidents(event.partner_id), root_event_id(event).encode(), encode(event)

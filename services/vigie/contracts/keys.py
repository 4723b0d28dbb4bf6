"""The keying contract: every message about one incident carries the same Kafka key.

A partner keys each message by its *root* event id — the event id of a NEW, the first
referenced event id of an UPDATE or CANCEL — and units key a status by the event id it is
about. With Kafka's murmur2 partitioner this puts every message of one incident in one
partition, in order, next to the worker state that remembers it (docs/contracts.md). One
home for the rule: the workers check it, and the clients, simulator and tests apply it.
"""

from __future__ import annotations

from vigie.contracts.enums import MessageType
from vigie.contracts.models import PartnerEvent


def root_event_id(event: PartnerEvent) -> str:
    """The id that keys every message of ``event``'s incident.

    A NEW is its own root even if it (wrongly) carries references: keyed by its event id, it
    reaches validation and is answered UNEXPECTED_REFERENCES, which tells the partner more
    than a KEY_MISMATCH would."""
    if event.message_type is MessageType.NEW or not event.references:
        return event.event_id
    return event.references[0]

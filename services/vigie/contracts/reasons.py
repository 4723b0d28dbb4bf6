"""Stable reason codes for every rejection, dead letter and non-routing outcome.

Why a closed list: the code travels in acknowledgements to partners, in dead letters and in
metrics labels, so it must never change spelling and must never carry message content
(descriptions may hold personal data). The French text is fixed per code, for humans.
Codes are append-only: never rename or reuse one (partners may branch on them).
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Why a message was refused or handled differently; ``message_fr`` is the fixed text."""

    # Framing and decoding (vigie.contracts.codec)
    EMPTY_MESSAGE = "EMPTY_MESSAGE"
    BAD_MARKER = "BAD_MARKER"
    UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA"
    TRUNCATED = "TRUNCATED"
    TRAILING_BYTES = "TRAILING_BYTES"
    OVERSIZED = "OVERSIZED"
    SCHEMA_VIOLATION = "SCHEMA_VIOLATION"
    # Business validation (vigie.contracts.validation)
    INVALID_EVENT_ID = "INVALID_EVENT_ID"
    SENDER_MISMATCH = "SENDER_MISMATCH"
    FUTURE_TIMESTAMP = "FUTURE_TIMESTAMP"
    INCONSISTENT_TIMESTAMPS = "INCONSISTENT_TIMESTAMPS"
    INVALID_COORDINATES = "INVALID_COORDINATES"
    INVALID_INSEE = "INVALID_INSEE"
    INVALID_POSTCODE = "INVALID_POSTCODE"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    MISSING_REFERENCES = "MISSING_REFERENCES"
    UNEXPECTED_REFERENCES = "UNEXPECTED_REFERENCES"
    KEY_MISMATCH = "KEY_MISMATCH"
    EVENT_ID_CONFLICT = "EVENT_ID_CONFLICT"
    WRONG_PARTITION = "WRONG_PARTITION"
    UNSAFE_TEXT = "UNSAFE_TEXT"
    TOO_OLD = "TOO_OLD"
    # Routing and lifecycle (used by the routing and acknowledgement workers)
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    OUT_OF_AREA = "OUT_OF_AREA"
    UNKNOWN_SITE = "UNKNOWN_SITE"
    SITE_OF_OTHER_PARTNER = "SITE_OF_OTHER_PARTNER"
    EXPIRED = "EXPIRED"
    STATUS_NOT_ALLOWED = "STATUS_NOT_ALLOWED"
    UNKNOWN_UNIT = "UNKNOWN_UNIT"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    UNLOCATED = "UNLOCATED"
    NO_UNIT_ON_DUTY = "NO_UNIT_ON_DUTY"
    # CAP status (vigie.routing.cap, issue 18)
    TEST_EVENT = "TEST_EVENT"
    NOT_IN_EXERCISE = "NOT_IN_EXERCISE"
    CAP_STATUS_MISMATCH = "CAP_STATUS_MISMATCH"

    @property
    def message_fr(self) -> str:
        """Fixed French text shown to partners and operators."""
        return MESSAGES_FR[self]

    @property
    def when(self) -> str:
        """When the code is used (English, for docs and operators)."""
        return WHEN[self]


MESSAGES_FR: dict[ReasonCode, str] = {
    ReasonCode.EMPTY_MESSAGE: "Message vide.",
    ReasonCode.BAD_MARKER: "En-tête non reconnu (encodage Avro « single-object » attendu).",
    ReasonCode.UNKNOWN_SCHEMA: "Version de schéma inconnue (empreinte non reconnue).",
    ReasonCode.TRUNCATED: "Message tronqué : le contenu s'arrête avant la fin attendue.",
    ReasonCode.TRAILING_BYTES: "Octets superflus après la fin du message.",
    ReasonCode.OVERSIZED: "Message trop volumineux.",
    ReasonCode.SCHEMA_VIOLATION: "Le contenu ne respecte pas le contrat du message.",
    ReasonCode.INVALID_EVENT_ID: "Identifiant d'événement invalide (UUID attendu).",
    ReasonCode.SENDER_MISMATCH: "L'émetteur déclaré ne correspond pas au canal de publication.",
    ReasonCode.FUTURE_TIMESTAMP: "Horodatage situé dans le futur.",
    ReasonCode.INCONSISTENT_TIMESTAMPS: "Horodatages incohérents entre eux.",
    ReasonCode.INVALID_COORDINATES: "Coordonnées géographiques invalides.",
    ReasonCode.INVALID_INSEE: "Code INSEE de commune invalide.",
    ReasonCode.INVALID_POSTCODE: "Code postal invalide.",
    ReasonCode.TEXT_TOO_LONG: "Texte trop long.",
    ReasonCode.INVALID_IDENTIFIER: "Identifiant mal formé.",
    ReasonCode.MISSING_REFERENCES: "Une mise à jour ou une annulation doit citer l'événement visé.",
    ReasonCode.UNEXPECTED_REFERENCES: "Un nouvel événement ne doit citer aucun événement.",
    ReasonCode.KEY_MISMATCH: "La clé Kafka doit être l'identifiant de l'événement initial.",
    ReasonCode.EVENT_ID_CONFLICT: "Identifiant d'événement déjà utilisé par un autre émetteur.",
    ReasonCode.WRONG_PARTITION: (
        "Message publié sur une partition autre que celle de sa clé : configurez le "
        "partitionneur murmur2 (Java par défaut ; librdkafka : partitioner=murmur2_random)."
    ),
    ReasonCode.UNSAFE_TEXT: (
        "Texte contenant des caractères interdits (caractères de contrôle, NUL ou "
        "contrôles de direction bidirectionnelle)."
    ),
    ReasonCode.TOO_OLD: "Faits trop anciens pour être acheminés comme un signalement en cours.",
    ReasonCode.UNKNOWN_REFERENCE: "L'événement cité est inconnu.",
    ReasonCode.OUT_OF_AREA: "Lieu hors du département de l'Oise.",
    ReasonCode.UNKNOWN_SITE: "Site (résidence) inconnu.",
    ReasonCode.SITE_OF_OTHER_PARTNER: "Le site appartient à un autre bailleur.",
    ReasonCode.EXPIRED: "Événement expiré avant son acheminement.",
    ReasonCode.STATUS_NOT_ALLOWED: "Changement de statut non autorisé.",
    ReasonCode.UNKNOWN_UNIT: "Unité inconnue.",
    ReasonCode.INTERNAL_ERROR: "Erreur interne ; le message sera réexaminé.",
    ReasonCode.UNLOCATED: (
        "Lieu non déterminé (ni site connu, ni coordonnées, ni adresse exploitable) : "
        "orienté vers un tri manuel."
    ),
    ReasonCode.NO_UNIT_ON_DUTY: (
        "Aucune unité de repli disponible selon les règles d'acheminement : orienté vers un "
        "tri manuel au centre départemental."
    ),
    ReasonCode.TEST_EVENT: (
        "Événement de test (statut CAP « Test ») : traité de bout en bout, puis remis au bac "
        "à sable du bailleur ; aucune unité ne l'a reçu."
    ),
    ReasonCode.NOT_IN_EXERCISE: (
        "Événement d'exercice : aucune unité destinataire ne participe à un exercice en "
        "cours ; remis au bac à sable du bailleur, aucune unité ne l'a reçu."
    ),
    ReasonCode.CAP_STATUS_MISMATCH: (
        "Une mise à jour ou une annulation doit avoir le même statut (réel, exercice, test) "
        "que l'événement initial."
    ),
}

WHEN: dict[ReasonCode, str] = {
    ReasonCode.EMPTY_MESSAGE: "decode: zero-byte value (or tombstone) on an input topic",
    ReasonCode.BAD_MARKER: "decode: value does not start with the 0xC3 0x01 marker",
    ReasonCode.UNKNOWN_SCHEMA: "decode: writer fingerprint is not a known version of the message",
    ReasonCode.TRUNCATED: "decode: header or body ends early",
    ReasonCode.TRAILING_BYTES: "decode: bytes left after the record",
    ReasonCode.OVERSIZED: "decode: value larger than the configured maximum (64 KiB default)",
    ReasonCode.SCHEMA_VIOLATION: "decode: body is not valid Avro or violates the model",
    ReasonCode.INVALID_EVENT_ID: "validation: event_id is not a canonical UUID",
    ReasonCode.SENDER_MISMATCH: "validation: partner_id differs from the topic's partner",
    ReasonCode.FUTURE_TIMESTAMP: "validation: sent_at or occurred_at beyond now + tolerance",
    ReasonCode.INCONSISTENT_TIMESTAMPS: "validation: occurred_at after sent_at, or expiry "
    "before occurrence",
    ReasonCode.INVALID_COORDINATES: "validation: latitude/longitude not finite or out of range",
    ReasonCode.INVALID_INSEE: "validation: INSEE code does not match the INSEE format",
    ReasonCode.INVALID_POSTCODE: "validation: postcode is not five digits",
    ReasonCode.TEXT_TOO_LONG: "validation: description or another string over its bound",
    ReasonCode.INVALID_IDENTIFIER: "validation: partner, site, incident or unit id malformed",
    ReasonCode.MISSING_REFERENCES: "validation: UPDATE/CANCEL without valid references",
    ReasonCode.UNEXPECTED_REFERENCES: "validation: NEW carrying references",
    ReasonCode.KEY_MISMATCH: "intake: Kafka key is not the root event id (event_id of a NEW, "
    "references[0] of an UPDATE/CANCEL)",
    ReasonCode.EVENT_ID_CONFLICT: "intake: the event id was first used by another partner",
    ReasonCode.WRONG_PARTITION: "intake/status: the record is not on the partition murmur2(key) "
    "designates (a spoofed partition or a non-murmur2 partitioner); never looked up in state",
    ReasonCode.UNSAFE_TEXT: "validation: NUL, a C0/C1 control other than tab and newline (CR "
    "only before LF), or a bidi override/isolate character in a string",
    ReasonCode.TOO_OLD: "validation: occurred_at older than the past horizon (30 days default)",
    ReasonCode.UNKNOWN_REFERENCE: "routing: UPDATE/CANCEL cites an event never seen",
    ReasonCode.OUT_OF_AREA: "routing: location outside Oise",
    ReasonCode.UNKNOWN_SITE: "routing: site_id not in the partner's site registry",
    ReasonCode.SITE_OF_OTHER_PARTNER: "routing: site_id belongs to another landlord",
    ReasonCode.EXPIRED: "routing: expires_at passed before the event could be routed",
    ReasonCode.STATUS_NOT_ALLOWED: "status: transition not allowed from the current state",
    ReasonCode.UNKNOWN_UNIT: "status/routing: unit id not in the unit registry",
    ReasonCode.INTERNAL_ERROR: "any stage: unexpected failure, message sent to the dead letters",
    ReasonCode.UNLOCATED: "routing: nothing designates a commune; manual triage (in the ROUTED "
    "acknowledgement)",
    ReasonCode.NO_UNIT_ON_DUTY: "routing: the routing rules diverted the event from the "
    "competent unit and the chain of fallbacks ended without a unit to take it; manual triage "
    "at the departmental command centre (in the ROUTED acknowledgement)",
    ReasonCode.TEST_EVENT: "routing: a TEST event, routed to the partner's sandbox topic instead "
    "of a unit (in the ROUTED acknowledgement, whose units are those it would have reached)",
    ReasonCode.NOT_IN_EXERCISE: "routing: an EXERCISE event whose units take part in no "
    "exercise in force; routed to the partner's sandbox (in the ROUTED acknowledgement)",
    ReasonCode.CAP_STATUS_MISMATCH: "intake: an UPDATE/CANCEL whose CAP status differs from "
    "its root event's (a TEST update of a real event would reach a unit)",
}

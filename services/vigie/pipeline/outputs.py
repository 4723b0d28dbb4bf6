"""The records every stage emits, built in one place: acks, routed copies, dead letters.

Ids are deterministic (uuid5 of where the input sat in Kafka and what was said), so a record
re-sent after a worker crash carries the same id and a consumer can drop the copy.

Hot path (same bytes as building each model and ``encode``-ing it, proven by
``tests/unit/pipeline/test_outputs.py``): acknowledgements are written from a plain
dict, without an ``Acknowledgement`` model; a routed copy is assembled from the Avro
encodings of its fields (a record's binary form is their concatenation): ``unit_id`` +
``routed_at`` per unit, the event once per input, the enrichment and decision once per object
(the policy memoises them per snapshot, so they are cached by identity). Should the routed
event schema ever stop lending itself to that, ``routed_copies`` falls back to ``encode``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from vigie.contracts import topics
from vigie.contracts.codec import (
    FieldsWriter,
    MessageCodec,
    codec_for,
    encode,
    recover_event_id,
)
from vigie.contracts.enums import AckStatus, Lane
from vigie.contracts.mapping import naive_as_utc, to_avro
from vigie.contracts.models import (
    Acknowledgement,
    DeadLetter,
    Enrichment,
    KafkaCoordinates,
    PartnerEvent,
    RoutedEvent,
    RoutingDecision,
    UnitFeedback,
)
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.messages import Inbound, Outbound

#: Longest event id an acknowledgement echoes (a valid one is a 36-character UUID).
EVENT_ID_ECHO_MAX_CHARS = 64

ACK_NAMESPACE = uuid.UUID("6f1c7c2e-6b1e-4f7e-9a53-3d2a6f0f7a10")


_NAMESPACE_SHA1 = hashlib.sha1(ACK_NAMESPACE.bytes)


def deterministic_id(*parts: str) -> str:
    """``str(uuid.uuid5(ACK_NAMESPACE, "|".join(parts)))``, without building UUID objects:
    SHA-1 of namespace + name (the namespace's part hashed once), version 5, RFC 4122 variant."""
    sha = _NAMESPACE_SHA1.copy()
    sha.update("|".join(parts).encode("utf-8"))
    raw = bytearray(sha.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unit_topic(unit_id: str, lane: Lane) -> str:
    return topics.unit_alerts(unit_id) if lane is Lane.ALERT else topics.unit_incidents(unit_id)


def ack(
    msg: Inbound,
    partner_id: str,
    event_id: str | None,
    status: AckStatus,
    now: datetime,
    *,
    units: list[str] | tuple[str, ...] = (),
    reason: ReasonCode | None = None,
    reason_text: str | None = None,
    routing_rule: str | None = None,
    competent_unit: str | None = None,
) -> Outbound:
    """An acknowledgement on the partner's own topic (never another partner's).

    Written from the dict ``to_avro(Acknowledgement(...))`` would give (see module doc).
    An event id longer than any valid one is not echoed (nor used as the key): the Kafka
    coordinates in ``source`` say which message it was."""
    coordinates = msg.coordinates_text
    if event_id is not None and len(event_id) > EVENT_ID_ECHO_MAX_CHARS:
        event_id = None
    record: dict[str, Any] = {
        "ack_id": deterministic_id(coordinates, status.value, event_id or ""),
        "partner_id": partner_id,
        "event_id": event_id,
        "status": status,
        "issued_at": naive_as_utc(now),
        "units": list(units),
        "reason_code": reason.value if reason else None,
        # A text of the moment (a sandbox answer naming its units) over the code's fixed one.
        "reason_message": reason_text or (reason.message_fr if reason else None),
        # Without an event id, the Kafka coordinates are the only way to say which one.
        "source": {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset},
        "routing_rule": routing_rule,
        "competent_unit_id": competent_unit,
    }
    key = (event_id or coordinates).encode()
    return Outbound(topics.partner_acks(partner_id), key,
                    codec_for(Acknowledgement).encode_record(record))


def unit_feedback(
    msg: Inbound,
    unit_id: str,
    event_id: str | None,
    status: str | None,
    reason: ReasonCode,
    now: datetime,
    hint: str | None = None,
) -> Outbound:
    """The answer to a refused unit status, on the unit's own feedback topic: the code, its
    fixed French text and ``hint`` (what to do), never the record's content. Keyed like the
    status (the root event id), else by the record's coordinates."""
    if event_id is not None and len(event_id) > EVENT_ID_ECHO_MAX_CHARS:
        event_id = None
    coordinates = msg.coordinates_text
    feedback = UnitFeedback(
        feedback_id=deterministic_id(coordinates, "feedback", reason.value),
        unit_id=unit_id,
        event_id=event_id,
        status=status,
        reason_code=reason.value,
        reason_message=f"{reason.message_fr} {hint}" if hint else reason.message_fr,
        issued_at=now,
        source=msg.coordinates,
    )
    key = msg.key if msg.key and len(msg.key) <= KEY_MAX_BYTES else coordinates.encode()
    return Outbound(topics.unit_feedback(unit_id), key, encode(feedback))


_ROUTED_FIELDS = ("unit_id", "routed_at", "event", "enrichment", "decision")
#: Bound of each identity cache; cleared when reached (follow-ups make a decision each).
_CACHE_MAX = 4096


class _RoutedWriter:
    """Routed event bytes from parts: header + (unit_id, routed_at) + event + enrichment +
    decision, the last two cached per object (strong references: ids stay unique)."""

    def __init__(self, codec: MessageCodec[RoutedEvent]) -> None:
        if codec.field_names() != _ROUTED_FIELDS:
            raise ValueError("routed_event fields changed: no assembly from parts")
        self.codec = codec
        self.header = codec.header()
        self.prefix: FieldsWriter = codec.fields_writer(("unit_id", "routed_at"))
        self.event: FieldsWriter = codec.fields_writer(("event",))
        self.enrichment: FieldsWriter = codec.fields_writer(("enrichment",))
        self.decision: FieldsWriter = codec.fields_writer(("decision",))
        #: The partner's own body can stand for the ``event`` field (same schema, see
        #: ``MessageCodec.embeds``): copied, not encoded again from the model.
        self.event_verbatim = codec.embeds("event", codec_for(PartnerEvent))
        self._enrichments: dict[int, tuple[Any, bytes]] = {}
        self._decisions: dict[int, tuple[Any, bytes]] = {}

    def enrichment_bytes(self, enrichment: Enrichment) -> bytes:
        return self._cached(self._enrichments, self.enrichment, "enrichment", enrichment)

    def decision_bytes(self, decision: RoutingDecision) -> bytes:
        return self._cached(self._decisions, self.decision, "decision", decision)

    @staticmethod
    def _cached(cache: dict[int, tuple[Any, bytes]], writer: FieldsWriter, name: str,
                model: Enrichment | RoutingDecision) -> bytes:
        """Encode one field once per object: the policy shares these objects between events.
        The entry keeps the object alive, so its ``id`` cannot be reused while cached."""
        hit = cache.get(id(model))
        if hit is not None and hit[0] is model:
            return hit[1]
        data = writer.write({name: to_avro(model)})
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[id(model)] = (model, data)
        return data


_routed_writer: _RoutedWriter | None = None
_routed_unfit: MessageCodec[RoutedEvent] | None = None


def _writer_for(codec: MessageCodec[RoutedEvent]) -> _RoutedWriter | None:
    """The assembler of the current routed event codec (rebuilt after ``reset_codecs``)."""
    global _routed_writer, _routed_unfit
    if _routed_writer is not None and _routed_writer.codec is codec:
        return _routed_writer
    if _routed_unfit is codec:
        return None
    try:
        _routed_writer = _RoutedWriter(codec)
    except ValueError:
        _routed_unfit = codec
        return None
    return _routed_writer


def routed_copies(
    event: PartnerEvent,
    root: str,
    decision: RoutingDecision,
    enrichment: Enrichment,
    now: datetime,
    sandbox: str | None = None,
    raw: bytes | None = None,
) -> list[Outbound]:
    """One routed copy per destination unit, on that unit's topic of the decision's lane, or
    all on the ``sandbox`` topic when one is given (``vigie.routing.cap``).

    ``raw``: the partner's message ``event`` was decoded from, if any. Written with the
    latest schema, its body is the event's encoding and is copied as is (the decoded model
    holds the very values it encodes: no validator of ``PartnerEvent`` rewrites one)."""
    writer = _writer_for(codec_for(RoutedEvent))
    if writer is None:
        return routed_copies_generic(event, root, decision, enrichment, now, sandbox)
    key = root.encode()
    body = (codec_for(PartnerEvent).latest_body(raw)
            if raw is not None and writer.event_verbatim else None)
    tail = (
        (body if body is not None else writer.event.write({"event": to_avro(event)}))
        + writer.enrichment_bytes(enrichment)
        + writer.decision_bytes(decision)
    )
    routed_at = naive_as_utc(now)
    return [
        Outbound(
            sandbox or unit_topic(unit_id, decision.lane),
            key,
            writer.header + writer.prefix.write({"unit_id": unit_id, "routed_at": routed_at})
            + tail,
        )
        for unit_id in decision.units
    ]


def routed_copies_generic(
    event: PartnerEvent,
    root: str,
    decision: RoutingDecision,
    enrichment: Enrichment,
    now: datetime,
    sandbox: str | None = None,
    raw: bytes | None = None,
) -> list[Outbound]:
    """``routed_copies`` by building each ``RoutedEvent`` and encoding it (the reference;
    ``raw`` is not needed)."""
    return [
        Outbound(
            sandbox or unit_topic(unit_id, decision.lane),
            root.encode(),
            encode(RoutedEvent(unit_id=unit_id, routed_at=now, event=event,
                               enrichment=enrichment, decision=decision)),
        )
        for unit_id in decision.units
    ]


def dead_letter(
    stage: str,
    msg: Inbound,
    reason: ReasonCode,
    detail: str,
    now: datetime,
    event_id: str | None = None,
) -> Outbound:
    """The original bytes and a fixed reason: never the content in the reason.

    A value within the contract's size limit is kept whole (it can be replayed); a larger one
    only as its first ``OVERSIZED_PREFIX_BYTES`` (enough to see what it was), with its size
    and digest. A dead letter copying a near-1 MiB value whole would itself exceed the
    producer's limit: its transaction would fail, the worker restart and read the same
    record again, forever."""
    payload = msg.value or b""
    kept = payload if len(payload) <= codec_for(PartnerEvent).max_bytes else (
        payload[:OVERSIZED_PREFIX_BYTES])
    letter = DeadLetter(
        failed_at=now,
        stage=stage,
        reason_code=reason.value,
        reason=detail,
        source=KafkaCoordinates(topic=msg.topic, partition=msg.partition, offset=msg.offset),
        event_id=event_id or recover_event_id(payload),
        payload=kept,
        payload_size=len(payload),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        payload_truncated=len(kept) < len(payload),
    )
    return Outbound(topics.DEADLETTER, _bounded_key(msg.key), encode(letter))


#: What a dead letter keeps of a value over the contract's limit.
OVERSIZED_PREFIX_BYTES = 4096

#: Keys Vigie copies from an input (dead letters): a key is the root event id, a UUID; a
#: longer one is junk and only its start is worth keeping.
KEY_MAX_BYTES = 256


def _bounded_key(key: bytes | None) -> bytes | None:
    return key if key is None or len(key) <= KEY_MAX_BYTES else key[:KEY_MAX_BYTES]

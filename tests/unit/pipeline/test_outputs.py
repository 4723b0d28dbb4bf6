"""The encode fast paths write the very bytes of the generic path.

Reference = what the code did before the fast paths: build each model, ``to_avro`` it, let
fastavro pick union branches itself, uuid5 ids. Compared over a few thousand varied inputs
(realistic mix: malformed, duplicates, updates/cancels, expired, urgent), written with the
latest and with the v1 PartnerEvent schema, replayed records included, and on direct calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_writer
from pydantic import BaseModel

from tests.factories import acknowledgement
from vigie.contracts.codec import DecodeError, codec_for, decode, encode
from vigie.contracts.enums import AckStatus, DecisionStatus, Force, Lane
from vigie.contracts.mapping import to_avro
from vigie.contracts.models import Acknowledgement, PartnerEvent, RoutedEvent
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline import outputs
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import EventRecord, Inbound, Outbound
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.policy import decide
from vigie.settings import Settings
from vigie.simulation.feed import scripted_day

END = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def ack_model(
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
) -> Acknowledgement:
    """The ``Acknowledgement`` model that ``ack`` encodes (reference of its bytes, for tests)."""
    return acknowledgement(
        ack_id=outputs.deterministic_id(msg.coordinates_text, status.value, event_id or ""),
        partner_id=partner_id,
        event_id=event_id,
        status=status,
        issued_at=now,
        units=list(units),
        reason_code=reason.value if reason else None,
        reason_message=reason.message_fr if reason else reason_text,
        source=msg.coordinates,
        routing_rule=routing_rule,
        competent_unit_id=competent_unit,
    )


def reference_encode(model: BaseModel) -> bytes:
    """The generic encode as it was: header + fastavro over the plain ``to_avro`` dict."""
    codec = codec_for(type(model))
    buf = BytesIO()
    buf.write(codec.header())
    schemaless_writer(buf, codec.latest.parsed, to_avro(model))
    return buf.getvalue()


def reference_id(*parts: str) -> str:
    return str(uuid.uuid5(outputs.ACK_NAMESPACE, "|".join(parts)))


def reference_ack(msg: Inbound, partner_id: str, event_id: str | None, status: AckStatus,
                  now: datetime, **kw: Any) -> Outbound:
    message = ack_model(msg, partner_id, event_id, status, now, **kw)
    assert message.ack_id == reference_id(msg.coordinates_text, status.value, event_id or "")
    key = (event_id or msg.coordinates_text).encode()
    return Outbound(outputs.topics.partner_acks(partner_id), key, reference_encode(message))


#: The fast paths, taken before any test patches the module.
FAST_ACK = outputs.ack
FAST_ROUTED = outputs.routed_copies


def _v1(value: bytes) -> bytes:
    try:
        return encode(decode(value, PartnerEvent), version=1)
    except DecodeError:
        return value


def _inputs(count: int, seed: int, v1: bool) -> list[Inbound]:
    sites = load_sample_sites()
    msgs = []
    for i, m in enumerate(scripted_day(sites, count, seed=seed, end=END)):
        value = _v1(m.value) if v1 else m.value
        msgs.append(Inbound(m.topic, i % 4, i, m.key, value))
        if i % 97 == 0:  # the same record consumed again (crash before commit): a replay
            msgs.append(Inbound(m.topic, i % 4, i, m.key, value))
    return msgs


def _run(msgs: list[Inbound]) -> list[tuple[str, str, list[tuple[str, bytes | None, bytes]]]]:
    store = ReferenceStore.with_defaults(sites=load_sample_sites())
    clock: Callable[[], datetime] = lambda: END + timedelta(minutes=1, microseconds=1234)  # noqa: E731
    processor = IntakeProcessor(store, Settings(), clock=clock)
    table: dict[str, EventRecord] = {}
    out = []
    for m in msgs:
        result = processor.handle(m, table.get)
        for record in (result.related, result.record):
            if record is not None:
                table[record.event_id] = record
        out.append((m.coordinates_text, result.outcome.value,
                    [(o.topic, o.key, o.value) for o in result.outbound]))
    return out


@pytest.mark.parametrize("v1", [False, True], ids=["latest", "v1-written"])
def test_intake_outputs_byte_identical(v1: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    msgs = _inputs(2500, seed=11, v1=v1)
    fast = _run(msgs)
    with monkeypatch.context() as patch:
        patch.setattr(outputs, "ack", reference_ack)
        patch.setattr(outputs, "routed_copies", outputs.routed_copies_generic)
        patch.setattr(outputs, "encode", reference_encode)
        patch.setattr(outputs, "deterministic_id", reference_id)
        slow = _run(msgs)
    assert len(fast) == len(slow) == len(msgs)
    outcomes = {o for _, o, _ in fast}
    assert {"routed", "rejected", "duplicate", "expired", "replayed"} <= outcomes
    routed = sum(1 for _, _, outs in fast for t, _, _ in outs if t.startswith("force."))
    assert routed > 1500
    for a, b in zip(fast, slow, strict=True):
        assert a == b


def test_direct_calls_byte_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    """Acks of every status and reason, naive and aware clocks; routed copies of decisions
    made outside the policy's memo (follow-ups, transfers), of unplaced events, repeated."""
    monkeypatch.setattr(outputs, "encode", reference_encode)
    sites = load_sample_sites()
    store = ReferenceStore.with_defaults(sites=sites)
    events = [decode(m.value, PartnerEvent)
              for m in scripted_day(sites, 800, seed=3, end=END) if _decodes(m.value)]
    assert len(events) > 600
    statuses = list(AckStatus)
    reasons = [None, *ReasonCode]
    stamps = [END, END.replace(tzinfo=None), END + timedelta(microseconds=999_999),
              datetime(2026, 3, 29, 1, 30, 0, 500, tzinfo=UTC)]
    for i, event in enumerate(events):
        now = stamps[i % len(stamps)]
        msg = Inbound(f"partner.{event.partner_id}.incidents.v1", i % 7, i * 1_000_003, None, b"")
        reason = reasons[i % len(reasons)]
        units = [f"unit-{j}" for j in range(i % 4)]
        kw: dict[str, Any] = {"units": tuple(units) if i % 2 else units, "reason": reason}
        if reason is None and i % 3 == 0:
            kw["reason_text"] = f"déjà traité : {statuses[i % len(statuses)].value}"
        event_id = None if i % 11 == 0 else event.event_id
        status = statuses[i % len(statuses)]
        assert FAST_ACK(msg, event.partner_id, event_id, status, now, **kw) == reference_ack(
            msg, event.partner_id, event_id, status, now, **kw)

        routing = decide(event, store.snapshot())
        decisions = [routing.decision]
        if i % 3 == 0:  # what follow-ups, escalations and transfers do: a fresh decision
            decisions.append(routing.decision.model_copy(update={
                "units": [f"gn-bta-{i % 5}", "pn-cic-oise"][: 1 + i % 2],
                "lane": Lane.ALERT if i % 2 else Lane.INCIDENT,
                "status": DecisionStatus.ROUTED,
                "force": None if i % 5 == 0 else Force.GN,
                "explanation": "UPDATE: follows the original routing",
            }))
        for decision in decisions:
            for _ in range(2):  # the second time from the identity caches
                fast = FAST_ROUTED(event, event.event_id, decision, routing.enrichment, now)
                slow = outputs.routed_copies_generic(event, event.event_id, decision,
                                                     routing.enrichment, now)
                assert fast == slow
                assert len(fast) == len(decision.units)


def test_routed_copies_fall_back_when_fields_cannot_be_assembled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = codec_for(RoutedEvent)
    monkeypatch.setattr(outputs, "_ROUTED_FIELDS", ("unit_id", "event"))
    monkeypatch.setattr(outputs, "_routed_writer", None)
    assert outputs._writer_for(codec) is None
    calls: list[int] = []
    generic = outputs.routed_copies_generic

    def counting(*args: Any) -> list[Outbound]:
        calls.append(1)
        return generic(*args)

    monkeypatch.setattr(outputs, "routed_copies_generic", counting)
    sites = load_sample_sites()
    store = ReferenceStore.with_defaults(sites=sites)
    event = next(decode(m.value, PartnerEvent) for m in scripted_day(sites, 5, seed=1, end=END)
                 if _decodes(m.value))
    routing = decide(event, store.snapshot())
    assert FAST_ROUTED(event, event.event_id, routing.decision, routing.enrichment, END)
    assert calls == [1]
    monkeypatch.setattr(outputs, "_routed_unfit", None)


def test_deterministic_id_is_uuid5() -> None:
    names = [("partner.x.incidents.v1/0/0", "ROUTED"), ("é|ü", "ñ"), ("",), ("a", "", "b")]
    names += [(f"partner.p{i}.alerts.v1/{i % 4}/{i * 7919}", s.value)
              for i in range(2000) for s in (AckStatus.ROUTED, AckStatus.REJECTED)]
    for parts in names:
        assert outputs.deterministic_id(*parts) == reference_id(*parts)


def _decodes(value: bytes) -> bool:
    try:
        decode(value, PartnerEvent)
    except DecodeError:
        return False
    return True

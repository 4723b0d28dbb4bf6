"""What a hostile or careless partner's message becomes, without Kafka (issue 12).

The broker-level proof is tests/integration/test_hostile_partner.py; here each rule is pinned
to the stage that applies it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.scenarios import incident, record_for
from vigie.clients.force import status_record
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, ForceStatus, MessageType
from vigie.contracts.models import (
    Acknowledgement,
    Address,
    Coordinates,
    DeadLetter,
    Location,
    PartnerEvent,
)
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import EventRecord, Inbound, Outcome, StageResult
from vigie.pipeline.outputs import OVERSIZED_PREFIX_BYTES
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.engine import key_partition

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def store() -> ReferenceStore:
    return ReferenceStore.with_sample_sites()


@pytest.fixture
def intake(store: ReferenceStore) -> IntakeProcessor:
    return IntakeProcessor(store, Settings(), lambda: NOW)


def _inbound(record: tuple[str, bytes | None, bytes], partition: int, *,
             expected: int | None, offset: int = 0) -> Inbound:
    topic, key, value = record
    return Inbound(topic, partition, offset, key, value, expected)


def _acks(result: StageResult) -> list[Acknowledgement]:
    return [decode(o.value, Acknowledgement) for o in result.outbound
            if o.topic.endswith(".acks.v1")]


def test_key_partition_is_kafkas_murmur2() -> None:
    # Values of the Java client's Utils.murmur2 (positive part) modulo 4 and 12.
    assert key_partition(b"21", 4) == (-973932308 & 0x7FFFFFFF) % 4
    assert key_partition(b"foobar", 12) == (-790332482 & 0x7FFFFFFF) % 12
    assert key_partition(None, 4) is None and key_partition(b"x", None) is None


def test_a_record_off_its_key_partition_is_rejected_before_any_lookup(
        intake: IntakeProcessor) -> None:
    victim = incident("oise-habitat", "60175", sent_at=NOW - timedelta(minutes=1))
    record = record_for(victim)
    looked_up: list[str] = []

    def lookup(event_id: str) -> EventRecord | None:
        looked_up.append(event_id)
        return None

    spoofed = intake.handle(_inbound(record, 3, expected=2), lookup)
    assert spoofed.outcome is Outcome.REJECTED and spoofed.record is None
    assert [(a.status, a.reason_code) for a in _acks(spoofed)] == [
        (AckStatus.REJECTED, ReasonCode.WRONG_PARTITION.value)]
    assert "murmur2" in _acks(spoofed)[0].reason_message
    assert looked_up == []  # the other partition's state was never consulted
    honest = intake.handle(_inbound(record, 2, expected=2), lookup)
    assert honest.outcome is Outcome.ROUTED


def test_a_cancel_of_another_partners_incident_is_refused_on_any_partition(
        intake: IntakeProcessor) -> None:
    """On the right partition the state answers: the incident is not the sender's."""
    victim = incident("oise-habitat", "60175", sent_at=NOW - timedelta(minutes=2))
    table: dict[str, EventRecord] = {}
    first = intake.handle(_inbound(record_for(victim), 1, expected=1), table.get)
    assert first.record is not None
    table[victim.event_id] = first.record
    cancel = PartnerEvent(
        event_id=str(uuid.uuid4()), partner_id="opac-oise", sent_at=NOW - timedelta(seconds=5),
        occurred_at=NOW - timedelta(minutes=3), message_type=MessageType.CANCEL,
        references=[victim.event_id], category=victim.category,
        location=victim.location)
    on_wrong = intake.handle(_inbound(record_for(cancel), 3, expected=1), table.get)
    on_right = intake.handle(_inbound(record_for(cancel), 1, expected=1), table.get)
    assert [a.reason_code for a in _acks(on_wrong)] == [ReasonCode.WRONG_PARTITION.value]
    assert [a.reason_code for a in _acks(on_right)] == [ReasonCode.UNKNOWN_REFERENCE.value]
    assert not [o for o in on_wrong.outbound + on_right.outbound if o.topic.startswith("force.")]
    # Same event id, another partner, right partition: a conflict, never a second NEW.
    clash = victim.model_copy(update={"partner_id": "opac-oise"})
    again = intake.handle(_inbound(record_for(clash), 1, expected=1), table.get)
    assert [a.reason_code for a in _acks(again)] == [ReasonCode.EVENT_ID_CONFLICT.value]


def test_a_status_off_its_key_partition_or_keyed_otherwise_is_refused(
        store: ReferenceStore) -> None:
    status = StatusProcessor(store, Settings(), lambda: NOW)
    event_id = str(uuid.uuid4())
    topic, key, value = status_record("pn-csp-creil", event_id, ForceStatus.TAKEN_IN_CHARGE,
                                      at=NOW)
    misplaced = status.handle(Inbound(topic, 0, 0, key, value, 1), lambda _: None)
    other_key = status.handle(Inbound(topic, 1, 0, b"other", value, 1), lambda _: None)
    for result, reason in ((misplaced, ReasonCode.WRONG_PARTITION),
                           (other_key, ReasonCode.KEY_MISMATCH)):
        [letter] = [decode(o.value, DeadLetter) for o in result.outbound]
        assert result.outcome is Outcome.REJECTED and letter.reason_code == reason.value


def test_a_near_one_mebibyte_value_gets_one_bounded_dead_letter(
        intake: IntakeProcessor) -> None:
    value = b"\xc3\x01" + bytes(1_048_448)
    result = intake.handle(Inbound("partner.opac-oise.alerts.v1", 0, 5, b"k", value),
                           lambda _: None)
    assert result.outcome is Outcome.REJECTED
    assert [a.reason_code for a in _acks(result)] == [ReasonCode.OVERSIZED.value]
    [letter_out] = [o for o in result.outbound if o.topic == "vigie.deadletter.v1"]
    letter = decode(letter_out.value, DeadLetter)
    assert letter.payload_size == 1_048_450 and letter.payload_truncated
    assert letter.payload == value[:OVERSIZED_PREFIX_BYTES]
    assert letter.payload_sha256 == hashlib.sha256(value).hexdigest()
    assert len(letter_out.value) < 5_000  # far under any producer or topic limit


def test_a_rejected_event_leaves_no_state_entry(intake: IntakeProcessor) -> None:
    junk_id = "x" * 60_000
    event = incident("opac-oise", "60175", sent_at=NOW - timedelta(minutes=1))
    bad = event.model_copy(update={"event_id": junk_id})
    result = intake.handle(_inbound(record_for(bad), 0, expected=None), lambda _: None)
    assert result.outcome is Outcome.REJECTED and result.record is None
    [ack] = _acks(result)
    assert ack.reason_code == ReasonCode.INVALID_EVENT_ID.value
    assert ack.event_id is None  # junk is not echoed; the Kafka coordinates say which one
    assert all(len(o.key or b"") < 300 for o in result.outbound)


def _new(partner: str, **changes: object) -> PartnerEvent:
    return incident(partner, "60175", sent_at=NOW - timedelta(minutes=1)).model_copy(
        update=changes)


@pytest.mark.parametrize(("event", "reason"), [
    (_new("opac-oise", location=Location(coordinates=Coordinates(lat=48.8566, lon=2.3522))),
     ReasonCode.OUT_OF_AREA),
    (_new("opac-oise", location=Location(address=Address(insee_code="60999"))),
     ReasonCode.UNLOCATED),
])
def test_manual_triage_is_acknowledged_with_its_reason(
        intake: IntakeProcessor, event: PartnerEvent, reason: ReasonCode) -> None:
    result = intake.handle(_inbound(record_for(event), 0, expected=None), lambda _: None)
    assert result.outcome is Outcome.MANUAL_TRIAGE
    [ack] = _acks(result)
    assert (ack.status, ack.reason_code) == (AckStatus.ROUTED, reason.value)
    assert ack.reason_message == reason.message_fr


def test_another_landlords_site_is_answered_with_its_own_reason(
        intake: IntakeProcessor, store: ReferenceStore) -> None:
    site = next(s for s in store.snapshot().sites.values() if s.partner_id == "oise-habitat")
    event = _new("opac-oise", site_id=site.site_id)
    result = intake.handle(_inbound(record_for(event), 0, expected=None), lambda _: None)
    [ack] = _acks(result)
    assert ack.reason_code == ReasonCode.SITE_OF_OTHER_PARTNER.value
    assert result.outcome is Outcome.ROUTED  # placed by its address, not by the other's site

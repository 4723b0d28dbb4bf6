"""The intake stage without Kafka: what a partner's record becomes (routed copies,
acknowledgements, table writes), the routing rules it applies at night, in service hours and
under load, and what a hostile or careless partner's message gets (issue 12; the broker-level
proof is tests/integration/test_hostile_partner.py)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.factories import partner_event, record_for, unit_rules
from tests.stages import NOW, Table, acks, inbound, routed, sandboxed
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category, EventStatus, MessageType
from vigie.contracts.models import (
    Address,
    Coordinates,
    DeadLetter,
    ExerciseWindow,
    Location,
    PartnerEvent,
)
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.messages import EventRecord, Inbound, Outcome
from vigie.pipeline.outputs import OVERSIZED_PREFIX_BYTES
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.chain import RoutingContext
from vigie.settings import Settings
from vigie.simulation.feed import follow_up
from vigie.workers.state import EventState

NIGHT = datetime.fromisoformat("2026-11-29T02:00+01:00")
MERU = "60395"


@pytest.fixture(scope="module")
def sites() -> ReferenceStore:
    return ReferenceStore.with_sample_sites()


@pytest.fixture
def intake(sites: ReferenceStore) -> IntakeProcessor:
    """Intake on the sample sites too, its clock at ``NOW``."""
    return IntakeProcessor(sites, Settings(), lambda: NOW)


def alert_record(partner: str = "opac-oise", insee: str = MERU
                 ) -> tuple[PartnerEvent, tuple[str, bytes, bytes]]:
    """A staff threat sent a minute ago, on the partner's alerts topic."""
    event = partner_event(partner, insee, fresh=True, category=Category.STAFF_THREAT,
                          sent_at=NOW - timedelta(minutes=1))
    return event, record_for(event)


def test_new_incident_routed_once_then_duplicate(stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    event = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(minutes=1))
    first = table.apply(intake.handle(inbound(record_for(event)), table.get))
    assert first.outcome is Outcome.ROUTED
    assert [(t, r.unit_id) for t, r in routed(first)] == [
        (topics.unit_incidents("pn-csp-creil"), "pn-csp-creil")]
    assert [a.status for a in acks(first)] == [AckStatus.ROUTED]
    again = table.apply(intake.handle(inbound(record_for(event), offset=7), table.get))
    assert again.outcome is Outcome.DUPLICATE and routed(again) == []
    assert [(a.status, a.units) for a in acks(again)] == [(AckStatus.DUPLICATE, ["pn-csp-creil"])]
    # The very same record consumed again (a crash before the commit) repeats its outputs.
    replay = intake.handle(inbound(record_for(event)), table.get)
    assert replay.outcome is Outcome.REPLAYED
    assert [a.ack_id for a in acks(replay)] == [a.ack_id for a in acks(first)]


def test_wrong_key_and_other_partner_id_rejected(stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    event = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(minutes=1))
    topic, _, value = record_for(event)
    result = intake.handle(Inbound(topic, 0, 0, b"another-key", value), table.get)
    assert [a.reason_code for a in acks(result)] == ["KEY_MISMATCH"]
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    stolen = record_for(event.model_copy(update={"partner_id": "clesence"}))
    result = intake.handle(inbound(stolen, offset=3), table.get)
    assert [(a.partner_id, a.reason_code) for a in acks(result)] == [
        ("clesence", "EVENT_ID_CONFLICT")]
    assert result.outbound[0].topic == topics.partner_acks("clesence")


def test_update_follows_original_routing(stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    event = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(minutes=2))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    update = follow_up(event, MessageType.UPDATE, NOW - timedelta(minutes=1), random.Random(1))
    # Even if the update now points elsewhere, it goes where the original went.
    moved = update.model_copy(update={"location": partner_event(insee="60395").location})
    result = intake.handle(inbound(record_for(moved), offset=1), table.get)
    assert [r.unit_id for _, r in routed(result)] == ["pn-csp-creil"]
    unknown = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(minutes=3))
    orphan = follow_up(unknown, MessageType.CANCEL, NOW, random.Random(2))
    result = intake.handle(inbound(record_for(orphan), offset=2), table.get)
    assert [a.reason_code for a in acks(result)] == ["UNKNOWN_REFERENCE"]


def test_replays_repeat_the_first_answer_whatever_it_was(stages) -> None:  # type: ignore[no-untyped-def]
    """After a crash before the commit, an input is read again: its answer must be the same
    record (same ack id, same status), not a DUPLICATE of itself."""
    intake, _, _ = stages
    table = Table()
    event = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(minutes=2))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    update = follow_up(event, MessageType.UPDATE, NOW - timedelta(minutes=1), random.Random(3))
    late = partner_event("opac-oise", "60175", fresh=True,
                         sent_at=NOW + timedelta(days=1))  # refused
    for record, offset, replayed in ((record_for(update), 1, Outcome.REPLAYED),
                                     (record_for(late), 2, Outcome.REJECTED)):
        first = table.apply(intake.handle(inbound(record, offset), table.get))
        again = intake.handle(inbound(record, offset), table.get)
        # A rejection leaves no state entry: its replay is judged afresh, to the same answer.
        assert again.outcome is replayed and again.record is None
        assert [(a.ack_id, a.status) for a in acks(again)] == [
            (a.ack_id, a.status) for a in acks(first)]
        assert [r.unit_id for _, r in routed(again)] == [r.unit_id for _, r in routed(first)]


# -- routing rules ---------------------------------------------------------------------------


def test_an_alert_at_night_reaches_the_corg_naming_the_brigade() -> None:
    store = ReferenceStore.with_defaults()
    night = Settings(routing_clock_at=NIGHT, alert_takeover_delay_seconds=60)
    intake = IntakeProcessor(store, night, lambda: NOW)
    table = Table()
    event, record = alert_record()
    result = table.apply(intake.handle(inbound(record), table.get))
    [(topic, copy)] = routed(result)
    assert topic == topics.unit_alerts("gn-corg-oise") and copy.unit_id == "gn-corg-oise"
    assert copy.decision.competent_unit_id == "gn-bt-meru"
    assert copy.decision.routing_rule == "OUTSIDE_HOURS"
    assert copy.decision.rules_version and copy.decision.rules_version.startswith("rules-oise")
    [ack] = acks(result)
    assert ack.status is AckStatus.ROUTED and ack.units == ["gn-corg-oise"]
    assert ack.routing_rule == "OUTSIDE_HOURS" and ack.competent_unit_id == "gn-bt-meru"
    assert result.diversion == ("OUTSIDE_HOURS", "gn-bt-meru")
    kept = table[event.event_id]
    assert kept.routing_rule == "OUTSIDE_HOURS" and kept.competent_unit == "gn-bt-meru"
    assert EventRecord.from_json(kept.to_json()) == kept  # survives the changelog

    # A follow-up goes where the alert went, and says why, whatever the time now.
    day = IntakeProcessor(store, Settings(), lambda: NOW)
    update = follow_up(event, MessageType.UPDATE, NOW, random.Random(7))
    followed = table.apply(day.handle(inbound(record_for(update), 1), table.get))
    [(_, copy)] = routed(followed)
    assert copy.unit_id == "gn-corg-oise" and copy.decision.routing_rule == "OUTSIDE_HOURS"
    assert acks(followed)[0].routing_rule == "OUTSIDE_HOURS"


def test_the_same_alert_in_service_hours_reaches_the_brigade() -> None:
    store = ReferenceStore.with_defaults()
    monday = datetime.fromisoformat("2026-11-30T10:00+01:00")
    intake = IntakeProcessor(store, Settings(routing_clock_at=monday), lambda: NOW)
    _, record = alert_record()
    result = intake.handle(inbound(record), Table().get)
    [(_, copy)] = routed(result)
    assert copy.unit_id == "gn-bt-meru" and copy.decision.routing_rule is None
    [ack] = acks(result)
    assert ack.routing_rule is None and ack.competent_unit_id == "gn-bt-meru"
    assert result.diversion is None


def test_overflow_reads_the_load_the_worker_passes() -> None:
    store = ReferenceStore.with_defaults()
    store.upsert_rules(unit_rules("gn-bt-meru", overflow_limit=1))
    monday = datetime.fromisoformat("2026-11-30T10:00+01:00")
    state = EventState(Settings())

    def context(now: datetime) -> RoutingContext:
        return RoutingContext(at=monday, open_alerts=state.open_alerts)

    intake = IntakeProcessor(store, Settings(alert_takeover_delay_seconds=60), lambda: NOW,
                             context=context)
    units = []
    for offset in range(3):
        _, record = alert_record()
        result = intake.handle(inbound(record, offset), lambda _id: None)
        assert result.record is not None
        state.put(result.record, 0)
        units.append(result.units)
    assert units == [("gn-bt-meru",), ("gn-cie-meru",), ("gn-cie-meru",)]
    assert state.open_alerts == {"gn-bt-meru": 1, "gn-cie-meru": 2}
    # The brigade takes its alert in charge: the limit is released.
    first = next(e for e, (_, p) in state.deadlines.items()
                 if state.lookup(e, p).units == ("gn-bt-meru",))  # type: ignore[union-attr]
    answered = state.lookup(first, 0)
    assert answered is not None
    state.put(replace(answered, alert_deadline=None), 0)
    assert state.open_alerts == {"gn-cie-meru": 2}
    _, record = alert_record()
    assert intake.handle(inbound(record, 9), lambda _id: None).units == ("gn-bt-meru",)
    state.forget_deadline(next(iter(state.deadlines)))
    state.drop([0])
    assert state.open_alerts == {} and state.deadlines == {}


# -- a hostile or careless partner (issue 12) -----------------------------------------------


def test_a_record_off_its_key_partition_is_rejected_before_any_lookup(
        intake: IntakeProcessor) -> None:
    victim = partner_event("oise-habitat", "60175", fresh=True, sent_at=NOW - timedelta(minutes=1))
    record = record_for(victim)
    looked_up: list[str] = []

    def lookup(event_id: str) -> EventRecord | None:
        looked_up.append(event_id)
        return None

    spoofed = intake.handle(inbound(record, partition=3, expected=2), lookup)
    assert spoofed.outcome is Outcome.REJECTED and spoofed.record is None
    assert [(a.status, a.reason_code) for a in acks(spoofed)] == [
        (AckStatus.REJECTED, ReasonCode.WRONG_PARTITION.value)]
    assert "murmur2" in acks(spoofed)[0].reason_message
    assert looked_up == []  # the other partition's state was never consulted
    honest = intake.handle(inbound(record, partition=2, expected=2), lookup)
    assert honest.outcome is Outcome.ROUTED


def test_a_cancel_of_another_partners_incident_is_refused_on_any_partition(
        intake: IntakeProcessor) -> None:
    """On the right partition the state answers: the incident is not the sender's."""
    victim = partner_event("oise-habitat", "60175", fresh=True, sent_at=NOW - timedelta(minutes=2))
    table: dict[str, EventRecord] = {}
    first = intake.handle(inbound(record_for(victim), partition=1, expected=1), table.get)
    assert first.record is not None
    table[victim.event_id] = first.record
    cancel = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(seconds=5),
                           message_type=MessageType.CANCEL, references=[victim.event_id],
                           category=victim.category)
    on_wrong = intake.handle(inbound(record_for(cancel), partition=3, expected=1), table.get)
    on_right = intake.handle(inbound(record_for(cancel), partition=1, expected=1), table.get)
    assert [a.reason_code for a in acks(on_wrong)] == [ReasonCode.WRONG_PARTITION.value]
    assert [a.reason_code for a in acks(on_right)] == [ReasonCode.UNKNOWN_REFERENCE.value]
    assert not [o for o in on_wrong.outbound + on_right.outbound if o.topic.startswith("force.")]
    # Same event id, another partner, right partition: a conflict, never a second NEW.
    clash = victim.model_copy(update={"partner_id": "opac-oise"})
    again = intake.handle(inbound(record_for(clash), partition=1, expected=1), table.get)
    assert [a.reason_code for a in acks(again)] == [ReasonCode.EVENT_ID_CONFLICT.value]


def test_a_near_one_mebibyte_value_gets_one_bounded_dead_letter(
        intake: IntakeProcessor) -> None:
    value = b"\xc3\x01" + bytes(1_048_448)
    result = intake.handle(Inbound("partner.opac-oise.alerts.v1", 0, 5, b"k", value),
                           lambda _: None)
    assert result.outcome is Outcome.REJECTED
    assert [a.reason_code for a in acks(result)] == [ReasonCode.OVERSIZED.value]
    [letter_out] = [o for o in result.outbound if o.topic == "vigie.deadletter.v1"]
    letter = decode(letter_out.value, DeadLetter)
    assert letter.payload_size == 1_048_450 and letter.payload_truncated
    assert letter.payload == value[:OVERSIZED_PREFIX_BYTES]
    assert letter.payload_sha256 == hashlib.sha256(value).hexdigest()
    assert len(letter_out.value) < 5_000  # far under any producer or topic limit


def test_a_rejected_event_leaves_no_state_entry(intake: IntakeProcessor) -> None:
    junk_id = "x" * 60_000
    bad = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(minutes=1),
                        event_id=junk_id)
    result = intake.handle(inbound(record_for(bad)), lambda _: None)
    assert result.outcome is Outcome.REJECTED and result.record is None
    [ack] = acks(result)
    assert ack.reason_code == ReasonCode.INVALID_EVENT_ID.value
    assert ack.event_id is None  # junk is not echoed; the Kafka coordinates say which one
    assert all(len(o.key or b"") < 300 for o in result.outbound)


def _new(partner: str, **changes: object) -> PartnerEvent:
    return partner_event(partner, "60175", fresh=True, sent_at=NOW - timedelta(minutes=1),
                         **changes)


@pytest.mark.parametrize(("event", "reason"), [
    (_new("opac-oise", location=Location(coordinates=Coordinates(lat=48.8566, lon=2.3522))),
     ReasonCode.OUT_OF_AREA),
    (_new("opac-oise", location=Location(address=Address(insee_code="60999"))),
     ReasonCode.UNLOCATED),
])
def test_manual_triage_is_acknowledged_with_its_reason(
        intake: IntakeProcessor, event: PartnerEvent, reason: ReasonCode) -> None:
    result = intake.handle(inbound(record_for(event)), lambda _: None)
    assert result.outcome is Outcome.MANUAL_TRIAGE
    [ack] = acks(result)
    assert (ack.status, ack.reason_code) == (AckStatus.ROUTED, reason.value)
    assert ack.reason_message == reason.message_fr


def test_another_landlords_site_is_answered_with_its_own_reason(
        intake: IntakeProcessor, sites: ReferenceStore) -> None:
    site = next(s for s in sites.snapshot().sites.values() if s.partner_id == "oise-habitat")
    event = _new("opac-oise", site_id=site.site_id)
    result = intake.handle(inbound(record_for(event)), lambda _: None)
    [ack] = acks(result)
    assert ack.reason_code == ReasonCode.SITE_OF_OTHER_PARTNER.value
    assert result.outcome is Outcome.ROUTED  # placed by its address, not by the other's site


# -- CAP status: sandbox and exercises (issue 18) ---------------------------------------------


def _exercise_store(unit_id: str, *, escalate: bool) -> ReferenceStore:
    """The default reference data, ``unit_id`` taking part in an exercise around ``NOW``."""
    store = ReferenceStore.with_defaults()
    window = ExerciseWindow(name="EXO-OISE", start=NOW - timedelta(hours=1),
                            end=NOW + timedelta(hours=1), escalate=escalate)
    store.upsert_rules(unit_rules(unit_id, exercises=[window]))
    return store


def test_a_test_event_reaches_no_unit_and_is_answered_from_the_sandbox(
        stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    alert, _ = alert_record()
    test = alert.model_copy(update={"status": EventStatus.TEST})
    result = table.apply(intake.handle(inbound(record_for(test)), table.get))
    assert routed(result) == []
    # The copy a unit would have received, on the partner's own sandbox topic.
    assert [(t, r.unit_id, r.event.status) for t, r in sandboxed(result)] == [
        ("partner.opac-oise.sandbox.v1", "gn-corg-oise", EventStatus.TEST)]
    [ack] = acks(result)
    assert (ack.status, ack.units, ack.reason_code, ack.competent_unit_id) == (
        AckStatus.ROUTED, ["gn-corg-oise"], "TEST_EVENT", "gn-bt-meru")
    assert ack.reason_message is not None
    assert "aucune unité ne l'a reçu" in ack.reason_message
    assert "gn-corg-oise (gendarmerie nationale)" in ack.reason_message
    # No timer, not counted for any unit nor in the partnership figures.
    record = table[test.event_id]
    assert (record.sandbox, record.alert_deadline, record.cap_status) == (True, None, "TEST")
    assert (result.units, result.category) == ((), None)
    # Its follow-ups go to the sandbox too; a real follow-up of it is refused.
    update = follow_up(test, MessageType.UPDATE, NOW, random.Random(4))
    later = table.apply(intake.handle(inbound(record_for(update), offset=1), table.get))
    assert routed(later) == [] and len(sandboxed(later)) == 1
    assert [a.reason_code for a in acks(later)] == ["TEST_EVENT"]
    real = follow_up(test, MessageType.CANCEL, NOW, random.Random(5)).model_copy(
        update={"status": EventStatus.ACTUAL})
    refused = intake.handle(inbound(record_for(real), offset=2), table.get)
    assert routed(refused) == [] and sandboxed(refused) == []
    assert [a.reason_code for a in acks(refused)] == ["CAP_STATUS_MISMATCH"]


def test_a_test_update_of_a_real_event_is_refused(stages) -> None:  # type: ignore[no-untyped-def]
    intake, _, _ = stages
    table = Table()
    event = partner_event("opac-oise", "60175", fresh=True, sent_at=NOW - timedelta(minutes=2))
    table.apply(intake.handle(inbound(record_for(event)), table.get))
    test = follow_up(event, MessageType.UPDATE, NOW, random.Random(6)).model_copy(
        update={"status": EventStatus.TEST})
    result = intake.handle(inbound(record_for(test), offset=1), table.get)
    assert routed(result) == [] and sandboxed(result) == []
    assert [a.reason_code for a in acks(result)] == ["CAP_STATUS_MISMATCH"]


@pytest.mark.parametrize("escalate", [False, True])
def test_an_exercise_reaches_the_unit_taking_part_and_escalates_only_if_it_says_so(
        escalate: bool) -> None:
    store = _exercise_store("gn-corg-oise", escalate=escalate)
    intake = IntakeProcessor(store, Settings(alert_takeover_delay_seconds=60), lambda: NOW)
    table = Table()
    alert, _ = alert_record()
    exercise = alert.model_copy(update={"status": EventStatus.EXERCISE})
    result = table.apply(intake.handle(inbound(record_for(exercise)), table.get))
    assert [(t, r.event.status) for t, r in routed(result)] == [
        (topics.unit_alerts("gn-corg-oise"), EventStatus.EXERCISE)]
    assert [(a.status, a.units, a.reason_code) for a in acks(result)] == [
        (AckStatus.ROUTED, ["gn-corg-oise"], None)]
    deadline = table[exercise.event_id].alert_deadline
    assert (deadline is not None) is escalate
    assert result.category is None  # not in the partnership figures


def test_an_exercise_nobody_takes_part_in_goes_to_the_sandbox() -> None:
    store = _exercise_store("gn-bt-meru", escalate=True)  # not the unit on duty at NOW
    intake = IntakeProcessor(store, Settings(), lambda: NOW)
    alert, _ = alert_record()
    exercise = alert.model_copy(update={"status": EventStatus.EXERCISE})
    result = intake.handle(inbound(record_for(exercise)), lambda _: None)
    assert routed(result) == []
    assert [t for t, _ in sandboxed(result)] == ["partner.opac-oise.sandbox.v1"]
    assert [(a.units, a.reason_code) for a in acks(result)] == [
        (["gn-corg-oise"], "NOT_IN_EXERCISE")]
    assert result.record is not None and result.record.alert_deadline is None

"""The routing engine's Kafka-free parts: the key's partition, the clock and load it hands
the stages, and a record it could not produce, which costs its own input, never the pass
(issue 12). The lanes and shares of a pass: tests/unit/workers/test_scheduler.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import partner_event, record_for
from vigie.contracts.codec import decode
from vigie.contracts.enums import Lane
from vigie.contracts.models import Acknowledgement, DeadLetter
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.messages import Inbound, Outcome
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.engine import RoutingEngine, key_partition

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NIGHT = datetime.fromisoformat("2026-11-29T02:00+01:00")


def test_key_partition_is_kafkas_murmur2() -> None:
    # Values of the Java client's Utils.murmur2 (positive part) modulo 4 and 12.
    assert key_partition(b"21", 4) == (-973932308 & 0x7FFFFFFF) % 4
    assert key_partition(b"foobar", 12) == (-790332482 & 0x7FFFFFFF) % 12
    assert key_partition(None, 4) is None and key_partition(b"x", None) is None


def test_the_engine_hands_its_clock_and_open_alerts_to_every_stage() -> None:
    night = Settings(routing_clock_at=NIGHT, alert_takeover_delay_seconds=60)
    engine = RoutingEngine(night, ReferenceStore.with_defaults())
    context = engine.routing_context(NOW)
    assert context.at == NIGHT and context.share == 1.0
    assert context.open_alerts is engine.state.open_alerts


def test_an_output_over_the_limit_turns_into_a_dead_letter_of_its_input() -> None:
    engine = RoutingEngine(Settings(max_output_bytes=300), ReferenceStore.with_defaults())
    event = partner_event("opac-oise", "60175", fresh=True,
                          sent_at=datetime.now(UTC) - timedelta(minutes=1))
    topic, key, value = record_for(event)
    inbound = Inbound(topic, 0, 9, key, value)
    routed = engine.intake.handle(inbound, lambda _: None)
    assert routed.outcome is Outcome.ROUTED  # its routed copy is ~600 bytes: over 300

    kept = engine._publishable(routed, inbound, Lane.INCIDENT)
    assert kept.outcome is Outcome.DEAD_LETTERED and kept.record is None
    letters = [decode(o.value, DeadLetter) for o in kept.outbound if o.topic.endswith("v1")
               and o.topic.startswith("vigie.deadletter")]
    acks = [decode(o.value, Acknowledgement) for o in kept.outbound if o.topic.endswith("acks.v1")]
    assert [letter.reason_code for letter in letters] == [ReasonCode.OVERSIZED.value]
    assert [a.reason_code for a in acks] == [ReasonCode.OVERSIZED.value]
    assert not [o for o in kept.outbound if o.topic.startswith("force.")]

    roomy = RoutingEngine(Settings(), ReferenceStore.with_defaults())
    assert roomy._publishable(routed, inbound, Lane.INCIDENT) is routed

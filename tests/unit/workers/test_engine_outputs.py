"""A record the worker could not produce costs its own input, never the pass (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.scenarios import incident, record_for
from vigie.contracts.codec import decode
from vigie.contracts.enums import Lane
from vigie.contracts.models import Acknowledgement, DeadLetter
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.messages import Inbound, Outcome
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.engine import RoutingEngine


def test_an_output_over_the_limit_turns_into_a_dead_letter_of_its_input() -> None:
    engine = RoutingEngine(Settings(max_output_bytes=300), ReferenceStore.with_defaults())
    event = incident("opac-oise", "60175", sent_at=datetime.now(UTC) - timedelta(minutes=1))
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

"""The pipeline's stages without Kafka: the events table in memory, a consumed record made
from (topic, key, value), and what a stage's result sends, decoded."""

from __future__ import annotations

from datetime import UTC, datetime

from vigie.contracts.codec import decode
from vigie.contracts.models import Acknowledgement, DeadLetter, RoutedEvent, UnitFeedback
from vigie.pipeline.messages import EventRecord, Inbound, StageResult

#: The stages' clock in these tests, unless a test moves it.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Table(dict[str, EventRecord]):
    """The events table, in memory."""

    def apply(self, result: StageResult) -> StageResult:
        for record in (result.related, result.record):
            if record is not None:
                self[record.event_id] = record
        return result


def inbound(record: tuple[str, bytes | None, bytes], offset: int = 0, *, partition: int = 0,
            expected: int | None = None) -> Inbound:
    """``record`` as the adapter hands it over; ``expected`` is its key's partition."""
    topic, key, value = record
    return Inbound(topic, partition, offset, key, value, expected)


def acks(result: StageResult) -> list[Acknowledgement]:
    return [decode(o.value, Acknowledgement) for o in result.outbound
            if o.topic.endswith(".acks.v1")]


def routed(result: StageResult) -> list[tuple[str, RoutedEvent]]:
    """(topic, copy) of each routed copy to a unit, in order."""
    return [(o.topic, decode(o.value, RoutedEvent)) for o in result.outbound
            if o.topic.startswith("force.") and o.topic.endswith(("alerts.v1", "incidents.v1"))]


def sandboxed(result: StageResult) -> list[tuple[str, RoutedEvent]]:
    """(topic, copy) of each routed copy to a partner's sandbox, in order."""
    return [(o.topic, decode(o.value, RoutedEvent)) for o in result.outbound
            if o.topic.endswith(".sandbox.v1")]


def feedback(result: StageResult) -> list[tuple[str, UnitFeedback]]:
    """(topic, answer) of each answer to a unit's refused status."""
    return [(o.topic, decode(o.value, UnitFeedback)) for o in result.outbound
            if o.topic.endswith(".feedback.v1")]


def dead_letters(result: StageResult) -> list[DeadLetter]:
    return [decode(o.value, DeadLetter) for o in result.outbound
            if o.topic.startswith("vigie.deadletter.")]

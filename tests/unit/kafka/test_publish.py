"""Partner records follow the domain's rules; the steady publisher keeps its pace and never
loses a failure in silence."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka.errors import TopicAuthorizationFailedError
from aiokafka.structs import RecordMetadata

from tests.factories import partner_event
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import Category, MessageType, Urgency
from vigie.contracts.models import PartnerEvent
from vigie.kafka import clients
from vigie.kafka.publish import partner_record, publish_at_rate
from vigie.settings import Settings


def test_partner_record_takes_the_lane_topic_and_the_root_key() -> None:
    incident = partner_event(event_id="n1", category=Category.GRAFFITI)
    topic, key, value = partner_record(incident)
    assert (topic, key) == (topics.partner_incidents(incident.partner_id), b"n1")
    assert decode(value, PartnerEvent) == incident
    update = incident.model_copy(update={
        "event_id": "u1", "message_type": MessageType.UPDATE, "references": ["n1"]})
    assert partner_record(update)[1] == b"n1"  # every message of one incident: one key
    # staff threatened, help needed now: the urgent lane (routing.policy.lane_for)
    urgent = partner_event(category=Category.GRAFFITI, staff_involved=True,
                           urgency=Urgency.IMMEDIATE)
    assert partner_record(urgent)[0] == topics.partner_alerts(urgent.partner_id)


@dataclass(frozen=True)
class Rec:
    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None


class FakeProducer:
    """Delivers each send at once, or fails the sends to ``refused``."""

    def __init__(self, refused: str | None = None, **options: Any) -> None:
        self.options = options
        self.refused = refused
        self.sent: list[tuple[str, int | None, float]] = []
        self.stopped = False

    async def start(self) -> None: ...

    async def send(self, topic: str, value: bytes, key: bytes | None = None,
                   partition: int | None = None) -> asyncio.Future[RecordMetadata]:
        loop = asyncio.get_running_loop()
        self.sent.append((topic, partition, loop.time()))
        future: asyncio.Future[RecordMetadata] = loop.create_future()
        if topic == self.refused:
            future.set_exception(TopicAuthorizationFailedError(topic))
        else:
            future.set_result(RecordMetadata(topic, partition or 0, None, len(self.sent) - 1,
                                             -1, 0, 0))
        return future

    async def flush(self) -> None: ...

    async def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def producers(monkeypatch: pytest.MonkeyPatch) -> list[FakeProducer]:
    made: list[FakeProducer] = []

    def producer(settings: Settings, **options: Any) -> FakeProducer:
        made.append(FakeProducer(refused=options.pop("refused", None), **options))
        return made[-1]

    monkeypatch.setattr(clients, "producer", producer)
    return made


async def test_steady_pace_and_every_delivery_reported(producers: list[FakeProducer]) -> None:
    records = [Rec("t", b"k", b"v", partition=None if i % 2 else 3) for i in range(10)]
    outcomes: dict[int, Any] = {}
    sent = await publish_at_rate(Settings(_env_file=None), records, rate=100.0,
                                 on_delivery=outcomes.__setitem__, enable_idempotence=True)
    [producer] = producers
    assert sent == 10 and producer.stopped
    assert producer.options["enable_idempotence"] and producer.options["acks"] == "all"
    assert [p for _, p, _ in producer.sent] == [3, None] * 5  # explicit partitions kept
    assert [outcomes[i].offset for i in range(10)] == list(range(10))
    span = producer.sent[-1][2] - producer.sent[0][2]
    assert 0.08 <= span < 0.5  # 10 records at 100/s: ~90 ms, not all at once


async def test_a_failure_stops_the_feed_and_is_raised(producers: list[FakeProducer]) -> None:
    def endless():  # type: ignore[no-untyped-def]
        while True:
            yield Rec("refused.v1", None, b"v")

    with pytest.raises(TopicAuthorizationFailedError):
        await publish_at_rate(Settings(_env_file=None), endless(), rate=1000.0,
                              refused="refused.v1")
    assert len(producers[0].sent) < 5 and producers[0].stopped


async def test_stop_ends_an_endless_feed(producers: list[FakeProducer]) -> None:
    stop = asyncio.Event()

    def endless():  # type: ignore[no-untyped-def]
        for i in range(10**6):
            if i == 3:
                stop.set()
            yield Rec("t", None, b"v")

    assert await publish_at_rate(Settings(_env_file=None), endless(), 50.0, stop=stop) == 3

"""The partner side: check an event locally, publish it as the contract says, wait for the ack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.models import Acknowledgement, PartnerEvent
from vigie.contracts.validation import Issue, validate_event
from vigie.simulation.feed import to_message
from vigie.workers.provision import partitions_of


def read_events(path: Path | str) -> list[PartnerEvent]:
    """A JSON object, a JSON array, or JSON Lines of partner events ('-' reads stdin)."""
    text = (Path("/dev/stdin") if str(path) == "-" else Path(path)).read_text(encoding="utf-8")
    stripped = text.strip()
    if stripped.startswith("["):
        items = json.loads(stripped)
    elif "\n" in stripped and not stripped.startswith("{\n"):
        items = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    else:
        items = [json.loads(stripped)]
    return [PartnerEvent.model_validate(item) for item in items]


def check_locally(event: PartnerEvent) -> list[Issue]:
    """The same business rules the workers apply, before anything leaves the partner."""
    return validate_event(event, topic_partner_id=event.partner_id, now=datetime.now(UTC))


async def publish_and_wait(
    bootstrap: str, events: Iterable[PartnerEvent], timeout: float = 30.0
) -> dict[str, list[Acknowledgement]]:
    """Publish events (each on its partner's topic, keyed by root id) and collect, per event
    id, the acknowledgements that arrive within ``timeout`` after the routing outcome."""
    events = list(events)
    ack_topics = sorted({topics.partner_acks(e.partner_id) for e in events})
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    found: dict[str, list[Acknowledgement]] = {e.event_id: [] for e in events}
    try:
        partitions = await partitions_of(bootstrap, ack_topics)
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:  # fix the start before publishing: no ack can be missed
            await consumer.position(tp)
        for event in events:
            message = to_message(event)
            await producer.send_and_wait(message.topic, message.value, key=message.key)
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if all(found.values()):
                break
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    ack = decode(record.value or b"", Acknowledgement)
                    if ack.event_id in found:
                        found[ack.event_id].append(ack)
    finally:
        await producer.stop()
        await consumer.stop()
    return found

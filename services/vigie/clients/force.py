"""The force side: a unit's status update about an event routed to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer

from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode, encode
from vigie.contracts.enums import Force, ForceStatus
from vigie.contracts.models import RoutedEvent, StatusUpdate
from vigie.workers.provision import partitions_of


def status_record(
    unit_id: str,
    event_id: str,
    status: ForceStatus,
    *,
    at: datetime | None = None,
    transfer_to_force: Force | None = None,
) -> tuple[str, bytes, bytes]:
    """(topic, key, value) for a status: on the unit's own status topic, keyed by event id
    (the event's partition, where Vigie remembers it)."""
    update = StatusUpdate(
        event_id=event_id,
        unit_id=unit_id,
        status=status,
        at=at or datetime.now(UTC),
        transfer_to_force=transfer_to_force,
    )
    return topics.unit_status(unit_id), event_id.encode(), encode(update)


async def follow_unit(
    bootstrap: str, unit_id: str, *, from_beginning: bool = False
) -> AsyncIterator[RoutedEvent]:
    """Routed events for one unit, alerts and incidents, as they arrive."""
    names = [topics.unit_alerts(unit_id), topics.unit_incidents(unit_id)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, names)
        if not partitions:
            raise ValueError(f"no topics for unit {unit_id!r}")
        consumer.assign(partitions)
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        async for record in consumer:
            with contextlib.suppress(DecodeError):
                yield decode(record.value or b"", RoutedEvent)
    finally:
        await consumer.stop()

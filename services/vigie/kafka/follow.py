"""Reading topics from outside any consumer group: what a unit, a partner waiting for its
acknowledgements, or a test does.

Such a reader must assign the partitions itself, and its login may lack the rights to some
of them: it learns that from the broker before reading (``TopicAuthorizationFailedError``),
and a topic that does not exist is said so (``TopicsNotFound``) instead of leaving it reading
nothing forever.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer

from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.models import RoutedEvent
from vigie.kafka import clients
from vigie.kafka.admin import partitions_of
from vigie.kafka.errors import TopicsNotFound
from vigie.settings import Settings

#: Outside a group nothing is committed, and only what Vigie's transactions committed counts.
READER: dict[str, Any] = {
    "group_id": None,
    "enable_auto_commit": False,
    "isolation_level": "read_committed",
}


@contextlib.asynccontextmanager
async def assigned(
    settings: Settings,
    names: Iterable[str],
    *,
    from_beginning: bool = False,
    allow_missing: bool = False,
    **options: Any,
) -> AsyncIterator[AIOKafkaConsumer]:
    """A started reader of every partition of ``names``, from their beginning or their end.

    Its start positions are fixed before it is handed over, so that a record published
    afterwards (an acknowledgement of what the caller is about to send) cannot be missed."""
    names = list(names)
    partitions = await partitions_of(settings, names)
    missing = set(names) - {tp.topic for tp in partitions}
    if missing and not allow_missing:
        raise TopicsNotFound(missing)
    consumer = clients.consumer(settings, **{**READER, **options})
    try:
        await consumer.start()
        consumer.assign(partitions)
        if partitions:
            if from_beginning:
                await consumer.seek_to_beginning(*partitions)
            else:
                await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)
        yield consumer
    finally:
        await consumer.stop()


async def follow_unit(
    settings: Settings, unit_id: str, *, from_beginning: bool = False
) -> AsyncIterator[RoutedEvent]:
    """Routed events for one unit, alerts and incidents, as they arrive."""
    names = [topics.unit_alerts(unit_id), topics.unit_incidents(unit_id)]
    async with assigned(settings, names, from_beginning=from_beginning) as consumer:
        async for record in consumer:
            with contextlib.suppress(DecodeError):
                yield decode(record.value or b"", RoutedEvent)

"""Publishing: records as the contract wants them, and the three ways Vigie's tools send them.

The contract's rules for a partner record live in the domain (``routing.policy.lane_for``
picks the topic, ``contracts.keys.root_event_id`` the key); this module only applies them,
so the partner tool, the simulator, the chaos harness and the bench cannot drift from what
the workers check. The partition is left to aiokafka's default partitioner, murmur2 of the
key: the one the workers expect (``WRONG_PARTITION`` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from aiokafka.structs import RecordMetadata

from vigie.contracts import topics
from vigie.contracts.codec import decode, encode
from vigie.contracts.keys import root_event_id
from vigie.contracts.models import (
    Acknowledgement,
    CompetenceRecord,
    PartnerEvent,
    SiteRecord,
    UnitAvailability,
    UnitRecord,
    UnitRules,
)
from vigie.kafka import clients
from vigie.kafka.follow import assigned
from vigie.routing.policy import lane_for
from vigie.settings import Settings

#: (topic, key, value): what most publishers send.
Record = tuple[str, bytes | None, bytes]


class Publishable(Protocol):
    """A record to send; one with a ``partition`` attribute other than None goes there
    instead of its key's partition (the chaos harness's spoofed records)."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes: ...


#: Told, for the n-th record sent, where it landed or why it did not.
OnDelivery = Callable[[int, RecordMetadata | BaseException], None]


def partner_record(event: PartnerEvent) -> tuple[str, bytes, bytes]:
    """(topic, key, value) of a partner's event: its own topic of the event's lane, keyed by
    the root event id so that every message of one incident shares a partition."""
    topic = topics.partner_input(event.partner_id, lane_for(event))
    return topic, root_event_id(event).encode(), encode(event)


def reference_records(
    *,
    sites: Sequence[SiteRecord] = (),
    units: Sequence[UnitRecord] = (),
    competence: Sequence[CompetenceRecord] = (),
    rules: Sequence[UnitRules] = (),
    availability: Sequence[UnitAvailability] = (),
) -> list[Record]:
    """Reference records for their compacted topics, keyed by their natural id (the latest
    record of a key is the truth). Rules are keyed by unit and start date, so that a change
    loaded ahead does not compact away the rules in force until then."""
    records: list[Record] = []
    records += [(topics.REF_SITES, s.site_id.encode(), encode(s)) for s in sites]
    records += [(topics.REF_UNITS, u.unit_id.encode(), encode(u)) for u in units]
    records += [(topics.REF_COMPETENCE, c.insee_code.encode(), encode(c)) for c in competence]
    records += [(topics.REF_RULES, f"{r.unit_id}|{r.effective_from}".encode(), encode(r))
                for r in rules]
    records += [(topics.REF_AVAILABILITY, a.unit_id.encode(), encode(a)) for a in availability]
    return records


async def publish_records(settings: Settings, records: Iterable[Record]) -> int:
    """Publish records at once with acks=all and wait for every one; return the count."""
    producer = clients.producer(settings, acks="all", linger_ms=10)
    try:
        await producer.start()
        futures = [await producer.send(t, key=k, value=v) for t, k, v in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


async def publish_reference(
    settings: Settings,
    *,
    sites: Sequence[SiteRecord] = (),
    units: Sequence[UnitRecord] = (),
    competence: Sequence[CompetenceRecord] = (),
    rules: Sequence[UnitRules] = (),
    availability: Sequence[UnitAvailability] = (),
) -> int:
    """Operations' part: reference data to their compacted topics (workers apply them to the
    next event, no restart)."""
    records = reference_records(sites=sites, units=units, competence=competence, rules=rules,
                                availability=availability)
    return await publish_records(settings, records)


async def publish_at_rate(
    settings: Settings,
    records: Iterable[Publishable],
    rate: float,
    *,
    stop: asyncio.Event | None = None,
    on_delivery: OnDelivery | None = None,
    **producer_options: Any,
) -> int:
    """Send ``records`` (a lazy, endless feed is fine) at a steady ``rate`` per second until
    they end or ``stop`` is set; return how many were sent, once all are delivered.

    The pace is kept against the start time, so a slow send is caught up rather than
    accumulated. Each delivery goes to ``on_delivery`` when given; otherwise the first
    failure stops the feed and is raised, so that a refused topic is not published to in
    silence. ``producer_options`` override ``acks="all", linger_ms=5``."""
    loop = asyncio.get_running_loop()
    producer = clients.producer(settings, **{"acks": "all", "linger_ms": 5, **producer_options})
    pending: set[asyncio.Future[RecordMetadata]] = set()
    failures: list[BaseException] = []

    def delivered(index: int, future: asyncio.Future[RecordMetadata]) -> None:
        pending.discard(future)
        if future.cancelled():
            outcome: RecordMetadata | BaseException = asyncio.CancelledError()
        else:
            outcome = future.exception() or future.result()
        if on_delivery is not None:
            on_delivery(index, outcome)
        elif isinstance(outcome, BaseException):
            failures.append(outcome)

    sent = 0
    try:
        await producer.start()
        started = loop.time()
        for record in records:
            if failures or (stop is not None and stop.is_set()):
                break
            future = await producer.send(record.topic, record.value, key=record.key,
                                         partition=getattr(record, "partition", None))
            future.add_done_callback(functools.partial(delivered, sent))
            pending.add(future)
            sent += 1
            delay = started + sent / rate - loop.time()
            if delay <= 0:
                continue
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        await producer.flush()
        if pending:
            await asyncio.wait(set(pending))
    finally:
        await producer.stop()
    if failures:
        raise failures[0]
    return sent


async def publish_and_wait(
    settings: Settings, events: Iterable[PartnerEvent], timeout: float = 30.0
) -> dict[str, list[Acknowledgement]]:
    """The partner's path: publish events (``partner_record``) and collect, per event id,
    the acknowledgements that arrive within ``timeout`` after the routing outcome."""
    events = list(events)
    ack_topics = sorted({topics.partner_acks(e.partner_id) for e in events})
    found: dict[str, list[Acknowledgement]] = {e.event_id: [] for e in events}
    # The ack reader's start is fixed before anything is published: no ack can be missed.
    async with assigned(settings, ack_topics) as consumer:
        await publish_records(settings, [partner_record(e) for e in events])
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
    return found

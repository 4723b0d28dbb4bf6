"""What the worker remembers of each event, partition by partition, and how it survives.

The state is the idempotency and lifecycle table (event id -> ``EventRecord``). Every input
topic is keyed by the root event id and has the same partition count, so partition ``p`` of
every input only ever needs the entries of partition ``p`` here: the worker that owns ``p``
owns its entries. Each change is written to partition ``p`` of a compacted changelog topic
*inside the same Kafka transaction* as the outputs and the input offsets that caused it
(``vigie.workers.engine``), so the changelog never says more or less than what was
published. A worker that takes ``p`` over reads that partition back with ``read_committed``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from aiokafka import TopicPartition

from vigie.contracts import topics
from vigie.kafka import clients
from vigie.pipeline.messages import EventRecord, Outbound
from vigie.settings import Settings

log = logging.getLogger(__name__)

#: Every consumer of the worker reads committed records only and commits nothing itself
#: (offsets go with the transactions): the engine's two and the state restore.
READER_OPTIONS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "isolation_level": "read_committed",
}


def changelog_topic(settings: Settings) -> str:
    return topics.changelog(settings.app_id)


class EventState:
    """The entries of the partitions this worker owns, with their alert deadlines."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.changelog = changelog_topic(settings)
        self._entries: dict[int, dict[str, EventRecord]] = {}
        #: event id -> (deadline in epoch seconds, partition) of open alerts owned here.
        self.deadlines: dict[str, tuple[float, int]] = {}
        #: Open alerts (routed, not yet taken in charge) per unit, kept with ``deadlines``:
        #: the routing rules' overflow limits read it for every alert (a count per event
        #: would cost a scan of every open alert).
        self.open_alerts: Counter[str] = Counter()
        self._open_units: dict[str, tuple[str, ...]] = {}

    @property
    def partitions(self) -> set[int]:
        return set(self._entries)

    def lookup(self, event_id: str, partition: int) -> EventRecord | None:
        entries = self._entries.get(partition)
        return entries.get(event_id) if entries is not None else None

    def put(self, record: EventRecord, partition: int) -> Outbound:
        """Remember ``record`` and return its changelog record (to send in the transaction)."""
        self._entries.setdefault(partition, {})[record.event_id] = record
        self._index_deadline(record, partition)
        value = json.dumps(record.to_json(), separators=(",", ":")).encode()
        return Outbound(self.changelog, record.event_id.encode(), value, partition)

    def _index_deadline(self, record: EventRecord, partition: int) -> None:
        self.forget_deadline(record.event_id)
        if record.alert_deadline is not None:
            self.deadlines[record.event_id] = (record.alert_deadline, partition)
            self._open_units[record.event_id] = record.units
            self.open_alerts.update(record.units)

    def forget_deadline(self, event_id: str) -> None:
        """The alert is no longer open here (answered, escalated, cancelled, or dropped)."""
        self.deadlines.pop(event_id, None)
        units = self._open_units.pop(event_id, None)
        if units:
            self.open_alerts.subtract(units)
            for unit in units:
                if self.open_alerts[unit] <= 0:
                    del self.open_alerts[unit]

    def due(self, now: float) -> list[tuple[str, int]]:
        """Open alerts whose deadline passed, oldest first."""
        late = [(deadline, event_id, p) for event_id, (deadline, p) in self.deadlines.items()
                if deadline <= now]
        return [(event_id, p) for _, event_id, p in sorted(late)]

    def next_deadline(self) -> float | None:
        return min((deadline for deadline, _ in self.deadlines.values()), default=None)

    def open_alert_units(self) -> list[tuple[str, ...]]:
        return [self._entries[p][event_id].units for event_id, (_, p) in self.deadlines.items()
                if event_id in self._entries.get(p, {})]

    def last_inputs(self) -> dict[tuple[str, int], int]:
        """The highest input offset each (topic, partition) has in the entries' sources.

        An entry is in the committed changelog only if the transaction that wrote it, with the
        input offsets past its source record, committed: so the group's committed offset of
        that input is at least this plus one, whatever a lagging offset fetch may say."""
        highest: dict[tuple[str, int], int] = {}
        for entries in self._entries.values():
            for record in entries.values():
                parts = record.source.rsplit("/", 2)
                if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
                    continue
                key = (parts[0], int(parts[1]))
                offset = int(parts[2])
                if offset > highest.get(key, -1):
                    highest[key] = offset
        return highest

    def drop(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self._entries.pop(p, None)
        for event_id in [k for k, v in self.deadlines.items() if v[1] not in self._entries]:
            self.forget_deadline(event_id)

    async def restore(self, partitions: Iterable[int]) -> int:
        """Read these changelog partitions back (committed records only); return the count.

        Called after this worker's transactional producers for the partitions started, which
        fenced any previous owner and aborted its open transaction: the committed end of the
        changelog is then final."""
        wanted = sorted(set(partitions))
        for p in wanted:
            self._entries[p] = {}
        if not wanted:
            return 0
        consumer = clients.consumer(
            self._settings,
            **READER_OPTIONS,
            group_id=None,
            max_partition_fetch_bytes=4 << 20,
        )
        await consumer.start()
        count = 0
        try:
            tps = [TopicPartition(self.changelog, p) for p in wanted]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            pending = {tp for tp in tps if end[tp] > await consumer.position(tp)}
            while pending:
                batches = await consumer.getmany(*pending, timeout_ms=500, max_records=10_000)
                for tp, records in batches.items():
                    entries = self._entries[tp.partition]
                    for message in records:
                        event_id = message.key.decode() if message.key else ""
                        if message.value is None:
                            entries.pop(event_id, None)
                            continue
                        entries[event_id] = EventRecord.from_json(json.loads(message.value))
                        count += 1
                for tp in list(pending):
                    # The position moves past transaction markers too.
                    if await consumer.position(tp) >= end[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
        for p in wanted:
            for record in self._entries[p].values():
                self._index_deadline(record, p)
        return count

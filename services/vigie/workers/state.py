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
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError

from vigie import metrics
from vigie.contracts import topics
from vigie.kafka import clients
from vigie.pipeline.messages import EventRecord, Outbound
from vigie.settings import Settings

log = logging.getLogger(__name__)

#: The state restore's consumer (librdkafka properties): committed records only, and an
#: end-of-partition event when it has read all there is.
RESTORE_OPTIONS: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "isolation.level": "read_committed",
    "enable.partition.eof": True,
    "fetch.max.bytes": 16 << 20,
    "max.partition.fetch.bytes": 4 << 20,
}
#: How long a restore may wait for its partitions' end (a pending transaction resolves
#: within the transaction timeout).
RESTORE_TIMEOUT_S = 120.0
#: How long a restore waits for a changelog transaction left pending before it takes the
#: last stable offset as the end (the transaction timeout and the broker's abort check
#: interval are 10 s each; see ``vigie.workers.rebalance.STABLE_OFFSETS_WAIT_S``).
RESTORE_PENDING_WAIT_S = 30.0


#: The changelog's JSON, compact; one encoder, not one per ``json.dumps`` call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


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
        value = _ENCODER.encode(record.to_json()).encode()
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

    def restore(self, partitions: Iterable[int]) -> int:
        """Read these changelog partitions back (committed records only); return the count.

        Called once the group's offsets of these partitions are stable (no transaction with
        offsets of them pending: ``vigie.workers.rebalance``). A previous owner's transaction
        may still hold the changelog's last stable offset back for a moment (its commit
        markers are written partition by partition): a partition counts as read only when
        read_committed's end is also the log's end (``_log_ends``), so the restore never
        stops short of a committed entry."""
        from confluent_kafka import OFFSET_BEGINNING
        from confluent_kafka import TopicPartition as RdTopicPartition

        wanted = sorted(set(partitions))
        for p in wanted:
            self._entries[p] = {}
        if not wanted:
            return 0
        consumer = clients.rd_consumer(
            self._settings, **RESTORE_OPTIONS,
            # Never joined (partitions assigned by hand); named under the app's prefix, the
            # one its login's ACLs cover.
            **{"group.id": f"{self._settings.app_id}-state-restore"})
        count = 0
        try:
            consumer.assign([RdTopicPartition(self.changelog, p, OFFSET_BEGINNING)
                             for p in wanted])
            pending, at_end = set(wanted), set()
            started = time.monotonic()
            deadline = started + RESTORE_TIMEOUT_S
            while pending:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"changelog restore of partitions {sorted(pending)} "
                                       f"did not reach their end in {RESTORE_TIMEOUT_S:.0f} s")
                messages = consumer.consume(num_messages=10_000, timeout=0.2)
                for message in messages:
                    partition = message.partition() or 0
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            raise RuntimeError(f"changelog restore failed: {error}")
                        at_end.add(partition)
                        continue
                    at_end.discard(partition)
                    self._apply(partition, message.key(), message.value())
                    count += 1
                if at_end & pending:
                    done = self._log_ends(consumer, sorted(at_end & pending))
                    if time.monotonic() - started > RESTORE_PENDING_WAIT_S:
                        # Past the transaction timeout and the broker's abort check: the
                        # broker left it pending; what read_committed reads is all there is.
                        stuck = (at_end & pending) - done
                        if stuck:
                            log.error("a changelog transaction stays pending: restoring up "
                                      "to its last stable offset",
                                      extra={"partitions": sorted(stuck)})
                            metrics.CHANGELOG_PENDING_ACCEPTED.inc()
                        done |= stuck
                    pending -= done
        finally:
            consumer.close()
        for p in wanted:
            for record in self._entries[p].values():
                self._index_deadline(record, p)
        return count

    def _apply(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        entries = self._entries[partition]
        event_id = key.decode() if key else ""
        if value is None:
            entries.pop(event_id, None)
        else:
            entries[event_id] = EventRecord.from_json(json.loads(value))

    def _log_ends(self, consumer: Any, partitions: list[int]) -> set[int]:
        """Those of ``partitions`` (read to read_committed's end) that are read to the end of
        the log: no transaction pending there, and the position at that end. The others are
        read on: their end moves when the pending transaction is resolved."""
        from confluent_kafka import IsolationLevel
        from confluent_kafka import TopicPartition as RdTopicPartition
        from confluent_kafka.admin import OffsetSpec

        tps = [RdTopicPartition(self.changelog, p) for p in partitions]
        admin = clients.librdkafka_admin(self._settings)

        def ends(spec: Any, isolation: Any) -> dict[int, int]:
            futures = admin.list_offsets({tp: spec for tp in tps}, isolation_level=isolation,
                                         request_timeout=10)
            return {tp.partition: f.result().offset for tp, f in futures.items()}

        stable = ends(OffsetSpec.latest(), IsolationLevel.READ_COMMITTED)
        log_end = ends(OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED)
        start = ends(OffsetSpec.earliest(), IsolationLevel.READ_UNCOMMITTED)
        done: set[int] = set()
        for tp in consumer.position(tps):
            # Nothing read yet: the position is unset (librdkafka's OFFSET_INVALID).
            position = tp.offset if tp.offset >= 0 else start[tp.partition]
            if stable[tp.partition] == log_end[tp.partition] <= position:
                done.add(tp.partition)
            else:
                log.info("a transaction is pending on a changelog partition: waiting for it",
                         extra={"partition": tp.partition, "position": position,
                                "stable_end": stable[tp.partition],
                                "end": log_end[tp.partition]})
        return done

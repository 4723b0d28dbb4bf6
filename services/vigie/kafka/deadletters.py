"""Dead-letter triage: read ``vigie.deadletter.v1`` and re-publish an original record.

A dead letter holds the original bytes of what a worker could not handle, with a fixed
reason code and the record's source coordinates (``pipeline.outputs.dead_letter``). Operations
list them to see what failed and why, and re-publish one to its source topic once its cause
is fixed (reference data corrected, a worker bug fixed): the worker then reads it as new
input. Only the administrator may: the workers' login can only write the dead-letter topic
and the partners' topics belong to the partners (docs/security.md).

The payload is partner data: it is never printed (docs/operations.md, "Dead letters").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import TopicPartition

from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.models import DeadLetter, KafkaCoordinates
from vigie.kafka import clients
from vigie.kafka.admin import partitions_of
from vigie.settings import Settings

#: Header of a replayed record: where it came from, for the audit of the source topic.
REPLAY_HEADER = "vigie-replayed-from"


@dataclass(frozen=True)
class Entry:
    """One record of the dead-letter topic; ``letter`` None when it does not decode."""

    partition: int
    offset: int
    key: bytes | None
    letter: DeadLetter | None

    @property
    def ref(self) -> str:
        """How ``vigie deadletter replay`` names it: ``<partition>:<offset>``."""
        return f"{self.partition}:{self.offset}"


class ReplayError(RuntimeError):
    """The dead letter cannot be replayed (absent, undecodable, truncated payload)."""


async def read_dead_letters(settings: Settings, *, since: datetime | None = None,
                            reason: str | None = None, source_topic: str | None = None
                            ) -> list[Entry]:
    """Every dead letter present now (committed ones: the workers write them in their
    transactions), oldest first, filtered by time, reason code and source topic."""
    tps = await partitions_of(settings, [topics.DEADLETTER])
    if not tps:
        return []
    consumer = clients.consumer(settings, group_id=None, enable_auto_commit=False,
                                isolation_level="read_committed")
    await consumer.start()
    entries: list[Entry] = []
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    try:
                        letter: DeadLetter | None = decode(record.value or b"", DeadLetter)
                    except DecodeError:
                        letter = None
                    entries.append(Entry(tp.partition, record.offset, record.key, letter))
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()

    def wanted(entry: Entry) -> bool:
        letter = entry.letter
        if letter is None:
            return since is None and reason is None and source_topic is None
        return ((since is None or letter.failed_at >= since)
                and (reason is None or letter.reason_code == reason)
                and (source_topic is None or letter.source.topic == source_topic))

    entries.sort(key=lambda e: (e.partition, e.offset))  # one partition: oldest first
    return [e for e in entries if wanted(e)]


async def fetch_dead_letter(settings: Settings, partition: int, offset: int) -> Entry:
    """The dead letter at ``partition``:``offset``."""
    tp = TopicPartition(topics.DEADLETTER, partition)
    if tp not in set(await partitions_of(settings, [topics.DEADLETTER])):
        raise ReplayError(f"pas de partition {partition} dans {topics.DEADLETTER}")
    consumer = clients.consumer(settings, group_id=None, enable_auto_commit=False,
                                isolation_level="read_committed")
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if offset >= end:
            raise ReplayError(f"pas de lettre morte en {partition}:{offset}")
        consumer.seek(tp, offset)
        while True:
            batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
            for record in batch.get(tp, []):
                if record.offset != offset:  # compacted away or an aborted transaction
                    raise ReplayError(f"pas de lettre morte en {partition}:{offset}")
                try:
                    letter = decode(record.value or b"", DeadLetter)
                except DecodeError as exc:
                    raise ReplayError(f"{partition}:{offset} n'est pas une lettre morte "
                                      "lisible") from exc
                return Entry(partition, offset, record.key, letter)
            if await consumer.position(tp) >= end:
                raise ReplayError(f"pas de lettre morte en {partition}:{offset}")
    finally:
        await consumer.stop()


async def replay(settings: Settings, entry: Entry) -> KafkaCoordinates:
    """Publish the dead letter's original bytes to its source topic, with its key (the
    default partitioner, murmur2, puts it on the partition its key designates); return where
    it landed. A truncated payload (an oversized input kept in part) is refused."""
    letter = entry.letter
    if letter is None:
        raise ReplayError(f"{entry.ref} n'est pas une lettre morte lisible")
    if letter.payload_truncated:
        raise ReplayError(f"{entry.ref} : contenu tronqué ({letter.payload_size} octets à "
                          "l'origine), il ne peut pas être republié")
    producer = clients.producer(settings, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        origin = f"{topics.DEADLETTER}:{entry.ref}".encode()
        meta = await producer.send_and_wait(letter.source.topic, letter.payload, key=entry.key,
                                            headers=[(REPLAY_HEADER, origin)])
    finally:
        await producer.stop()
    return KafkaCoordinates(topic=meta.topic, partition=meta.partition, offset=meta.offset)

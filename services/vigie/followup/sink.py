"""``vigie followup``: the exactly-once sink from Vigie's output topics to the follow-up store.

It reads, ``read_committed``, what the workers committed: every partner's acknowledgements
(``partner.<p>.acks.v1``) and every unit's routed copies (``force.<u>.alerts|incidents.v1``),
matched by pattern so that a new partner or unit needs no restart. Unit statuses need not be
read: each accepted one comes back as an acknowledgement under the incident's id.

Offsets live in PostgreSQL (``sink_offsets``) and are written in the same transaction as the
rows (``vigie.followup.store``): after a SIGKILL the sink seeks to them and neither loses nor
double-counts a fact. The consumer group is only for sharing partitions between sinks and for
the lag others can watch; its Kafka offsets are committed after PostgreSQL, for information.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.db import database_url, migrate
from vigie.followup.facts import row_of_ack, row_of_routed
from vigie.followup.store import Batch, FollowUpStore, Offsets
from vigie.kafka import clients
from vigie.settings import Settings

log = logging.getLogger("vigie.followup")

#: What the sink reads: every partner's acks and every unit's routed copies.
TOPIC_PATTERN = r"^(partner\.[a-z0-9-]+\.acks|force\.[a-z0-9-]+\.(alerts|incidents))\.v1$"
BATCH_RECORDS = 2000
POLL_MS = 500


def consumer_group(settings: Settings) -> str:
    return f"{settings.app_id}-followup"


class _SeekToStored(ConsumerRebalanceListener):
    """On every assignment, start from the offsets PostgreSQL holds, not Kafka's."""

    def __init__(self, sink: FollowUpSink) -> None:
        self.sink = sink

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.sink.generation += 1

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.sink.generation += 1
        await self.sink.seek_to_stored(assigned)


class FollowUpSink:
    def __init__(self, settings: Settings, store: FollowUpStore,
                 pattern: str = TOPIC_PATTERN) -> None:
        self.settings = settings
        self.store = store
        self.pattern = pattern
        self.consumer: AIOKafkaConsumer | None = None
        self.generation = 0
        self.rows_written = 0
        self.undecodable = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def seek_to_stored(self, assigned: set[TopicPartition]) -> None:
        assert self.consumer is not None
        stored = await self.store.offsets()
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                self.consumer.seek(tp, 0)  # before retention: the earliest (auto_offset_reset)
            else:
                self.consumer.seek(tp, offset)

    async def run(self) -> None:
        self.consumer = clients.consumer(
            self.settings, group_id=consumer_group(self.settings), enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level="read_committed",
            metadata_max_age_ms=30_000, max_partition_fetch_bytes=1 << 20,
        )
        self.consumer.subscribe(pattern=self.pattern, listener=_SeekToStored(self))
        await self.consumer.start()
        try:
            while not self._stopping.is_set():
                generation = self.generation
                batches = await self.consumer.getmany(timeout_ms=POLL_MS,
                                                      max_records=BATCH_RECORDS)
                if not batches:
                    continue
                if generation != self.generation:
                    # Fetched across a rebalance: these records may predate the new seek.
                    # Drop them and read again from what PostgreSQL holds.
                    await self.seek_to_stored(self.consumer.assignment())
                    continue
                await self._write(batches)
        finally:
            await self.consumer.stop()

    async def _write(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        batch = Batch()
        offsets: Offsets = {}
        for tp, records in batches.items():
            acks = tp.topic.startswith("partner.")
            for record in records:
                try:
                    if acks:
                        batch.add(row_of_ack(decode(record.value or b"", Acknowledgement)))
                    else:
                        batch.add(row_of_routed(decode(record.value or b"", RoutedEvent)))
                except DecodeError:
                    self.undecodable += 1  # not Vigie's output: skipped, counted, logged
                    log.warning("undecodable record skipped", extra={
                        "source": f"{tp.topic}/{tp.partition}/{record.offset}"})
            offsets[(tp.topic, tp.partition)] = records[-1].offset + 1
        batch.offsets = offsets
        await self.store.write(batch)
        self.rows_written += batch.rows
        assert self.consumer is not None
        with contextlib.suppress(Exception):  # information only (lag); PostgreSQL is the truth
            await self.consumer.commit({TopicPartition(t, p): o for (t, p), o in offsets.items()})


async def run_sink(settings: Settings) -> None:
    """Migrate the store, then sink until SIGTERM/SIGINT."""
    url = database_url(settings)
    await asyncio.to_thread(migrate.upgrade, url)
    store = await FollowUpStore.connect(url, consumer_group(settings))
    sink = FollowUpSink(settings, store)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, sink.stop)
    started = time.monotonic()
    log.info("follow-up sink started", extra={"group": consumer_group(settings)})
    try:
        await sink.run()
    finally:
        await store.close()
        log.info("follow-up sink stopped", extra={
            "rows": sink.rows_written, "undecodable": sink.undecodable,
            "seconds": round(time.monotonic() - started, 1)})

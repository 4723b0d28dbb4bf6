"""Keeps the worker's reference store in step with the compacted ``ref.*`` topics.

Every worker needs every site and every competence row (they are not partitioned by event),
so this is a plain consumer outside the consumer group, reading each topic from the start.
Updates take effect for the next event: no restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import TopicPartition

from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.models import (
    CompetenceRecord,
    SiteRecord,
    UnitAvailability,
    UnitRecord,
    UnitRules,
)
from vigie.kafka import clients
from vigie.kafka.admin import partitions_of
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings

log = logging.getLogger(__name__)

REFERENCE_TOPICS = (topics.REF_UNITS, topics.REF_COMPETENCE, topics.REF_SITES,
                    topics.REF_RULES, topics.REF_AVAILABILITY)


class ReferenceLoader:
    def __init__(
        self,
        store: ReferenceStore,
        settings: Settings,
        on_update: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.ready = asyncio.Event()
        self._settings = settings
        self.on_update = on_update or (lambda _topic: None)

    def apply(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Apply one compacted record; a tombstone (no value) deletes a site."""
        if value is None:
            if topic == topics.REF_SITES and key is not None:
                self.store.delete_site(key.decode())
            return
        try:
            if topic == topics.REF_SITES:
                self.store.upsert_site(decode(value, SiteRecord))
            elif topic == topics.REF_COMPETENCE:
                self.store.upsert_competence(decode(value, CompetenceRecord))
            elif topic == topics.REF_UNITS:
                self.store.upsert_unit(decode(value, UnitRecord))
            elif topic == topics.REF_RULES:
                self.store.upsert_rules(decode(value, UnitRules))
            elif topic == topics.REF_AVAILABILITY:
                self.store.set_availability(decode(value, UnitAvailability))
        except DecodeError as exc:
            log.warning("reference record skipped", extra={"topic": topic, "reason": exc.reason})
            return
        self.on_update(topic)

    async def _partitions(self, wait: float = 30.0) -> list[TopicPartition]:
        """The partitions of the reference topics, waiting a little for their creation."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            found = await partitions_of(self._settings, REFERENCE_TOPICS)
            if len({tp.topic for tp in found}) == len(REFERENCE_TOPICS) or loop.time() > deadline:
                return found
            await asyncio.sleep(0.5)

    async def run(self) -> None:
        consumer = clients.consumer(
            self._settings,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = await self._partitions()
            if not partitions:
                raise RuntimeError("reference topics missing: run `vigie topics ensure`")
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            pending = {tp for tp, offset in end.items() if offset > 0}
            if not pending:
                self.ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        self.apply(tp.topic, record.key, record.value)
                    if tp in pending and records[-1].offset + 1 >= end[tp]:
                        pending.discard(tp)
                if not self.ready.is_set() and not pending:
                    log.info("reference data loaded", extra=self.store.snapshot().versions)
                    self.ready.set()
        finally:
            await consumer.stop()


async def load_reference(settings: Settings, timeout: float = 60.0) -> ReferenceStore:
    """The shipped defaults plus everything the reference topics hold now, read once: for
    jobs that need the reference data of the moment but do not follow it (``vigie
    hotspots``)."""
    store = ReferenceStore.with_defaults()
    loader = ReferenceLoader(store, settings)
    task = asyncio.create_task(loader.run())
    try:
        await asyncio.wait_for(loader.ready.wait(), timeout)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return store

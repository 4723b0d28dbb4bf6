"""The secure local broker shared by the security tests: SASL_SSL, SCRAM logins for two
partners, two units, the worker and the admin, and the ACLs of ``vigie.broker.secure``.

One broker for the session (``secure_broker`` in conftest): starting one costs a certificate
authority, a KRaft format and a JVM. Partner topics have four partitions, as in production,
so that partitioning checks mean something, and the partner topics' ``max.message.bytes``
of production (``ensure_topics``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import RecordMetadata

from tests.integration.kafka_tools import WorkerProcess, free_port
from vigie.broker.secure import ADMIN, WORKER, ClientConfig, SecureBroker
from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, encode
from vigie.contracts.models import SiteRecord
from vigie.kafka.admin import ensure_topics
from vigie.settings import Settings
from vigie.workers.reference_loader import REFERENCE_TOPICS

PARTNER_A, PARTNER_B = "opac-oise", "oise-habitat"
UNIT_X, UNIT_Y = "gn-bt-beauvais", "pn-csp-creil"


def secure_broker_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """The secure broker of the session (conftest's ``secure_broker`` fixture)."""
    port = free_port()
    settings = Settings(
        broker_port=port,
        controller_port=free_port(),
        bootstrap_servers=f"127.0.0.1:{port}",
        state_dir=tmp_path_factory.mktemp("kafka-secure"),
        partitions=4,
        partners=[PARTNER_A, PARTNER_B],
    )
    # Every shipped unit (as `vigie broker start --secure`): a worker serves all of them, so
    # its ACLs must cover all of them for test_worker_routes_over_sasl_ssl to prove they do.
    broker = SecureBroker(settings)
    assert {UNIT_X, UNIT_Y} <= set(broker.unit_ids())
    broker.start()
    try:
        asyncio.run(provision(broker))
        yield broker
    finally:
        broker.stop()


async def provision(broker: SecureBroker) -> None:
    """Topics created by the admin as production creates them (``ensure_topics``: partition
    counts, retention, partner topics' size limit); one routed event and one ack written by
    the worker login (which also proves the worker may write units' and partners' outbound
    topics)."""
    await ensure_topics(broker.settings_for(ADMIN), [UNIT_X, UNIT_Y])
    producer = AIOKafkaProducer(**broker.client_config(WORKER).aiokafka(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topics.unit_incidents(UNIT_X), b"routed", key=b"e1")
        await producer.send_and_wait(topics.partner_acks(PARTNER_A), b"ack", key=b"e1")
    finally:
        await producer.stop()





@contextlib.contextmanager
def worker_logged_in(broker: SecureBroker, folder: Path) -> Iterator[WorkerProcess]:
    """A real supervised ``vigie worker`` with the ``vigie-worker`` login and nothing else
    (what its pod's environment gives), its state and log in ``folder``; ready, and stopped
    on the way out."""
    process = WorkerProcess(
        settings=broker.settings_for(WORKER).model_copy(update={"state_dir": folder}),
        log_path=folder / "worker.log",
    )
    try:
        process.start(timeout=150)
        yield process
    finally:
        process.stop()


async def publish_site(broker: SecureBroker, site: SiteRecord) -> None:
    """Operations' part, as the admin: the compacted reference topics (the worker may only
    read them) and one site that exists nowhere else, so routing by it proves the worker's
    reference loader read ``ref.sites.v1``."""
    config = broker.client_config(ADMIN)
    admin = AIOKafkaAdminClient(**config.aiokafka())
    await admin.start()
    try:
        references = list(REFERENCE_TOPICS)
        missing = [n for n in references if n not in set(await admin.list_topics())]
        if missing:
            await admin.create_topics(
                [NewTopic(n, 1, 1, topic_configs={"cleanup.policy": "compact"}) for n in missing]
            )
        for _ in range(50):
            if set(references) <= set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**config.aiokafka(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topics.REF_SITES, encode(site), key=site.site_id.encode())
    finally:
        await producer.stop()


async def produce_as(config: ClientConfig, topic: str, key: bytes, value: bytes,
                     partition: int | None = None, **options: Any) -> RecordMetadata:
    """One record as ``config``'s principal; ``partition`` None: aiokafka's murmur2."""
    producer = AIOKafkaProducer(**config.aiokafka(), acks="all", **options)
    await producer.start()
    try:
        return await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


async def read_committed_as(
    config: ClientConfig, topic: str, group: str | None, decoder: Callable[[bytes], Any],
    until: Callable[[list[Any]], bool], timeout: float = 60.0, settle: float = 2.0,
) -> list[Any]:
    """Read ``topic`` from the start as ``config``'s principal (``read_committed``), decoding
    each value with ``decoder`` (records it cannot decode are skipped: earlier tests wrote
    raw bytes), until ``until`` holds and ``settle`` s more (to see duplicates)."""
    consumer = AIOKafkaConsumer(
        topic, **config.aiokafka(), group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, isolation_level="read_committed",
    )
    await consumer.start()
    found: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline, done_at = loop.time() + timeout, None
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    with contextlib.suppress(DecodeError):
                        found.append(decoder(record.value))
            if done_at is None and until(found):
                done_at = loop.time()
            if done_at is not None and loop.time() - done_at >= settle:
                break
    finally:
        await consumer.stop()
    return found

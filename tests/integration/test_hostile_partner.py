"""A hostile or careless partner on the secured broker, against one real worker (issue 12).

The broker's ACLs already stop a partner from reading or writing another's topics
(test_security.py). What is left is what a partner may legitimately write to its *own* topics:
records placed on a partition of its choosing, a librdkafka producer on its default
partitioner, a value near the broker's 1 MiB limit, text that a terminal would interpret.
Each must get its documented acknowledgement, and none may touch another partner's incident,
stall a partition or restart the worker.
"""

from __future__ import annotations

import asyncio
import io
import uuid
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from rich.console import Console

from tests.factories import partner_event, record_for
from tests.integration.kafka_tools import WorkerProcess
from tests.integration.secure_tools import (
    PARTNER_A,
    PARTNER_B,
    UNIT_Y,
    produce_as,
    read_committed_as,
    worker_logged_in,
)
from vigie.broker.secure import ADMIN, SecureBroker, partner_principal, unit_principal
from vigie.cli.force import render_routed
from vigie.contracts import topics
from vigie.contracts.codec import decode, encode
from vigie.contracts.enums import AckStatus, Category, MessageType
from vigie.contracts.models import Acknowledgement, DeadLetter, RoutedEvent
from vigie.contracts.reasons import ReasonCode
from vigie.workers.engine import key_partition

confluent_kafka = pytest.importorskip("confluent_kafka")

pytestmark = pytest.mark.integration

PA, PB, UY = partner_principal(PARTNER_A), partner_principal(PARTNER_B), unit_principal(UNIT_Y)
#: Accepted by the broker's default message.max.bytes (1,048,588) with its key and batch.
NEAR_ONE_MIB = 1_048_450


@pytest.fixture(scope="module")
def worker(secure_broker: SecureBroker, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[WorkerProcess]:
    """One supervised worker logged in as ``vigie-worker``, for the whole module; afterwards
    it must still be the first process the supervisor started."""
    with worker_logged_in(secure_broker, tmp_path_factory.mktemp("hostile-worker")) as process:
        yield process
        alive = process.alive()
    log = process.log_path.read_text()
    assert alive and "restarting" not in log, log[-5000:]


def _acks(broker: SecureBroker, partner: str, until: Callable[[list[Acknowledgement]], bool]
          ) -> list[Acknowledgement]:
    principal = partner_principal(partner)
    return asyncio.run(read_committed_as(
        broker.client_config(principal), topics.partner_acks(partner), None,
        lambda raw: decode(raw, Acknowledgement), until=until))


def _about(acks: list[Acknowledgement], *event_ids: str) -> list[tuple[int, str, str | None]]:
    """(partition, status, reason) of the acks of these events, in the order they came."""
    return [(a.source.partition, a.status.value, a.reason_code) for a in acks
            if a.event_id in event_ids]


def _key_partition(event_id: str, count: int) -> int:
    partition = key_partition(event_id.encode(), count)
    assert partition is not None
    return partition


def test_spoofed_partition_cannot_touch_another_partners_incident(
        secure_broker: SecureBroker, worker: WorkerProcess) -> None:
    count = secure_broker.settings.partitions
    victim = partner_event(PARTNER_B, "60175", fresh=True)  # Creil: the police's pn-csp-creil
    topic, key, value = record_for(victim)
    placed = asyncio.run(produce_as(secure_broker.client_config(PB), topic, key, value))
    home = _key_partition(victim.event_id, count)
    assert placed.partition == home  # aiokafka's default partitioner is murmur2
    _acks(secure_broker, PARTNER_B, lambda found: bool(_about(found, victim.event_id)))

    # Partner A: B's id and key on A's own topic, on another partition, then on B's one.
    elsewhere = (home + 1) % count
    forged = victim.model_copy(update={"partner_id": PARTNER_A})
    cancels = [
        partner_event(PARTNER_A, fresh=True, sent_at=datetime.now(UTC) - timedelta(seconds=2),
                      occurred_at=victim.occurred_at, message_type=MessageType.CANCEL,
                      references=[victim.event_id], category=victim.category,
                      site_id=None, location=None)
        for _ in range(2)
    ]
    config_a = secure_broker.client_config(PA)
    for partition, event in ((elsewhere, forged), (elsewhere, cancels[0]),
                             (home, forged), (home, cancels[1])):
        t, k, v = record_for(event)
        asyncio.run(produce_as(config_a, t, k, v, partition=partition))

    ids = (victim.event_id, cancels[0].event_id, cancels[1].event_id)
    acks_a = _acks(secure_broker, PARTNER_A, lambda found: len(_about(found, *ids)) >= 4)
    rejected = ReasonCode.WRONG_PARTITION.value
    assert sorted(_about(acks_a, *ids)) == sorted([
        (elsewhere, "REJECTED", rejected),  # the forged NEW, off its key's partition
        (elsewhere, "REJECTED", rejected),  # the forged CANCEL, same
        (home, "REJECTED", ReasonCode.EVENT_ID_CONFLICT.value),  # B's id: not A's
        (home, "REJECTED", ReasonCode.UNKNOWN_REFERENCE.value),  # B's incident: not A's
    ])
    wrong = next(a for a in acks_a if a.reason_code == rejected)
    assert "murmur2" in (wrong.reason_message or "")

    # B's incident at the unit: its one NEW, never A's forged NEW, never a cancellation.
    seen = asyncio.run(read_committed_as(
        secure_broker.client_config(UY), topics.unit_incidents(UNIT_Y), None,
        lambda raw: decode(raw, RoutedEvent),
        until=lambda found: any(r.event.event_id == victim.event_id for r in found)))
    about_victim = [(r.event.partner_id, r.event.message_type) for r in seen
                    if victim.event_id in (r.event.event_id, *r.event.references)]
    assert about_victim == [(PARTNER_B, MessageType.NEW)]
    # And B heard of nothing but its own routing.
    acks_b = _acks(secure_broker, PARTNER_B, lambda found: bool(_about(found, victim.event_id)))
    assert [s for _, s, _ in _about(acks_b, victim.event_id)] == ["ROUTED"]


def _librdkafka_send(conf: dict[str, Any], topic: str, key: bytes, value: bytes) -> int:
    producer = confluent_kafka.Producer({**conf, "log_level": 0})
    reports: list[Any] = []
    producer.produce(topic, value, key=key, on_delivery=lambda err, msg: reports.append(
        (err, msg.partition())))
    producer.flush(15)
    [(error, partition)] = reports
    assert error is None, error
    return int(partition)


def test_librdkafka_default_partitioner_is_told_murmur2_is_routed(
        secure_broker: SecureBroker, worker: WorkerProcess) -> None:
    count = secure_broker.settings.partitions
    # An id that librdkafka's default (consistent_random: CRC32) places elsewhere than murmur2.
    event = next(e for e in (partner_event(PARTNER_A, "60175", fresh=True) for _ in range(100))
                 if zlib.crc32(e.event_id.encode()) % count
                 != _key_partition(e.event_id, count))
    topic, key, value = record_for(event)
    # Vigie's client config sets murmur2_random: a partner who dropped it is on the default.
    conf = secure_broker.client_config(PA).librdkafka()
    assert conf.pop("partitioner") == "murmur2_random"
    first = _librdkafka_send(conf, topic, key, value)
    assert first != _key_partition(event.event_id, count)
    told = _acks(secure_broker, PARTNER_A, lambda found: bool(_about(found, event.event_id)))
    assert _about(told, event.event_id) == [(first, "REJECTED", ReasonCode.WRONG_PARTITION.value)]

    again = _librdkafka_send({**conf, "partitioner": "murmur2_random"}, topic, key, value)
    assert again == _key_partition(event.event_id, count)
    answered = _acks(secure_broker, PARTNER_A,
                     lambda found: len(_about(found, event.event_id)) >= 2)
    assert _about(answered, event.event_id) == [
        (first, "REJECTED", ReasonCode.WRONG_PARTITION.value), (again, "ROUTED", None)]


async def _raise_topic_limit(broker: SecureBroker, topic: str, limit: int) -> None:
    admin = AIOKafkaAdminClient(**broker.client_config(ADMIN).aiokafka())
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(limit)})])
    finally:
        await admin.close()


def test_near_one_mebibyte_value_is_answered_once_and_the_partition_goes_on(
        secure_broker: SecureBroker, worker: WorkerProcess) -> None:
    count = secure_broker.settings.partitions
    topic = topics.partner_alerts(PARTNER_A)
    config = secure_broker.client_config(PA)
    big_key = str(uuid.uuid4())
    big = b"\xc3\x01" + bytes(NEAR_ONE_MIB - 2)

    # As provisioned, the partner topic refuses it at the broker: the producer is told.
    with pytest.raises(KafkaError):
        asyncio.run(produce_as(config, topic, big_key.encode(), big,
                               max_request_size=2 << 20, request_timeout_ms=10_000))

    # A topic whose limit was raised (by hand, or created before the limit existed).
    asyncio.run(_raise_topic_limit(secure_broker, topic, 2 << 20))
    placed = asyncio.run(produce_as(config, topic, big_key.encode(), big,
                                    max_request_size=2 << 20))
    home = placed.partition
    follower = next(e for e in (partner_event(PARTNER_A, "60175", fresh=True,
                                              category=Category.STAFF_THREAT)
                                for _ in range(200))
                    if _key_partition(e.event_id, count) == home)
    _, k, v = record_for(follower)
    asyncio.run(produce_as(config, topic, k, v))

    def big_acks(found: list[Acknowledgement]) -> list[Acknowledgement]:
        return [a for a in found if (a.source.topic, a.source.partition, a.source.offset)
                == (topic, home, placed.offset)]

    acks = _acks(secure_broker, PARTNER_A, lambda found: bool(
        big_acks(found) and _about(found, follower.event_id)))
    assert [(a.status, a.reason_code) for a in big_acks(acks)] == [
        (AckStatus.REJECTED, ReasonCode.OVERSIZED.value)]
    assert _about(acks, follower.event_id) == [(home, "ROUTED", None)]
    letters = [d for d in asyncio.run(read_committed_as(
        secure_broker.client_config(ADMIN), topics.DEADLETTER, None,
        lambda raw: decode(raw, DeadLetter),
        until=lambda found: any(d.source.offset == placed.offset and d.source.topic == topic
                                for d in found)))
        if (d.source.topic, d.source.partition, d.source.offset) == (topic, home, placed.offset)]
    assert [(d.reason_code, d.payload_size, d.payload_truncated, len(d.payload))
            for d in letters] == [(ReasonCode.OVERSIZED.value, NEAR_ONE_MIB, True, 4096)]
    assert worker.process is not None and worker.process.poll() is None


HOSTILE = ("Feu [/bold] [red]ALERTE[/red] \x1b]8;;http://evil\x1b\\clic\x1b]8;;\x1b\\ "
           "\u202edrow fin\x00")
MARKUP_ONLY = "Feu [/bold] dans le hall, [red]ALERTE[/red] [link=http://evil]clic[/link]"


def test_terminal_tricks_are_refused_and_markup_is_shown_as_text(
        secure_broker: SecureBroker, worker: WorkerProcess, tmp_path: Path) -> None:
    tricked = partner_event(PARTNER_A, "60175", fresh=True, description=HOSTILE)
    plain = partner_event(PARTNER_A, "60175", fresh=True, description=MARKUP_ONLY)
    config = secure_broker.client_config(PA)
    for event in (tricked, plain):
        t, k, v = record_for(event)
        asyncio.run(produce_as(config, t, k, v))
    acks = _acks(secure_broker, PARTNER_A,
                 lambda found: len(_about(found, tricked.event_id, plain.event_id)) >= 2)
    assert sorted((a.event_id == plain.event_id, a.status.value, a.reason_code) for a in acks
                  if a.event_id in (tricked.event_id, plain.event_id)) == [
        (False, "REJECTED", ReasonCode.UNSAFE_TEXT.value), (True, "ROUTED", None)]

    routed = [r for r in asyncio.run(read_committed_as(
        secure_broker.client_config(UY), topics.unit_incidents(UNIT_Y), None,
        lambda raw: decode(raw, RoutedEvent),
        until=lambda found: any(r.event.event_id == plain.event_id for r in found)))
        if r.event.event_id in (tricked.event_id, plain.event_id)]
    assert [r.event.event_id for r in routed] == [plain.event_id]
    assert routed[0].event.description == MARKUP_ONLY  # routed byte for byte

    # What `vigie tail` prints of it: the markup as text, no link, no style from the partner.
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=200).print(
        render_routed(routed[0]))
    shown = out.getvalue()
    assert "[/bold]" in shown and "[red]ALERTE[/red]" in shown and "[link=" in shown
    assert "\x1b]8;" not in shown
    assert encode(routed[0].event) == encode(plain)

"""Dead-letter triage on the real broker: ``vigie deadletter list`` shows the reason code and
the source coordinates of a dead letter but never its payload, and ``vigie deadletter
replay`` puts the original bytes back on the source topic, with the original key, when the
operator asks.

The dead letter is built by the product's own ``pipeline.outputs.dead_letter`` (as a worker
writes it), so the test reads what the workers really write.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vigie.contracts import topics
from vigie.contracts.reasons import ReasonCode
from vigie.kafka import clients
from vigie.kafka.admin import ensure_topics
from vigie.kafka.deadletters import REPLAY_HEADER
from vigie.pipeline.messages import Inbound
from vigie.pipeline.outputs import dead_letter
from vigie.settings import Settings

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).resolve().parents[2] / "services"
#: Partner free text: must never reach the console.
PAYLOAD = "Texte libre du bailleur : Mme DUPONT, 3e étage, porte gauche".encode()
KEY = b"0b5c6a3e-6f0e-4f6e-9a53-3f8f2b0c9d11"


def _vigie(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(settings.environment(), COLUMNS="250", PYTHONPATH=str(SERVICES))
    return subprocess.run([sys.executable, "-m", "vigie", "deadletter", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def _write_dead_letter(settings: Settings, source: str) -> tuple[int, int]:
    await ensure_topics(settings, [])
    letter = dead_letter("intake", Inbound(source, 2, 41, KEY, PAYLOAD),
                         ReasonCode.SCHEMA_VIOLATION, "decode: body violates the model",
                         datetime.now(UTC))
    producer = clients.producer(settings, acks="all")
    await producer.start()
    try:
        meta = await producer.send_and_wait(letter.topic, letter.value, key=letter.key)
    finally:
        await producer.stop()
    return meta.partition, meta.offset


async def _read_source(settings: Settings, source: str) -> list[tuple[bytes | None, bytes,
                                                                        dict[str, bytes]]]:
    consumer = clients.consumer(settings, source, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
        return [(r.key, r.value, dict(r.headers)) for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()


def test_list_then_replay(kafka_settings: Settings, partners: list[str]) -> None:
    settings = kafka_settings.model_copy(update={"partners": partners})
    source = topics.partner_incidents(partners[0])
    partition, offset = asyncio.run(_write_dead_letter(settings, source))

    listed = _vigie(settings, "list", "--topic", source)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    print(listed.stdout)
    assert f"{partition}:{offset}" in listed.stdout
    assert "SCHEMA_VIOLATION" in listed.stdout
    assert f"{source}[2]@41" in listed.stdout
    assert "DUPONT" not in listed.stdout and "étage" not in listed.stdout
    other = _vigie(settings, "list", "--topic", source, "--reason", "UNDECODABLE")
    assert "Aucune lettre morte" in other.stdout

    replayed = _vigie(settings, "replay", f"{partition}:{offset}", "--yes")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    print(replayed.stdout)
    assert f"Republiée : {source}" in replayed.stdout
    assert "DUPONT" not in replayed.stdout
    [(key, value, headers)] = asyncio.run(_read_source(settings, source))
    assert (key, value) == (KEY, PAYLOAD)
    assert headers[REPLAY_HEADER] == f"{topics.DEADLETTER}:{partition}:{offset}".encode()

    missing = _vigie(settings, "replay", f"{partition}:999999", "--yes")
    assert missing.returncode == 2 and "pas de lettre morte" in missing.stderr

"""Onboarding and removal on the secured local broker (SASL_SSL, deny-by-default ACLs), with
the real command: ``vigie onboard partner nouveau-bailleur`` as the administrator, then the
new login publishes to its own topic and reads its own acknowledgements, and nothing of
another landlord's; ``vigie offboard`` then takes its access away (its next produce, on the
connection it already has, is refused; a new login attempt fails), takes away the gateway's
right to publish for it, and keeps its data.
The registry edited is a copy (VIGIE_REGISTRY_FILE), never the shipped file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from tests.integration.secure_tools import PARTNER_A, produce_as, read_committed_as
from vigie.broker.secure import ADMIN, GATEWAY, WORKER, SecureBroker
from vigie.contracts import topics
from vigie.kafka.quotas import describe_quotas
from vigie.reference.participants import REGISTRY_FILE, load_registry

pytestmark = pytest.mark.integration

NEW = "nouveau-bailleur"
LOGIN = f"partner-{NEW}"
SERVICES = Path(__file__).resolve().parents[2] / "services"


def _vigie(broker: SecureBroker, registry: Path, *args: str, cwd: Path
           ) -> subprocess.CompletedProcess[str]:
    """``vigie`` as the administrator of ``broker`` with ``registry`` as its registry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(broker.settings_for(ADMIN).environment())
    env.update(VIGIE_REGISTRY_FILE=str(registry), COLUMNS="250", PYTHONPATH=str(SERVICES))
    return subprocess.run([sys.executable, "-m", "vigie", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_onboard_then_offboard_a_landlord(secure_broker: SecureBroker, tmp_path: Path) -> None:
    asyncio.run(_onboard_use_offboard(secure_broker, tmp_path))


async def _onboard_use_offboard(broker: SecureBroker, tmp_path: Path) -> None:
    registry = tmp_path / "participants.json"
    shutil.copy(REGISTRY_FILE, registry)
    credentials = tmp_path / "credentials"

    done = await asyncio.to_thread(
        _vigie, broker, registry, "onboard", "partner", NEW, "--name", "Nouveau bailleur",
        "--credentials-dir", str(credentials), cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    print(output)
    assert "Inscription du bailleur nouveau-bailleur" in output
    assert topics.partner_incidents(NEW) in output  # created by the command
    assert load_registry(registry).partner_ids()[-1] == NEW
    # The password is in an owner-only file, never on the console.
    properties = credentials / f"{LOGIN}.properties"
    assert properties.stat().st_mode & 0o077 == 0
    partner = broker.client_config(LOGIN)  # the local broker's credentials learnt it
    assert partner.password not in output
    assert f'password="{partner.password}"' in properties.read_text()
    admin = broker.settings_for(ADMIN)

    # Its own input topic: accepted; the workers may answer it (onboarding gave them their
    # ACLs on its topics) and it reads its own acknowledgements.
    producer = AIOKafkaProducer(**partner.aiokafka(), acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topics.partner_incidents(NEW), b"bytes", key=b"e1")
        assert sent.topic == topics.partner_incidents(NEW)
        await produce_as(broker.client_config(WORKER), topics.partner_acks(NEW), b"e1", b"ack")
        # The gateway may publish for it too (onboarding gave it the landlord's topics).
        await produce_as(broker.client_config(GATEWAY), topics.partner_alerts(NEW), b"e9",
                         b"by-gateway")
        acks = await read_committed_as(partner, topics.partner_acks(NEW), f"{LOGIN}-acks",
                                       lambda value: value, until=bool, settle=0.0)
        assert acks == [b"ack"]
        # Another landlord's topics: refused, to write and to read.
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topics.partner_incidents(PARTNER_A), b"x", key=b"e2")
        with pytest.raises(TopicAuthorizationFailedError):
            await read_committed_as(partner, topics.partner_acks(PARTNER_A), f"{LOGIN}-x",
                                    lambda value: value, until=bool, timeout=5)
        # Its quotas are the registry's default for landlords: a flood is throttled.
        assert await describe_quotas(admin, LOGIN) == load_registry().quotas.partner.kafka()

        gone = await asyncio.to_thread(_vigie, broker, registry, "offboard", "partner", NEW,
                                       cwd=tmp_path)
        assert gone.returncode == 0, gone.stdout + gone.stderr
        print(gone.stdout)
        assert "Retrait du bailleur nouveau-bailleur" in gone.stdout
        assert NEW not in load_registry(registry).partner_ids()
        # The next produce on the connection it already has is refused (the authorizer
        # checks every request) ...
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topics.partner_incidents(NEW), b"late", key=b"e3")
    finally:
        await producer.stop()
    # Nor may the gateway publish as it any more.
    with pytest.raises(TopicAuthorizationFailedError):
        await produce_as(broker.client_config(GATEWAY), topics.partner_alerts(NEW), b"e8",
                         b"late-by-gateway")
    # ... and a new connection cannot log in.
    with pytest.raises(KafkaError):
        await produce_as(partner, topics.partner_incidents(NEW), b"e4", b"bytes",
                         request_timeout_ms=10_000)
    assert await describe_quotas(admin, LOGIN) == {}
    # The data stay: its topic and its record are still there, for operations.
    kept = await read_committed_as(broker.client_config(ADMIN), topics.partner_incidents(NEW),
                                   None, lambda value: value, until=bool, settle=0.0)
    assert kept == [b"bytes"]

"""A gateway app on no broker: its records land in a list, its acks index is filled by the
test (what the tail would read from the partners' acks topics)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vigie.gateway.acks import AckIndex
from vigie.gateway.api import Gateway, create_app
from vigie.gateway.partners import GatewayPartners, new_credentials
from vigie.gateway.settings import GatewaySettings
from vigie.kafka.publish import Record
from vigie.settings import Settings

PARTNERS = ("oise-habitat", "opac-oise")


@dataclass
class RecordingPublisher:
    """Keeps what would go to Kafka; ``fail`` makes it refuse like an unreachable broker."""

    records: list[Record] = field(default_factory=list)
    fail: bool = False

    async def publish(self, records: Sequence[Record]) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.records.extend(records)


@dataclass
class Harness:
    client: TestClient
    gateway: Gateway
    publisher: RecordingPublisher
    secrets: dict[str, str]

    def token(self, partner: str) -> str:
        answer = self.client.post("/v1/oauth/token", data={
            "grant_type": "client_credentials", "client_id": partner,
            "client_secret": self.secrets[partner]})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def headers(self, partner: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(partner)}"}


def build(tmp_path: Path, **config: object) -> Harness:
    registry = GatewayPartners()
    secrets: dict[str, str] = {}
    for partner in PARTNERS:
        entry, secret, _ = new_credentials(partner, f"http://127.0.0.1:9/{partner}")
        registry = registry.with_partner(entry)
        secrets[partner] = secret
    settings = GatewaySettings(token_key="unit-test-key-" + "x" * 32,
                               partners_file=tmp_path / "partners.json", **config)  # type: ignore[arg-type]
    publisher = RecordingPublisher()
    index = AckIndex(settings.ack_index_max_events)
    index.ready = True
    gateway = Gateway(Settings(), settings, registry, publisher, index)
    return Harness(TestClient(create_app(gateway)), gateway, publisher, secrets)


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return build(tmp_path)

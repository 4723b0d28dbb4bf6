"""Partner input topics are created with a ``max.message.bytes`` near the contract's limit.

A value far above the contract (the ~1 MiB poison pill of issue 12) must be refused by the
broker at produce time; one between the contract's 64 KiB and the topic's limit still reaches
the worker, which answers OVERSIZED. Existing topics are never altered, so an operator's (or a
test's) deliberate change survives a worker start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from vigie.broker.secure import SecureBroker
from vigie.contracts import topics
from vigie.kafka import admin as kafka_admin
from vigie.kafka import clients
from vigie.kafka.admin import ensure_topics, planned_topics
from vigie.settings import Settings

PARTNERS = ["opac-oise", "clesence"]
UNITS = ["gn-bt-beauvais"]


def _settings(**update: Any) -> Settings:
    return Settings(_env_file=None, partners=PARTNERS, **update)


def test_partner_inputs_get_the_limit_and_nothing_else_does() -> None:
    plan = {s.name: s.config for s in planned_topics(_settings(), UNITS)}
    inputs = {topics.partner_incidents(p) for p in PARTNERS} | {
        topics.partner_alerts(p) for p in PARTNERS}
    for name, config in plan.items():
        if name in inputs:
            assert config["max.message.bytes"] == "262144", name
            assert config["retention.ms"] == str(7 * kafka_admin.DAY_MS), name
        else:
            assert "max.message.bytes" not in config, name


def test_limit_follows_the_setting_and_stays_above_the_contract() -> None:
    plan = planned_topics(_settings(partner_topic_max_message_bytes=100_000), UNITS)
    assert {s.config.get("max.message.bytes") for s in plan
            if s.name == topics.partner_alerts("clesence")} == {"100000"}
    default = Settings(_env_file=None)
    assert default.max_message_bytes < default.partner_topic_max_message_bytes < 1_000_000
    with pytest.raises(ValidationError):
        _settings(partner_topic_max_message_bytes=default.max_message_bytes - 1)


class FakeAdmin:
    """Just enough of AIOKafkaAdminClient: remembers what was asked, creates instantly."""

    def __init__(self, existing: set[str]) -> None:
        self.topics = set(existing)
        self.created: list[Any] = []
        self.other_calls: list[str] = []

    def __getattr__(self, name: str) -> Any:  # alter_configs & co. must never be called
        self.other_calls.append(name)
        raise AssertionError(f"ensure_topics called admin.{name}")

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def list_topics(self) -> list[str]:
        return sorted(self.topics)

    async def create_topics(self, new_topics: list[Any]) -> Any:
        self.created += new_topics
        self.topics |= {t.name for t in new_topics}
        return type("Response", (), {"topic_errors": [(t.name, 0, None) for t in new_topics]})


async def test_ensure_topics_asks_for_the_config_and_leaves_existing_topics_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One input topic already exists (say, its limit raised on purpose): not created again,
    # not reconfigured.
    raised = topics.partner_incidents("opac-oise")
    admin = FakeAdmin({raised})
    monkeypatch.setattr(clients, "admin", lambda settings, **options: admin)
    created = await ensure_topics(_settings(), UNITS)
    assert raised not in created and admin.other_calls == []
    by_name = {t.name: t for t in admin.created}
    assert set(by_name) == set(created)
    for name in (topics.partner_alerts("opac-oise"), topics.partner_incidents("clesence"),
                 topics.partner_alerts("clesence")):
        assert by_name[name].topic_configs["max.message.bytes"] == "262144", name
    assert "max.message.bytes" not in by_name[topics.partner_acks("opac-oise")].topic_configs
    assert "max.message.bytes" not in by_name[topics.unit_incidents(UNITS[0])].topic_configs


def test_partner_client_config_bounds_librdkafka_batches(tmp_path: Path) -> None:
    """``vigie broker client-config partner-…`` prints message.max.bytes = the topic limit."""
    broker = SecureBroker(_settings(state_dir=tmp_path), units=tuple(UNITS))
    broker.ensure_credentials()
    partner = broker.client_config("partner-opac-oise").librdkafka()
    assert int(partner["message.max.bytes"]) <= broker.settings.partner_topic_max_message_bytes
    assert "message.max.bytes" not in broker.client_config("unit-gn-bt-beauvais").librdkafka()


def test_a_cluster_gives_every_topic_its_min_insync_replicas() -> None:
    """On the three-node cluster every topic gets ``min.insync.replicas`` 2 (with 3 replicas);
    on the single broker (no setting) none does, so the plan stays as the broker's."""
    cluster = planned_topics(_settings(replication_factor=3, min_insync_replicas=2), UNITS)
    single = {s.name: s.config for s in planned_topics(_settings(), UNITS)}
    assert {s.config["min.insync.replicas"] for s in cluster} == {"2"}
    assert {s.name: {k: v for k, v in s.config.items() if k != "min.insync.replicas"}
            for s in cluster} == single
    assert not any("min.insync.replicas" in c for c in single.values())
    with pytest.raises(ValidationError):
        _settings(replication_factor=1, min_insync_replicas=2)

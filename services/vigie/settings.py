"""Configuration, read from the environment (prefix ``VIGIE_``) and an optional ``.env`` file.

One settings object for every process, so that the broker scripts, the workers and the CLI
agree on ports and folders without passing flags around.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root when running from a checkout (services/vigie/settings.py -> ../..).
PROJECT_DIR = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIE_", env_file=".env", extra="ignore")

    # Kafka
    bootstrap_servers: str = "127.0.0.1:9092"
    broker_port: int = 9092
    controller_port: int = 9093
    #: Partitions of partner, unit and internal topics (all equal: they are co-partitioned).
    partitions: int = 4
    #: Replicas of every topic Vigie creates: 1 on the single local broker, 3 on a cluster
    #: (`vigie broker start --nodes 3`, the Strimzi cluster of deploy/k8s).
    replication_factor: PositiveInt = 1
    #: ``min.insync.replicas`` given to every topic Vigie creates (None: the broker's
    #: default). 2 with 3 replicas: an ``acks=all`` write (the workers', the partners') is
    #: on two brokers before it is acknowledged, and one broker may be down meanwhile.
    min_insync_replicas: PositiveInt | None = None
    #: How workers and tools authenticate: PLAINTEXT (local broker) or SASL_SSL (the secure
    #: local broker, `vigie broker start --secure`, and the Strimzi cluster in deploy/k8s).
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    #: The CA that signed the brokers' certificates (SASL_SSL and SSL).
    ssl_cafile: Path | None = None

    # Local broker managed by `vigie broker` (git-ignored folders)
    state_dir: Path = PROJECT_DIR / ".vigie" / "state"
    cache_dir: Path = PROJECT_DIR / ".vigie" / "cache"
    kafka_pom: Path = PROJECT_DIR / "deploy" / "kafka" / "pom.xml"
    kafka_heap: str = "-Xms256m -Xmx1g"

    # Follow-up store (vigie.followup): a managed server in production; otherwise the local
    # cluster that `vigie db start` runs (vigie.db.local) in db_dir (default state_dir/postgres).
    database_url: SecretStr | None = None
    db_port: int = 5433
    db_dir: Path | None = None
    #: Days the store keeps a fact after the incident occurred: three years, for the
    #: committee's year-on-year report and one more year to answer for it (storage
    #: limitation; the reason is in vigie/followup/retention.py). `vigie db purge` applies it.
    followup_retention_days: PositiveInt = 1096

    #: The registry of participants (vigie.reference.participants): partners, units,
    #: operations logins and quotas. `vigie onboard`/`offboard` edit it; in Kubernetes it is
    #: mounted from a ConfigMap (docs/operations.md, "Onboarding").
    registry_file: Path = Path(__file__).resolve().parent / "reference" / "data" / \
        "participants-oise.json"
    #: Partners (bailleurs) whose topics the workers read. Unset, the registry's partners,
    #: read when the settings are built (a worker's start): a new partner needs no code change.
    #: ``VIGIE_PARTNERS`` (a JSON list) overrides it, e.g. for tests.
    partners: list[str] = []

    # Workers
    app_id: str = "vigie"
    metrics_port: int = 9464
    #: Address of the worker's unauthenticated HTTP endpoint (/metrics, /healthz, /readyz):
    #: loopback unless a deployment opens it on purpose. docker-compose and Kubernetes set
    #: ``0.0.0.0`` (Prometheus and the kubelet's probes come from outside the container) and
    #: fence it with the network (deploy/k8s/networkpolicy.yaml, docs/security.md).
    metrics_host: str = "127.0.0.1"
    future_tolerance_seconds: float = 300.0
    #: Incidents that occurred longer ago than this are rejected (TOO_OLD), not routed as live.
    past_horizon_days: float = 30.0
    alert_takeover_delay_seconds: PositiveFloat = 300.0
    #: The clock the routing rules read (service hours, holidays, unavailability), for tests
    #: and exercises: a fixed instant (``VIGIE_ROUTING_CLOCK_AT=2026-11-29T02:00+01:00``), or
    #: the real time shifted by an offset. Only the rules see it: validation, expiry and
    #: escalation deadlines keep the real clock, so partners' real timestamps stay valid.
    routing_clock_at: datetime | None = None
    routing_clock_offset_seconds: float = 0.0
    max_message_bytes: int = 64 * 1024
    #: ``max.message.bytes`` of the partner input topics (partner.<p>.incidents|alerts.v1),
    #: 256 KiB. Above the contract's 64 KiB, so a value between the two still reaches the
    #: worker, which answers OVERSIZED with a clear reason; well under the broker's 1 MiB, so
    #: a near-1-MiB value is refused by the broker at produce time and never becomes a
    #: record every worker must read, dead-letter and replay. It is also the limit of a
    #: whole record batch: partners' librdkafka producers must set ``message.max.bytes``
    #: (and aiokafka ones ``max_batch_size``) to at most this value (``vigie broker
    #: client-config`` does). Applied when a topic is created; existing topics keep theirs.
    partner_topic_max_message_bytes: int = 256 * 1024
    #: Largest record a worker produces (routed copy, ack, dead letter, changelog entry):
    #: under the broker's default ``message.max.bytes`` (1,048,588) with room for the batch
    #: header. An output above it is never sent: its input is dead-lettered instead, so one
    #: message can never make a transaction fail (and the worker crash-loop) forever.
    max_output_bytes: int = 1_000_000
    #: How often a worker settles its heap between two passes (a collection of what is new,
    #: then ``gc.freeze()``), so that the collector's pauses stay short as the event state
    #: grows (``vigie.workers.heap``). 0 leaves the collector's own policy.
    gc_settle_interval_seconds: NonNegativeFloat = 1.0

    @model_validator(mode="after")
    def _partners_from_the_registry(self) -> Settings:
        if "partners" not in self.model_fields_set:
            from vigie.reference.participants import load_registry

            self.partners = load_registry(self.registry_file).partner_ids()
        return self

    @model_validator(mode="after")
    def _partner_topics_take_the_contract(self) -> Settings:
        # Below the contract's limit, the broker would refuse values the contract accepts.
        if self.partner_topic_max_message_bytes < self.max_message_bytes:
            raise ValueError(
                "partner_topic_max_message_bytes must be at least max_message_bytes "
                f"({self.partner_topic_max_message_bytes} < {self.max_message_bytes})"
            )
        if (self.min_insync_replicas is not None
                and self.min_insync_replicas > self.replication_factor):
            # Kafka would create such topics, then refuse every acks=all write to them.
            raise ValueError(
                f"min_insync_replicas ({self.min_insync_replicas}) cannot exceed "
                f"replication_factor ({self.replication_factor})"
            )
        return self

    def environment(self) -> dict[str, str]:
        """These settings as ``VIGIE_*`` variables: what a child process (a worker started
        by ``vigie run``, the tests or the bench) needs to run with exactly them, login
        included. Unset optional values are left out."""
        return environment_of(self, "VIGIE_")

    @property
    def future_tolerance(self) -> timedelta:
        return timedelta(seconds=self.future_tolerance_seconds)

    @property
    def past_horizon(self) -> timedelta:
        return timedelta(days=self.past_horizon_days)

    @property
    def alert_takeover_delay(self) -> timedelta:
        return timedelta(seconds=self.alert_takeover_delay_seconds)

    def routing_time(self, now: datetime) -> datetime:
        """The instant the routing rules apply at when the real time is ``now``."""
        fixed = self.routing_clock_at
        if fixed is not None:
            return fixed if fixed.tzinfo is not None else fixed.replace(tzinfo=UTC)
        if self.routing_clock_offset_seconds:
            return now + timedelta(seconds=self.routing_clock_offset_seconds)
        return now


def environment_of(settings: BaseSettings, prefix: str) -> dict[str, str]:
    """Any settings object as the environment variables that rebuild it in a child process
    (secrets revealed, lists and mappings as JSON, unset values left out)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        env[f"{prefix}{name.upper()}"] = str(value)
    return env


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""Configuration, read from the environment (prefix ``VIGIE_``) and an optional ``.env`` file.

One settings object for every process, so that the broker scripts, the workers and the CLI
agree on ports and folders without passing flags around.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

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
    replication_factor: int = 1

    # Local broker managed by `vigie broker` (git-ignored folders)
    state_dir: Path = PROJECT_DIR / ".vigie" / "state"
    cache_dir: Path = PROJECT_DIR / ".vigie" / "cache"
    kafka_pom: Path = PROJECT_DIR / "deploy" / "kafka" / "pom.xml"
    kafka_heap: str = "-Xms256m -Xmx1g"

    # Partners (bailleurs) whose topics the workers read; a new partner is a config change.
    partners: list[str] = ["opac-oise", "oise-habitat", "clesence", "sa-hlm-oise"]

    # Workers
    app_id: str = "vigie"
    #: "at_least_once" (default: outputs and table entries are flushed before the input's
    #: offset is committed; a replay re-sends the same ids) or "exactly_once" (faust's Kafka
    #: transactions: the chaos suite shows they do not cover the force and ack topics, see
    #: docs/reliability.md). README, "Delivery guarantee".
    processing_guarantee: str = "at_least_once"
    worker_web_port: int = 6066
    metrics_port: int = 9464
    future_tolerance_seconds: float = 300.0
    alert_takeover_delay_seconds: float = 300.0
    max_message_bytes: int = 64 * 1024

    @property
    def future_tolerance(self) -> timedelta:
        return timedelta(seconds=self.future_tolerance_seconds)

    @property
    def alert_takeover_delay(self) -> timedelta:
        return timedelta(seconds=self.alert_takeover_delay_seconds)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

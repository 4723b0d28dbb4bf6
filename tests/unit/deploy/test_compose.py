"""docker-compose.yml stays valid for Debian's docker-compose v1.29 and keeps its services.

``docker-compose config`` validates the file against the compose schema and resolves anchors
and interpolation without a Docker engine, so this runs anywhere the binary is installed
(``make test`` installs it). PyYAML is not a dependency: service names come from
``config --services`` and the few settings checked below from a plain-text split of the
rendered configuration, which docker-compose prints in a stable, two-space-indented layout.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vigie.broker.version import kafka_version

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
BINARY = shutil.which("docker-compose")

EXPECTED_SERVICES = {"kafka", "topics", "worker", "simulate", "postgres", "followup",
                     "prometheus", "grafana"}

pytestmark = pytest.mark.skipif(
    BINARY is None, reason="docker-compose not installed (make test installs it)"
)


def _compose(*args: str) -> str:
    """Run ``docker-compose -f docker-compose.yml <args>`` and return stdout; fail on error."""
    assert BINARY is not None
    result = subprocess.run(
        [BINARY, "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _service_blocks(rendered: str) -> dict[str, str]:
    """Split the rendered ``services:`` section into one text block per service."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_services = False
    for line in rendered.splitlines():
        if not line.startswith(" "):
            in_services = line.rstrip() == "services:"
            current = None
            continue
        if not in_services:
            continue
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            current = blocks.setdefault(line.strip().rstrip(":"), [])
        elif current is not None:
            current.append(line.strip())
    return {name: "\n".join(lines) for name, lines in blocks.items()}


@pytest.fixture(scope="module")
def services() -> dict[str, str]:
    return _service_blocks(_compose("config"))


def test_config_is_valid() -> None:
    _compose("config", "-q")


def test_expected_services() -> None:
    assert set(_compose("config", "--services").split()) == EXPECTED_SERVICES


def test_kafka_data_volume() -> None:
    assert "kafka-data" in _compose("config", "--volumes").split()


def test_blocks_match_services(services: dict[str, str]) -> None:
    assert set(services) == EXPECTED_SERVICES


def test_kafka_is_a_single_kraft_node(services: dict[str, str]) -> None:
    kafka = services["kafka"]
    assert f"image: apache/kafka:{kafka_version()}" in kafka
    assert "KAFKA_PROCESS_ROLES: broker,controller" in kafka
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka:9093" in kafka
    assert "KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:9092" in kafka
    assert "kafka-broker-api-versions.sh" in kafka


def test_start_order(services: dict[str, str]) -> None:
    """Topics exist before any Vigie process runs; the broker is healthy before that."""
    assert "condition: service_healthy" in services["topics"]
    for name in ("worker", "simulate"):
        assert "condition: service_completed_successfully" in services[name]


def test_worker_metrics_open_to_prometheus(services: dict[str, str]) -> None:
    """The worker binds loopback by default; Prometheus scrapes it from its own container."""
    assert "VIGIE_METRICS_HOST: 0.0.0.0" in services["worker"]


def test_followup_sink_writes_to_the_compose_postgres(services: dict[str, str]) -> None:
    """The sink waits for a healthy PostgreSQL and the topics; Grafana reads the same store
    (deploy/grafana/provisioning/datasources/postgres.yml takes its host from here)."""
    assert "VIGIE_DATABASE_URL: postgresql://vigie:" in services["followup"]
    assert "@postgres:5432/vigie" in services["followup"]
    assert "condition: service_healthy" in services["followup"]
    assert "VIGIE_GRAFANA_DB_HOST: postgres:5432" in services["grafana"]
    assert "image: postgres:15" in services["postgres"]


@pytest.mark.parametrize("name", ["topics", "worker", "simulate", "followup"])
def test_vigie_services_reach_the_broker(services: dict[str, str], name: str) -> None:
    assert "VIGIE_BOOTSTRAP_SERVERS: kafka:9092" in services[name]
    assert "dockerfile: Dockerfile" in services[name]

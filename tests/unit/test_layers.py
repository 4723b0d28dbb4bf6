"""The layering README.md describes, checked on the source: the domain never imports Kafka
nor an adapter, so every business rule runs (and is tested) without a broker, and only
``vigie.kafka`` builds Kafka clients."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

VIGIE = Path(__file__).resolve().parents[2] / "services" / "vigie"
DOMAIN = ["contracts", "reference", "routing", "acks", "pipeline", "clients",
          "simulation/feed.py"]
ADAPTERS = ("vigie.kafka", "vigie.workers", "vigie.cli", "vigie.broker", "vigie.console",
            "vigie.gateway")
KAFKA = ("aiokafka", "confluent_kafka")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("package", DOMAIN)
def test_the_domain_imports_neither_kafka_nor_an_adapter(package: str) -> None:
    root = VIGIE / package
    for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
        bad = {name for name in _imports(path)
               if name.split(".")[0] in KAFKA or name.startswith(ADAPTERS)}
        assert not bad, f"{path.relative_to(VIGIE)} imports {sorted(bad)}"


def test_only_the_factory_builds_kafka_clients() -> None:
    builds = re.compile(r"\b(AIOKafka(Producer|Consumer|AdminClient)|AdminClient|Producer|"
                        r"Consumer)\(|bootstrap_servers=")
    factory = VIGIE / "kafka" / "clients.py"
    offenders = [f"{path.relative_to(VIGIE)}:{number}"
                 for path in sorted(VIGIE.rglob("*.py")) if path != factory
                 for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
                 if builds.search(line)]
    assert offenders == []

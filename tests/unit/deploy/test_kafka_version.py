"""deploy/kafka/pom.xml is the one place the Kafka version is written. Python reads it
(``vigie.broker.version.kafka_version``); the files below cannot, so they are held to it here:
a new version is one edit of the pom, and this test names every file left behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vigie.broker.version import kafka_version

ROOT = Path(__file__).resolve().parents[3]

#: file → how it names the Kafka version (each match must be the pom's version).
CARRIERS = {
    "docker-compose.yml": r"image:\s*apache/kafka:(\S+)",
    "deploy/k8s/kafka-cluster.yaml": r"^\s+version:\s*([^\s#]+)",
    "README.md": r"fetches Apache Kafka (\S+) from Maven Central",
    "docs/security.md": r"image:\s*apache/kafka:(\S+)|^\s+version:\s*([^\s#]+)",
}


def test_the_pom_pins_a_release_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", kafka_version())


@pytest.mark.parametrize("name", sorted(CARRIERS))
def test_file_carries_the_pom_version(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    found = {group for match in re.finditer(CARRIERS[name], text, re.MULTILINE)
             for group in match.groups() if group}
    assert found == {kafka_version()}, f"{name} names Kafka {sorted(found)}"


def test_a_pom_without_the_property_is_an_error(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text('<project xmlns="http://maven.apache.org/POM/4.0.0"><properties/></project>')
    with pytest.raises(ValueError, match=r"kafka\.version"):
        kafka_version(pom)

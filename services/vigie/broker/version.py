"""The Kafka version, read from ``deploy/kafka/pom.xml``, the one place it is written.

Maven needs it in the pom (``<kafka.version>``) to fetch the broker, so Python reads it there
rather than restating it: moving to another Kafka is one edit of the pom. The files that
cannot read it (docker-compose.yml, the Strimzi manifest, the docs) are held to it by
tests/unit/deploy/test_kafka_version.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from vigie.settings import PROJECT_DIR

KAFKA_POM = PROJECT_DIR / "deploy" / "kafka" / "pom.xml"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def kafka_version(pom: Path = KAFKA_POM) -> str:
    version = ET.parse(pom).findtext("m:properties/m:kafka.version", namespaces=_POM_NS)
    if not version or not version.strip():
        raise ValueError(f"no <kafka.version> property in {pom}")
    return version.strip()

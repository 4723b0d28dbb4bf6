"""The Python example clients (``examples/python``) without a broker: same bytes as Vigie's
codec, the same rules as Vigie's own code (they copy them to stay standalone), and a Java
build that generates its classes from the newest schema of each message."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.factories import partner_event
from vigie.contracts.enums import URGENT_CATEGORIES, Category, Lane, MessageType, Urgency
from vigie.contracts.keys import root_event_id
from vigie.contracts.mapping import to_jsonable
from vigie.contracts.models import PartnerEvent
from vigie.contracts.schemas import get_registry
from vigie.routing.policy import lane_for

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
VECTORS = ROOT / "tests" / "vectors"


@pytest.fixture(scope="module")
def wire() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vigie_example_wire",
                                                  EXAMPLES / "python" / "wire.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _vector(name: str) -> tuple[bytes, dict[str, Any]]:
    value = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))["value"]
    return (VECTORS / f"{name}.bin").read_bytes(), value


@pytest.mark.parametrize("name, message", [
    ("partner_event_v2", "partner_event"), ("status_update_v1", "status_update")])
def test_python_client_writes_the_golden_bytes(wire: ModuleType, name: str, message: str) -> None:
    data, value = _vector(name)
    assert wire.Schemas(message).encode(wire.from_json(value)) == data


@pytest.mark.parametrize("name, message", [
    ("routed_event_v1", "routed_event"), ("routed_event_v2", "routed_event"),
    ("acknowledgement_v1", "acknowledgement"), ("acknowledgement_v2", "acknowledgement"),
    ("partner_event_v1_apache", "partner_event"), ("unit_feedback_v1", "unit_feedback")])
def test_python_client_reads_every_version(wire: ModuleType, name: str, message: str) -> None:
    """Older versions resolve to the newest, as Vigie's own codec reads them."""
    data, value = _vector(name)
    assert wire.to_json(wire.Schemas(message).decode(data)) == value


def test_python_client_refuses_an_unknown_version(wire: ModuleType) -> None:
    data, _ = _vector("acknowledgement_v2")
    with pytest.raises(ValueError, match="inconnue"):
        wire.Schemas("acknowledgement").decode(data[:2] + bytes(8) + data[10:])
    with pytest.raises(ValueError, match="C3 01"):
        wire.Schemas("acknowledgement").decode(b"\x00" + data[1:])


def test_fingerprints_are_vigies(wire: ModuleType) -> None:
    for message in ("partner_event", "acknowledgement", "routed_event", "status_update"):
        latest = get_registry().versions(message)[-1]
        assert wire.Schemas(message).latest_fingerprint == latest.fingerprint


EVENTS = [
    partner_event("opac-oise", "60175", fresh=True, category=Category.STAFF_THREAT),
    partner_event("opac-oise", "60175", fresh=True, category=Category.NOISE),
    partner_event("opac-oise", "60175", fresh=True, category=Category.FIRE,
                  persons_in_danger=True),
    partner_event("opac-oise", "60175", fresh=True, category=Category.DAMAGE,
                  staff_involved=True, urgency=Urgency.IMMEDIATE),
    partner_event("opac-oise", "60175", fresh=True, category=Category.DAMAGE,
                  staff_involved=True, urgency=Urgency.EXPECTED, persons_in_danger=False),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.category.value)
def test_lane_and_key_rules_are_vigies(wire: ModuleType, event: PartnerEvent) -> None:
    as_json = to_jsonable(event)
    assert wire.is_alert(as_json) == (lane_for(event) is Lane.ALERT)
    assert wire.root_id(as_json) == root_event_id(event)
    follow_up = event.model_copy(update={"message_type": MessageType.UPDATE,
                                         "references": ["3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"]})
    assert wire.root_id(to_jsonable(follow_up)) == root_event_id(follow_up)


def test_urgent_categories_are_vigies(wire: ModuleType) -> None:
    assert {c.value for c in URGENT_CATEGORIES} == wire.URGENT_CATEGORIES
    java = (EXAMPLES / "java" / "src" / "main" / "java" / "fr" / "vigie" / "examples"
            / "Landlord.java").read_text(encoding="utf-8")
    named = set(re.findall(r"Category\.([A-Z_]+)", java.split("URGENT =")[1].split(";")[0]))
    assert named == {c.value for c in URGENT_CATEGORIES}


def test_java_build_generates_the_newest_schemas() -> None:
    """The pom names one schema file per message: the newest, or the Java example would write
    an old version (still read by Vigie) and miss the new fields."""
    pom = (EXAMPLES / "java" / "pom.xml").read_text(encoding="utf-8")
    included = dict(re.findall(r"<include>([a-z_]+)/v(\d+)\.avsc</include>", pom))
    assert set(included) == {"partner_event", "acknowledgement", "routed_event",
                             "status_update"}
    for message, version in included.items():
        assert int(version) == get_registry().versions(message)[-1].version, message


def test_python_client_reads_the_onboarding_file(wire: ModuleType, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The Java properties ``vigie onboard`` writes for a new login work for Python too."""
    for name in [n for n in os.environ if n.startswith("VIGIE_")]:
        monkeypatch.delenv(name)
    from vigie.broker.secure import ClientConfig
    from vigie.cli.onboard import write_credentials

    config = ClientConfig("kafka.vigie.example.org:9094", "partner-nouveau-bailleur",
                          "s3cr-et_", tmp_path / "ca.pem")
    path = write_credentials(tmp_path / "credentials", config)
    assert wire.kafka_config(path) == {
        "bootstrap.servers": "kafka.vigie.example.org:9094",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "partner-nouveau-bailleur",
        "sasl.password": "s3cr-et_",
        "ssl.ca.location": str(tmp_path / "ca.pem"),
        "partitioner": "murmur2_random",
    }

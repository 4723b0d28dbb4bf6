"""Golden vectors: exact bytes <-> JSON, both ways, plus an Apache-avro-written message."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint
from typer.testing import CliRunner

from vigie.cli import app
from vigie.contracts.codec import codec_for, decode
from vigie.contracts.mapping import to_jsonable
from vigie.contracts.models import PartnerEvent
from vigie.contracts.schemas import MODEL_OF_MESSAGE, get_registry

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
NAMES = sorted(p.stem for p in VECTORS.glob("*.bin"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vigie_vectors_generate", VECTORS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_required_vectors_exist() -> None:
    required = {
        "partner_event_v1",
        "partner_event_v2",
        "partner_event_v1_apache",
        "acknowledgement_v1",
        "routed_event_v1",
        "routed_event_v2",
        "acknowledgement_v2",
        "dead_letter_v1",
    }
    assert required <= set(NAMES)
    for name in NAMES:
        assert (VECTORS / f"{name}.json").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_vector_decodes_to_json_and_re_encodes_byte_for_byte(name: str) -> None:
    data = (VECTORS / f"{name}.bin").read_bytes()
    expected = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    codec = codec_for(MODEL_OF_MESSAGE[expected["message"]])
    model = codec.decode(data)
    assert to_jsonable(model) == expected["value"]
    writer = get_registry().version(expected["message"], expected["writer_version"])
    assert data[2:10] == writer.fingerprint
    assert codec.encode(model, version=expected["writer_version"]) == data


def test_generator_is_deterministic_and_files_are_current() -> None:
    generator = _generator()
    for name, (data, _version) in generator.vectors().items():
        assert (VECTORS / f"{name}.bin").read_bytes() == data, f"{name}: regenerate vectors"


def test_apache_avro_vector_is_read_by_our_decoder() -> None:
    data = (VECTORS / "partner_event_v1_apache.bin").read_bytes()
    model = decode(data, PartnerEvent)
    assert model.partner_id == "picardie-habitat"
    assert model.location is not None and model.location.address is not None
    assert model.location.address.insee_code == "60175"
    assert model.sent_at.isoformat() == "2025-06-02T08:15:30.125000+00:00"


def _crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO exactly as in the Avro specification (independent of fastavro)."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_fingerprints_follow_the_specification() -> None:
    # Known answer: the canonical form "null" (Avro's own test vectors).
    assert _crc64_avro(b'"null"') == 0x63DD24E7CC258F8A
    assert fastavro_fingerprint('"null"', "CRC-64-AVRO") == "8a8f25cce724dd63"
    for version in get_registry():
        expected = _crc64_avro(version.canonical.encode()).to_bytes(8, "little")
        assert version.fingerprint == expected, version.path
        assert "logicalType" not in version.canonical and '"doc"' not in version.canonical


def test_cli_decode_prints_json_and_fails_cleanly(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["decode", str(VECTORS / "acknowledgement_v1.bin")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["message"] == "acknowledgement"
    assert out["value"]["status"] == "ROUTED"
    piped = runner.invoke(app, ["decode", "-"], input=(VECTORS / "dead_letter_v1.bin").read_bytes())
    assert piped.exit_code == 0 and json.loads(piped.stdout)["message"] == "dead_letter"
    for bad in (b"", b"garbage!!!!!!", b"\xc3\x01" + bytes(8) + b"x"):
        path = tmp_path / "bad.bin"
        path.write_bytes(bad)
        failed = runner.invoke(app, ["decode", str(path)])
        assert failed.exit_code == 1
    cut = (VECTORS / "partner_event_v2.bin").read_bytes()[:-3]
    (tmp_path / "cut.bin").write_bytes(cut)
    failed = runner.invoke(app, ["decode", str(tmp_path / "cut.bin")])
    assert failed.exit_code == 1 and "TRUNCATED" in failed.output
    assert runner.invoke(app, ["decode", str(tmp_path / "absent.bin")]).exit_code == 1

"""The schema registry: each version's fingerprint is the Avro specification's."""

from __future__ import annotations

from fastavro.schema import fingerprint as fastavro_fingerprint

from vigie.contracts.schemas import get_registry


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

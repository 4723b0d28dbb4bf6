"""Hostile input: nothing but DecodeError leaves ``decode``; validation never raises.

Exhaustive where it is cheap (every truncation and every single-bit flip of every golden
vector), property-based (hypothesis) elsewhere. The number of inputs tried is counted in
``FUZZ_COUNTS`` and printed at the end of the run ("contracts fuzz: N inputs tried").
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from vigie.contracts.codec import (
    DecodeError,
    codec_for,
    decode,
    encode,
    is_uuid,
    recover_event_id,
)
from vigie.contracts.enums import Category, MessageType, ReporterRole
from vigie.contracts.models import Address, Coordinates, Location, PartnerEvent
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.schemas import MODEL_OF_MESSAGE, get_registry
from vigie.contracts.validation import validate_event

from .conftest import FUZZ_COUNTS, NOW, SECRET, make_event

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
SAMPLE = encode(make_event())
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)
PARTNER_HEADERS = [b"\xc3\x01" + v.fingerprint for v in get_registry().versions("partner_event")]


def _vectors() -> list[tuple[bytes, type[BaseModel]]]:
    out = []
    for path in sorted(VECTORS.glob("*.bin")):
        message = path.stem.split("_v")[0]
        out.append((path.read_bytes(), MODEL_OF_MESSAGE[message]))
    return out


def _try(data: bytes, model_type: type[BaseModel], kind: str) -> BaseModel | None:
    """Decode; only DecodeError may escape, and its detail never quotes the payload."""
    FUZZ_COUNTS[kind] += 1
    recover_event_id(data)  # must never raise either
    try:
        model = decode(data, model_type)
    except DecodeError as exc:
        assert isinstance(exc.reason, ReasonCode)
        assert SECRET not in exc.detail and len(exc.detail) < 200
        return None
    if isinstance(model, PartnerEvent):
        _validate(model)
    return model


def _validate(event: PartnerEvent) -> None:
    FUZZ_COUNTS["validate"] += 1
    issues = validate_event(event, topic_partner_id="oise-habitat", now=NOW)
    for issue in issues:
        assert SECRET not in issue.message_fr


def test_every_truncation_of_every_vector() -> None:
    for data, model_type in _vectors():
        for cut in range(len(data)):
            assert _try(data[:cut], model_type, "truncation") is None


def test_every_single_bit_flip_of_every_vector() -> None:
    for data, model_type in _vectors():
        for i in range(len(data) * 8):
            flipped = bytearray(data)
            flipped[i // 8] ^= 1 << (i % 8)
            _try(bytes(flipped), model_type, "bit_flip")


@settings(FAST, max_examples=2500)
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    _try(data, PartnerEvent, "random_bytes")


@settings(FAST, max_examples=3000)
@given(st.sampled_from(PARTNER_HEADERS), st.binary(max_size=400))
def test_random_bodies_behind_a_valid_header(header: bytes, body: bytes) -> None:
    _try(header + body, PartnerEvent, "random_body")


@settings(FAST, max_examples=2000)
@given(
    st.lists(
        st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(1, 255)), min_size=1, max_size=8
    ),
    st.integers(-4, len(SAMPLE)),
)
def test_multi_byte_corruption_and_cuts(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SAMPLE)
    for pos, xor in edits:
        if pos >= 10:  # keep the header: exercise the Avro reader, not the marker check
            data[pos] ^= xor
    raw = bytes(data)
    raw = raw[:cut] if cut >= 0 else raw + bytes(-cut)
    _try(raw, PartnerEvent, "corruption")


_text = st.text(max_size=3000)
_floats = st.floats(allow_nan=True, allow_infinity=True)


@settings(FAST, max_examples=1500)
@given(
    event_id=st.one_of(st.uuids().map(str), st.text(max_size=60)),
    partner_id=st.text(max_size=80),
    description=st.one_of(st.none(), _text),
    street=st.one_of(st.none(), _text),
    insee=st.one_of(st.none(), st.text(max_size=8)),
    postcode=st.one_of(st.none(), st.text(max_size=8)),
    lat=_floats,
    lon=_floats,
    references=st.lists(st.text(max_size=40), max_size=30),
    message_type=st.sampled_from(MessageType),
    category=st.sampled_from(Category),
    role=st.one_of(st.none(), st.sampled_from(ReporterRole)),
    sent_ms=st.integers(-(2**40), 2**45),
    occurred_ms=st.integers(-(2**40), 2**45),
)
def test_oversized_and_odd_fields_round_trip_and_validate(
    event_id: str,
    partner_id: str,
    description: str | None,
    street: str | None,
    insee: str | None,
    postcode: str | None,
    lat: float,
    lon: float,
    references: list[str],
    message_type: MessageType,
    category: Category,
    role: ReporterRole | None,
    sent_ms: int,
    occurred_ms: int,
) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    event = make_event(
        event_id=event_id,
        partner_id=partner_id,
        description=description,
        sent_at=epoch + timedelta(milliseconds=sent_ms),
        occurred_at=epoch + timedelta(milliseconds=occurred_ms),
        location=Location(
            coordinates=Coordinates(lat=lat, lon=lon),
            address=Address(street=street, insee_code=insee, postcode=postcode),
        ),
        references=references,
        message_type=message_type,
        category=category,
        reporter_role=role,
    )
    data = encode(event)
    back = _try(data, PartnerEvent, "generated_event")
    if len(data) <= codec_for(PartnerEvent).max_bytes:
        assert isinstance(back, PartnerEvent)
        assert back.description == description and back.references == references
        assert back.location is not None and back.location.coordinates is not None
        same_lat = back.location.coordinates.lat
        assert same_lat == lat or (math.isnan(same_lat) and math.isnan(lat))
        assert recover_event_id(data) == (event_id if is_uuid(event_id) else None)
    else:
        assert back is None


def test_zz_fuzz_volume_is_meaningful() -> None:
    """Runs last in this module: proves the fuzzing above really ran (figures for reports)."""
    assert FUZZ_COUNTS["truncation"] > 1500
    assert FUZZ_COUNTS["bit_flip"] > 10000
    assert FUZZ_COUNTS["random_bytes"] >= 2000
    assert FUZZ_COUNTS["random_body"] >= 2500
    assert FUZZ_COUNTS["corruption"] >= 1500
    assert FUZZ_COUNTS["generated_event"] >= 1000
    assert FUZZ_COUNTS["validate"] > 1000
    print(f"fuzz inputs tried: {sum(FUZZ_COUNTS.values())} {dict(FUZZ_COUNTS)}")

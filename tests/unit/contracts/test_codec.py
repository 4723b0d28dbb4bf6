"""Codec: round trips, schema resolution in both directions, every rejection path, the golden
vectors (exact bytes <-> JSON, both ways, plus an Apache-avro-written message), and hostile
input: nothing but DecodeError leaves ``decode``; validation never raises.

The fuzzing is exhaustive where it is cheap (every truncation and every single-bit flip of
every golden vector), property-based (hypothesis) elsewhere. The number of inputs tried is
counted in ``FUZZ_COUNTS`` and printed at the end of the run ("contracts fuzz: N inputs
tried").
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from tests.factories import (
    EVENT_ID,
    NOW,
    SECRET,
    acknowledgement,
    dead_letter,
    partner_event,
    samples,
)
from vigie.contracts import codec as codec_module
from vigie.contracts.codec import (
    DEFAULT_MAX_BYTES,
    DecodeError,
    MessageCodec,
    codec_for,
    decode,
    encode,
    is_uuid,
    recover_event_id,
)
from vigie.contracts.enums import Category, MessageType, ReporterRole
from vigie.contracts.mapping import to_avro, to_jsonable
from vigie.contracts.models import (
    Address,
    Coordinates,
    DeadLetter,
    Location,
    PartnerEvent,
    RoutedEvent,
    StatusUpdate,
)
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.schemas import (
    MODEL_OF_MESSAGE,
    SchemaRegistry,
    default_schema_dir,
    get_registry,
)
from vigie.contracts.validation import validate_event

from .conftest import FUZZ_COUNTS

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def _reason(data: bytes, model_type: type[BaseModel] = PartnerEvent, **kw: int) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(data, model_type, **kw)
    assert SECRET not in info.value.detail
    return info.value


@pytest.mark.parametrize("model", samples(), ids=lambda m: type(m).__name__)
def test_every_message_round_trips(model: BaseModel) -> None:
    data = encode(model)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == codec_for(type(model)).latest.fingerprint
    assert decode(data, type(model)) == model


def test_timestamps_come_back_utc_aware_and_millisecond(event: PartnerEvent) -> None:
    precise = event.model_copy(update={"sent_at": datetime(2025, 1, 2, 3, 4, 5, 678999, UTC)})
    back = decode(encode(precise), PartnerEvent)
    assert back.sent_at == datetime(2025, 1, 2, 3, 4, 5, 678000, UTC)
    assert back.sent_at.utcoffset() == timedelta(0)


def test_naive_datetime_is_taken_as_utc_not_local_time(
    event: PartnerEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fastavro alone would use time.mktime (local time): 10:00 UTC in Paris in July."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        naive = event.model_copy(update={"sent_at": datetime(2025, 7, 1, 12, 0)})
        back = decode(encode(naive), PartnerEvent)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert back.sent_at == datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


def test_old_writer_v1_is_read_by_new_reader_v2(event: PartnerEvent) -> None:
    data = encode(event, version=1)
    v1 = get_registry().version("partner_event", 1)
    assert data[2:10] == v1.fingerprint
    back = decode(data, PartnerEvent)
    assert back.source_system is None and back.reporter_role is None
    assert back == event.model_copy(update={"source_system": None, "reporter_role": None})


def test_latest_body_is_what_an_embedding_message_would_write(event: PartnerEvent) -> None:
    """A routed event embeds the partner's event: its body in the latest schema is the very
    encoding of the ``event`` field, so it may be copied instead of written again."""
    partner = codec_for(PartnerEvent)
    routed = codec_for(RoutedEvent)
    assert routed.embeds("event", partner)
    assert not routed.embeds("unit_id", partner) and not routed.embeds("nope", partner)
    data = encode(event)
    body = partner.latest_body(data)
    assert body is not None and data == partner.header() + body
    assert body == routed.fields_writer(("event",)).write({"event": to_avro(event)})
    assert partner.latest_body(encode(event, version=1)) is None  # resolved: re-encode


def test_partner_event_models_rewrite_no_value() -> None:
    """What lets a routed copy carry the partner's body as is (``latest_body``): the decoded
    model holds the very values the body encodes. A validator or a string-normalising option
    on these models would break that; the fast path must then be dropped."""
    for model in (PartnerEvent, Location, Address, Coordinates):
        found = model.__pydantic_decorators__
        assert not (found.validators or found.field_validators or found.root_validators
                    or found.model_validators), model
        assert not any(model.model_config.get(option) for option in (
            "str_strip_whitespace", "str_to_lower", "str_to_upper")), model
        for name, info in model.model_fields.items():
            assert not info.metadata, (model, name)  # no constraint or Annotated validator


def test_new_writer_v2_is_read_with_old_reader_v1_by_fastavro(event: PartnerEvent) -> None:
    registry = get_registry()
    v1, v2 = registry.version("partner_event", 1), registry.version("partner_event", 2)
    data = encode(event)
    assert data[2:10] == v2.fingerprint
    record = fastavro.schemaless_reader(io.BytesIO(data[10:]), v2.parsed, v1.parsed)
    assert isinstance(record, dict)
    assert "source_system" not in record and "reporter_role" not in record
    assert record["event_id"] == EVENT_ID
    assert record["category"] == "FIRE"
    assert record["location"]["address"]["insee_code"] == "60057"


def _schema_copy(tmp_path: Path) -> Path:
    root = tmp_path / "avro"
    shutil.copytree(default_schema_dir(), root)
    return root


def test_unknown_enum_symbol_from_a_newer_writer_reads_as_default(
    tmp_path: Path, event: PartnerEvent
) -> None:
    """A v3 writer adds a Category; today's reader must fall back to OTHER, not fail."""
    root = _schema_copy(tmp_path)
    raw = json.loads((root / "partner_event" / "v2.avsc").read_text())
    category = next(f for f in raw["fields"] if f["name"] == "category")
    category["type"]["symbols"].append("DRONE")
    writer = fastavro.parse_schema(raw, named_schemas={})
    record = event.model_dump()
    record["category"] = "DRONE"
    body = io.BytesIO()
    fastavro.schemaless_writer(body, writer, record)
    fingerprint = bytes.fromhex(
        fastavro.schema.fingerprint(
            fastavro.schema.to_parsing_canonical_form(writer), "CRC-64-AVRO"
        )
    )
    # Unknown to today's registry: rejected cleanly...
    data = b"\xc3\x01" + fingerprint + body.getvalue()
    assert _reason(data).reason is ReasonCode.UNKNOWN_SCHEMA
    # ...and once v3 ships, a v2 reader would still resolve it (enum default).
    v2 = get_registry().version("partner_event", 2)
    back = fastavro.schemaless_reader(io.BytesIO(body.getvalue()), writer, v2.parsed)
    assert isinstance(back, dict) and back["category"] == Category.OTHER.value


def test_reporter_role_enum_round_trips(event: PartnerEvent) -> None:
    back = decode(encode(event), PartnerEvent)
    assert back.reporter_role is ReporterRole.CARETAKER


# --- rejections ---------------------------------------------------------------------------


def test_empty_message() -> None:
    assert _reason(b"").reason is ReasonCode.EMPTY_MESSAGE


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x00\x07rest",  # Confluent framing (magic 0 + schema id)
        b"\x01" + bytes(16) + b"x",  # Confluent GUID framing
        b'{"event_id": "x"}',  # JSON
        b"\xc3\x02" + bytes(20),  # right first byte, wrong version byte
    ],
)
def test_wrong_marker(data: bytes) -> None:
    assert _reason(data).reason is ReasonCode.BAD_MARKER


@pytest.mark.parametrize("data", [b"\xc3", b"\xc3\x01", b"\xc3\x01\x12\x34"])
def test_truncated_header(data: bytes) -> None:
    assert _reason(data).reason is ReasonCode.TRUNCATED


def test_unknown_fingerprint(event: PartnerEvent) -> None:
    data = encode(event)
    forged = data[:2] + bytes(8) + data[10:]
    assert _reason(forged).reason is ReasonCode.UNKNOWN_SCHEMA


def test_fingerprint_of_another_message_is_unknown_for_this_one() -> None:
    ack = acknowledgement()
    assert _reason(encode(ack), PartnerEvent).reason is ReasonCode.UNKNOWN_SCHEMA


@pytest.mark.parametrize("model", samples(), ids=lambda m: type(m).__name__)
def test_every_truncation_is_rejected(model: BaseModel) -> None:
    data = encode(model)
    for cut in range(1, len(data)):
        err = _reason(data[:cut], type(model))
        assert err.reason in {ReasonCode.TRUNCATED, ReasonCode.SCHEMA_VIOLATION}, cut
    # Cuts inside the body are reported as truncation, not as a generic violation.
    assert _reason(data[:-1], type(model)).reason is ReasonCode.TRUNCATED


def test_trailing_bytes(event: PartnerEvent) -> None:
    err = _reason(encode(event) + b"\x00\x01")
    assert err.reason is ReasonCode.TRAILING_BYTES
    assert err.detail == "2 bytes after the end of the record"


def test_oversized_default_limit(event: PartnerEvent) -> None:
    big = event.model_copy(update={"description": "x" * DEFAULT_MAX_BYTES})
    data = encode(big)
    assert len(data) > DEFAULT_MAX_BYTES
    assert _reason(data).reason is ReasonCode.OVERSIZED
    # A larger explicit limit lets it through (the business check then flags the length).
    assert decode(data, PartnerEvent, max_bytes=len(data)).description == big.description


def test_oversized_configurable(event: PartnerEvent, monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(event)
    assert _reason(data, max_bytes=len(data) - 1).reason is ReasonCode.OVERSIZED
    monkeypatch.setenv("VIGIE_MAX_MESSAGE_BYTES", "100")
    small: MessageCodec[PartnerEvent] = MessageCodec(PartnerEvent)
    assert small.max_bytes == 100
    with pytest.raises(DecodeError) as info:
        small.decode(data)
    assert info.value.reason is ReasonCode.OVERSIZED


def test_invalid_avro_body_is_a_schema_violation(event: PartnerEvent) -> None:
    data = encode(event)
    # event_id is first: replace its text by 2 invalid UTF-8 bytes (length varint 4 = 2 bytes).
    id_len = 1 + 36
    bad = data[:10] + b"\x04\xff\xfe" + data[10 + id_len :]
    err = _reason(bad)
    assert err.reason is ReasonCode.SCHEMA_VIOLATION
    assert err.detail == "body is not valid Avro (UnicodeDecodeError)"


def test_body_that_violates_the_model(tmp_path: Path) -> None:
    """Valid Avro for a (rogue) writer schema, but not for the model: partner_id is a long."""
    root = _schema_copy(tmp_path)
    path = root / "status_update" / "v1.avsc"
    raw = json.loads(path.read_text())
    raw["fields"][1]["type"] = "long"  # unit_id
    path.write_text(json.dumps(raw))
    rogue = SchemaRegistry(root)
    rogue_codec: MessageCodec[StatusUpdate] = MessageCodec(StatusUpdate, registry=rogue)
    body = io.BytesIO()
    record = {"event_id": EVENT_ID, "unit_id": 123456, "status": "CLOSED", "at": 0}
    fastavro.schemaless_writer(body, rogue.latest("status_update").parsed, record)
    data = b"\xc3\x01" + rogue.latest("status_update").fingerprint + body.getvalue()
    with pytest.raises(DecodeError) as info:
        rogue_codec.decode(data)
    assert info.value.reason is ReasonCode.SCHEMA_VIOLATION
    assert info.value.detail == "model violated at unit_id (string_type)"
    assert "123456" not in info.value.detail


def test_decode_error_carries_code_and_fixed_detail() -> None:
    err = DecodeError(ReasonCode.TRUNCATED, "body ends before the record does")
    assert str(err) == "TRUNCATED: body ends before the record does"
    assert err.reason.message_fr.startswith("Message tronqué")


def test_codec_is_cached_per_model_type() -> None:
    assert codec_for(PartnerEvent) is codec_for(PartnerEvent)
    assert codec_module._CODECS[PartnerEvent] is codec_for(PartnerEvent)


# --- event id recovery ---------------------------------------------------------------------


def test_recover_event_id_from_valid_truncated_and_corrupt(event: PartnerEvent) -> None:
    data = encode(event)
    assert recover_event_id(data) == EVENT_ID
    assert recover_event_id(data[: 10 + 1 + 36]) == EVENT_ID
    assert recover_event_id(data[: 10 + 1 + 35]) is None
    corrupt = data[: 10 + 37] + b"\xff" * 30
    assert recover_event_id(corrupt) == EVENT_ID
    assert recover_event_id(encode(event, version=1)) == EVENT_ID
    unknown_version = data[:2] + bytes(8) + data[10:]
    assert recover_event_id(unknown_version) == EVENT_ID


def test_recover_event_id_refuses_non_uuid_and_other_messages(event: PartnerEvent) -> None:
    assert recover_event_id(b"") is None
    assert recover_event_id(b"\x00" * 60) is None
    not_uuid = event.model_copy(update={"event_id": "z" * 36})
    assert recover_event_id(encode(not_uuid)) is None
    short = event.model_copy(update={"event_id": "abc"})
    assert recover_event_id(encode(short)) is None
    ack = acknowledgement()
    assert recover_event_id(encode(ack)) is None  # its first field is ack_id, not event_id


def test_dead_letter_keeps_arbitrary_bytes() -> None:
    dl = dead_letter()
    assert decode(encode(dl), DeadLetter).payload == bytes(range(256))


def test_event_with_all_optional_fields_empty() -> None:
    minimal = PartnerEvent(
        event_id=EVENT_ID,
        partner_id="oise-habitat",
        sent_at=datetime(2025, 1, 1, tzinfo=UTC),
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        category=Category.OTHER,
    )
    assert decode(encode(minimal), PartnerEvent) == minimal
    assert partner_event() != minimal


# --- golden vectors ------------------------------------------------------------------------

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
        "unit_feedback_v1",
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


# --- fuzz: hostile input -----------------------------------------------------------------

SAMPLE = encode(partner_event())
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
    event = partner_event(
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

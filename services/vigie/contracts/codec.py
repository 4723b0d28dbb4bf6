"""Binary codec of every message: Avro single-object encoding, schema resolution, model check.

Wire format (Avro specification, "single-object encoding")::

    0xC3 0x01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | Avro body

Why this framing: it needs no registry server; a reader finds the writer schema by fingerprint
among the versions it ships with (``schemas/avro/<message>/v*.avsc``) and resolves the body
into the newest version (the reader schema). The framing sits behind the small ``Framing``
protocol so a Confluent-style framing (magic byte + registry id) can be plugged in later.

Error handling: every failure is a ``DecodeError`` carrying a stable ``ReasonCode`` and a
fixed-form ``detail`` that never quotes the payload (payloads may hold personal data).

Hot path: schemas are parsed once, the fingerprint -> (writer, reader) table is built once
per message type, and fastavro is given a reader schema only when it differs from the writer.
On encode, the branch of every optional named type (``["null", record|enum]``) is named with
fastavro's tuple notation (``(full name, value)``), planned once per schema: fastavro then
skips validating the value against each branch to pick one. Same branch, same bytes.
``MessageCodec.fields_writer`` encodes a subset of a record's fields: Avro's binary form of a
record is the concatenation of its fields' encodings, so callers can assemble a message from
parts they encoded once (``vigie.pipeline.outputs`` does so for routed events).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from io import BytesIO
from typing import Any, Generic, Protocol, TypeVar

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import to_parsing_canonical_form
from pydantic import BaseModel, ValidationError

from vigie.contracts.mapping import to_avro
from vigie.contracts.models import PartnerEvent
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.schemas import (
    MESSAGE_OF_MODEL,
    SchemaRegistry,
    SchemaVersion,
    get_registry,
)

M = TypeVar("M", bound=BaseModel)

#: Default upper bound of a message, header included (Kafka's own limit is far higher).
DEFAULT_MAX_BYTES = 64 * 1024
MAX_BYTES_ENV = "VIGIE_MAX_MESSAGE_BYTES"

SINGLE_OBJECT_MARKER = b"\xc3\x01"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class DecodeError(Exception):
    """A message that cannot be turned into its model.

    ``reason`` is the stable code; ``detail`` a short fixed-form text without payload content,
    safe for logs, dead letters and acknowledgements.
    """

    def __init__(self, reason: ReasonCode, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class Framing(Protocol):
    """How the schema key and the body are laid out in a Kafka value."""

    name: str

    def key_of(self, version: SchemaVersion) -> bytes:
        """The key identifying ``version`` in this framing (fingerprint, registry id...)."""
        ...

    def frame(self, key: bytes, body: bytes) -> bytes:
        """Header + body."""
        ...

    def split(self, data: bytes) -> tuple[bytes, int]:
        """(schema key, offset of the body); raises ``DecodeError`` on a bad header."""
        ...


class SingleObjectFraming:
    """Avro single-object encoding: ``C3 01`` + 8-byte LE CRC-64-AVRO fingerprint + body."""

    name = "avro-single-object"
    header_size = 10

    def key_of(self, version: SchemaVersion) -> bytes:
        return version.fingerprint

    def frame(self, key: bytes, body: bytes) -> bytes:
        return SINGLE_OBJECT_MARKER + key + body

    def split(self, data: bytes) -> tuple[bytes, int]:
        if data[:2] != SINGLE_OBJECT_MARKER:
            if len(data) < 2 and SINGLE_OBJECT_MARKER.startswith(data):
                raise DecodeError(ReasonCode.TRUNCATED, "header shorter than 10 bytes")
            raise DecodeError(ReasonCode.BAD_MARKER, "first two bytes are not C3 01")
        if len(data) < 10:
            raise DecodeError(ReasonCode.TRUNCATED, "header shorter than 10 bytes")
        return data[2:10], 10


SINGLE_OBJECT = SingleObjectFraming()


def _max_bytes_from_env() -> int:
    raw = os.environ.get(MAX_BYTES_ENV)
    if raw is None:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_BYTES_ENV} must be an integer") from None
    if value < 16:
        raise ValueError(f"{MAX_BYTES_ENV} must be at least 16")
    return value


def _field_names(models: Iterable[type[BaseModel]]) -> frozenset[str]:
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    stack = list(models)
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.add(name)
            for arg in getattr(info.annotation, "__args__", (info.annotation,)):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    stack.append(arg)
    return frozenset(names)


#: Only these words may appear in an error detail: field names of the models, never values
#: or map keys (which come from the payload).
_SAFE_WORDS = _field_names(MESSAGE_OF_MODEL)


def _violation_detail(exc: ValidationError) -> str:
    """Fixed-form summary of a pydantic error: field paths and error types, no input values."""
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False)[:3]:
        loc = ".".join(
            p if isinstance(p, str) and p in _SAFE_WORDS else ("[]" if isinstance(p, int) else "*")
            for p in err["loc"]
        )
        parts.append(f"{loc or '<record>'} ({err['type']})")
    more = exc.error_count() - len(parts)
    suffix = f" and {more} more" if more > 0 else ""
    return "model violated at " + ", ".join(parts) + suffix


#: Per record schema: (field name, branch full name or None, plan of the nested record or None)
#: for each field holding an optional named type, directly or deeper down.
_Naming = tuple[tuple[str, str | None, "_Naming | None"], ...]
_NAMED = ("record", "enum", "fixed")


def _naming_plan(schema: Any, named: dict[str, Any]) -> _Naming | None:
    """Where ``schema`` (a parsed record) holds ``["null", named type]`` unions, once."""
    if isinstance(schema, str):
        schema = named.get(schema, schema)
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    named[schema["name"]] = schema
    steps: list[tuple[str, str | None, _Naming | None]] = []
    for field in schema["fields"]:
        kind = field["type"]
        branch: str | None = None
        if isinstance(kind, list):
            others = [t for t in kind if t != "null"]
            if len(kind) != 2 or len(others) != 1:
                continue
            kind = named.get(others[0], others[0]) if isinstance(others[0], str) else others[0]
            if not isinstance(kind, dict) or kind.get("type") not in _NAMED:
                continue
            branch = kind["name"]
            named[branch] = kind
        sub = _naming_plan(kind, named)
        if branch is not None or sub is not None:
            steps.append((field["name"], branch, sub))
    return tuple(steps) or None


def _name_branches(record: dict[str, Any], plan: _Naming) -> None:
    """Tuple-name the branch of optional named values, in place (``record`` is a fresh dump)."""
    for name, branch, sub in plan:
        value = record.get(name)
        if value is None or isinstance(value, tuple):
            continue
        if sub is not None and isinstance(value, dict):
            _name_branches(value, sub)
        if branch is not None:
            record[name] = (branch, value)


class MessageCodec(Generic[M]):
    """Encoder/decoder of one message type; build once, reuse for every message."""

    __slots__ = (
        "_by_key",
        "_framing",
        "_headers",
        "_latest",
        "_naming",
        "_schemas",
        "max_bytes",
        "message",
        "model_type",
    )

    def __init__(
        self,
        model_type: type[M],
        *,
        registry: SchemaRegistry | None = None,
        framing: Framing = SINGLE_OBJECT,
        max_bytes: int | None = None,
    ) -> None:
        registry = registry or get_registry()
        self.model_type = model_type
        self.message = MESSAGE_OF_MODEL[model_type]
        self.max_bytes = _max_bytes_from_env() if max_bytes is None else max_bytes
        self._framing = framing
        versions = registry.versions(self.message)
        self._latest = versions[-1]
        reader = self._latest.parsed
        # key -> (writer schema, reader schema or None when identical): resolution table.
        self._by_key: dict[bytes, tuple[dict[str, Any], dict[str, Any] | None]] = {
            framing.key_of(v): (v.parsed, None if v is self._latest else reader) for v in versions
        }
        self._headers = {v.version: framing.frame(framing.key_of(v), b"") for v in versions}
        self._schemas = {v.version: v.parsed for v in versions}
        self._naming = {v.version: _naming_plan(v.parsed, {}) for v in versions}

    @property
    def latest(self) -> SchemaVersion:
        """The reader schema (highest version)."""
        return self._latest

    def encode(self, model: M, *, version: int | None = None) -> bytes:
        """Frame + body written with the latest schema (or an older ``version``, for tests and
        partners still on it; fields unknown to that version are dropped)."""
        number = self._latest.version if version is None else version
        record = to_avro(model)
        plan = self._naming[number]
        if plan is not None:
            _name_branches(record, plan)
        buf = BytesIO()
        buf.write(self._headers[number])
        schemaless_writer(buf, self._schemas[number], record)
        return buf.getvalue()

    def encode_record(self, record: dict[str, Any]) -> bytes:
        """Frame + body of an Avro record (dict) already in ``to_avro`` form, latest schema.

        For callers that build the record without a model (same bytes as ``encode`` of the
        model holding these values); ``record`` is modified (branches named)."""
        plan = self._naming[self._latest.version]
        if plan is not None:
            _name_branches(record, plan)
        buf = BytesIO()
        buf.write(self._headers[self._latest.version])
        schemaless_writer(buf, self._latest.parsed, record)
        return buf.getvalue()

    def header(self) -> bytes:
        """The frame header of the latest schema (what precedes the Avro body)."""
        return self._headers[self._latest.version]

    def fields_writer(self, names: tuple[str, ...]) -> FieldsWriter:
        """Writer of the Avro encoding of some fields of the latest schema (see module doc).

        Raises ``ValueError`` if a name is not a field or the fields' types cannot stand on
        their own (a named type defined in another field): callers then use ``encode``."""
        raw = self._latest.raw
        by_name = {f["name"]: f for f in raw["fields"]}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"not fields of {self.message}: {missing}")
        synthetic = {
            "type": "record",
            "name": "VigieFieldsOf" + str(raw["name"]),
            "namespace": raw.get("namespace"),
            "fields": [by_name[n] for n in names],
        }
        try:
            parsed: dict[str, Any] = parse_schema(synthetic, named_schemas={})  # type: ignore[assignment]
        except Exception as exc:  # fastavro's SchemaParseException and friends
            raise ValueError(f"fields {names} of {self.message} cannot be written apart") from exc
        return FieldsWriter(parsed, _naming_plan(parsed, {}))

    def field_names(self) -> tuple[str, ...]:
        """Field names of the latest schema, in order."""
        return tuple(f["name"] for f in self._latest.parsed["fields"])

    def embeds(self, name: str, other: MessageCodec[Any]) -> bool:
        """True when field ``name`` of the latest schema IS the latest schema of ``other``
        (same parsing canonical form): a body ``other`` wrote with it is that field's encoding,
        so it can be copied in as is (see ``latest_body``)."""
        for f in self._latest.parsed["fields"]:
            if f["name"] == name:
                return bool(to_parsing_canonical_form(f["type"]) == other.latest.canonical)
        return False

    def latest_body(self, data: bytes) -> bytes | None:
        """The Avro body of ``data`` when its header names the latest schema, else None.

        For a message this codec has decoded (checked framing, no trailing bytes): its body
        is then the encoding of the decoded values in the latest schema, which a message
        embedding this one (``embeds``) may copy instead of encoding them again. A body in an
        older version (resolved on decode) would first have to be re-encoded."""
        header = self._headers[self._latest.version]
        if data[: len(header)] != header:
            return None
        return data[len(header):]

    def decode_record(self, data: bytes, max_bytes: int | None = None) -> dict[str, Any]:
        """Checked framing + Avro body resolved to the reader schema, before the model check."""
        size = len(data)
        if size == 0:
            raise DecodeError(ReasonCode.EMPTY_MESSAGE, "zero-byte message")
        limit = self.max_bytes if max_bytes is None else max_bytes
        if size > limit:
            raise DecodeError(ReasonCode.OVERSIZED, f"message larger than {limit} bytes")
        key, offset = self._framing.split(data)
        schemas = self._by_key.get(key)
        if schemas is None:
            raise DecodeError(
                ReasonCode.UNKNOWN_SCHEMA, f"fingerprint is not a known {self.message} schema"
            )
        buf = BytesIO(data)
        buf.seek(offset)
        try:
            record: dict[str, Any] = schemaless_reader(buf, schemas[0], schemas[1])  # type: ignore[assignment]
        except Exception as exc:  # any fastavro failure on hostile bytes is a bad body
            # fastavro signals a short body as EOFError, or IndexError on an empty read.
            if isinstance(exc, EOFError | StopIteration) or buf.tell() >= size:
                raise DecodeError(
                    ReasonCode.TRUNCATED, "body ends before the record does"
                ) from None
            raise DecodeError(
                ReasonCode.SCHEMA_VIOLATION, f"body is not valid Avro ({type(exc).__name__})"
            ) from None
        if buf.tell() != size:
            raise DecodeError(
                ReasonCode.TRAILING_BYTES, f"{size - buf.tell()} bytes after the end of the record"
            )
        return record

    def decode(self, data: bytes, max_bytes: int | None = None) -> M:
        """The model, or ``DecodeError``; no other exception escapes."""
        return model_check(self.decode_record(data, max_bytes), self.model_type)

    def knows(self, data: bytes) -> bool:
        """True when ``data`` is framed with a known version of this message."""
        try:
            key, _ = self._framing.split(data)
        except DecodeError:
            return False
        return key in self._by_key


def model_check(record: Any, model_type: type[M]) -> M:
    """The model check every input goes through once its format is read: a decoded Avro
    record here, a partner's JSON in the HTTP gateway (vigie.gateway), so that both answer
    the same ``SCHEMA_VIOLATION`` with the same payload-free detail."""
    try:
        return model_type.model_validate(record)
    except ValidationError as exc:
        raise DecodeError(ReasonCode.SCHEMA_VIOLATION, _violation_detail(exc)) from None
    except Exception as exc:  # defensive: a validator bug must not crash a worker
        raise DecodeError(
            ReasonCode.SCHEMA_VIOLATION, f"model check failed ({type(exc).__name__})"
        ) from None


class FieldsWriter:
    """Avro encoding of a few fields of one record schema (no header): ``write(record)``."""

    __slots__ = ("_plan", "_schema")

    def __init__(self, schema: dict[str, Any], plan: _Naming | None) -> None:
        self._schema = schema
        self._plan = plan

    def write(self, record: dict[str, Any]) -> bytes:
        """``record`` maps the fields to values in ``to_avro`` form; it is modified."""
        if self._plan is not None:
            _name_branches(record, self._plan)
        buf = BytesIO()
        schemaless_writer(buf, self._schema, record)
        return buf.getvalue()


_CODECS: dict[type[BaseModel], MessageCodec[Any]] = {}


def codec_for(model_type: type[M]) -> MessageCodec[M]:
    """The process-wide codec of a model type (built on first use)."""
    try:
        return _CODECS[model_type]
    except KeyError:
        codec: MessageCodec[M] = MessageCodec(model_type)
        _CODECS[model_type] = codec
        return codec


def reset_codecs() -> None:
    """Forget built codecs (tests that change ``VIGIE_SCHEMA_DIR`` or the max size)."""
    _CODECS.clear()


def encode(model: BaseModel, *, version: int | None = None) -> bytes:
    """Bytes of ``model``: message chosen by its type, latest schema unless ``version``."""
    try:
        codec = _CODECS[type(model)]
    except KeyError:
        codec = codec_for(type(model))
    return codec.encode(model, version=version)


def decode(data: bytes, model_type: type[M], *, max_bytes: int | None = None) -> M:
    """Model of type ``model_type`` from ``data``; raises ``DecodeError`` (only)."""
    try:
        codec: MessageCodec[M] = _CODECS[model_type]
    except KeyError:
        codec = codec_for(model_type)
    return codec.decode(data, max_bytes)


def _read_varint(data: bytes, pos: int) -> tuple[int, int] | None:
    """Zig-zag varint at ``pos`` -> (value, next position), None if cut or too long."""
    shift = 0
    acc = 0
    for i in range(pos, min(pos + 10, len(data))):
        byte = data[i]
        acc |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (acc >> 1) ^ -(acc & 1), i + 1
        shift += 7
    return None


def recover_event_id(data: bytes) -> str | None:
    """Best-effort ``event_id`` of a partner event, even from a truncated or invalid body.

    Works because ``event_id`` is the FIRST field of every PartnerEvent version: after the
    10-byte header comes its length (varint) and its UTF-8 text. Returns the id only if it is
    a canonical UUID, and not when the fingerprint belongs to another known message type.
    Lets the gateway answer "rejected" to the right event instead of staying silent.
    """
    try:
        if len(data) < 12 or data[:2] != SINGLE_OBJECT_MARKER:
            return None
        registry = get_registry()
        other = registry.find_fingerprint(data[2:10])
        if other is not None and other.message != MESSAGE_OF_MODEL[PartnerEvent]:
            return None
        head = _read_varint(data, 10)
        if head is None:
            return None
        length, start = head
        if length != 36 or start + length > len(data):
            return None
        text = data[start : start + length].decode("ascii")
    except Exception:  # best effort: never raise from an error path
        return None
    return text if _UUID.fullmatch(text) else None


def is_uuid(value: str) -> bool:
    """Canonical 8-4-4-4-12 hex form (what partners must send as event_id)."""
    return _UUID.fullmatch(value) is not None

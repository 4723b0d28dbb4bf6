"""Every version of every Avro schema, parsed once, with its CRC-64-AVRO fingerprint.

Layout: ``schemas/avro/<message>/v<N>.avsc``. The reader schema of a message is always its
highest version; older versions stay on disk forever because messages written with them may
still sit in Kafka (or in a partner's outbox). Parsing is done once per process because
fastavro's ``parse_schema`` is far too slow for the hot path.

The folder is found relative to this file (``services/vigie/contracts`` ->
``../../../schemas/avro``) unless ``VIGIE_SCHEMA_DIR`` points elsewhere (installed wheels,
tests of a candidate schema).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import fastavro
from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import to_parsing_canonical_form
from pydantic import BaseModel

from vigie.contracts.models import (
    Acknowledgement,
    CompetenceRecord,
    DeadLetter,
    PartnerEvent,
    PreventionNotice,
    RoutedEvent,
    SiteRecord,
    StatusUpdate,
    UnitAvailability,
    UnitFeedback,
    UnitRecord,
    UnitRules,
)

SCHEMA_DIR_ENV = "VIGIE_SCHEMA_DIR"
_VERSION_FILE = re.compile(r"^v([1-9]\d*)\.avsc$")

#: Message name (folder under schemas/avro) of each model. One place, used by the codec,
#: the CLI and the evolution checks.
MESSAGE_OF_MODEL: dict[type[BaseModel], str] = {
    PartnerEvent: "partner_event",
    SiteRecord: "site",
    CompetenceRecord: "competence",
    UnitRecord: "unit",
    RoutedEvent: "routed_event",
    Acknowledgement: "acknowledgement",
    StatusUpdate: "status_update",
    DeadLetter: "dead_letter",
    PreventionNotice: "prevention_notice",
    UnitRules: "unit_rules",
    UnitAvailability: "unit_availability",
    UnitFeedback: "unit_feedback",
}
MODEL_OF_MESSAGE: dict[str, type[BaseModel]] = {m: t for t, m in MESSAGE_OF_MODEL.items()}


class SchemaLoadError(RuntimeError):
    """The schema folder is missing, malformed or inconsistent (a deployment error)."""


def default_schema_dir() -> Path:
    """``VIGIE_SCHEMA_DIR`` if set, else the repository's ``schemas/avro``."""
    override = os.environ.get(SCHEMA_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "schemas" / "avro"


@dataclass(frozen=True, eq=False)
class SchemaVersion:
    """One ``.avsc`` file: its raw JSON, fastavro-parsed form and fingerprint."""

    message: str
    version: int
    path: Path
    raw: dict[str, Any] = field(repr=False)
    parsed: dict[str, Any] = field(repr=False)
    canonical: str = field(repr=False)
    #: 8 bytes, little-endian, exactly as they appear in the single-object header.
    fingerprint: bytes

    @property
    def full_name(self) -> str:
        """Full record name (namespace.name); must not change across versions."""
        ns = self.raw.get("namespace")
        name = str(self.raw.get("name", ""))
        return f"{ns}.{name}" if ns and "." not in name else name

    @property
    def fingerprint_hex(self) -> str:
        """Fingerprint as printed by tools (little-endian byte order, hex)."""
        return self.fingerprint.hex()


def load_version(message: str, version: int, path: Path) -> SchemaVersion:
    """Parse one file; raises ``SchemaLoadError`` (never a raw JSON/fastavro error)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        # A fresh named_schemas per file: v1 and v2 both define fr.vigie.PartnerEvent.
        parsed = cast(dict[str, Any], fastavro.parse_schema(raw, named_schemas={}))
        canonical = to_parsing_canonical_form(parsed)
        fp = bytes.fromhex(_fingerprint(canonical, "CRC-64-AVRO"))
    except (OSError, ValueError, fastavro.schema.SchemaParseException) as exc:
        raise SchemaLoadError(f"{path}: cannot parse schema ({type(exc).__name__})") from exc
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise SchemaLoadError(f"{path}: top-level schema must be a record")
    return SchemaVersion(message, version, path, raw, parsed, canonical, fp)


class SchemaRegistry:
    """In-memory, read-only view of ``schemas/avro``; built once per process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._versions: dict[str, list[SchemaVersion]] = {}
        self._by_fp: dict[str, dict[bytes, SchemaVersion]] = {}
        if not root.is_dir():
            raise SchemaLoadError(f"schema folder not found: {root}")
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            found: list[SchemaVersion] = []
            for file in folder.iterdir():
                match = _VERSION_FILE.fullmatch(file.name)
                if match:
                    found.append(load_version(folder.name, int(match.group(1)), file))
            if not found:
                continue
            found.sort(key=lambda v: v.version)
            numbers = [v.version for v in found]
            if numbers != list(range(1, len(found) + 1)):
                raise SchemaLoadError(f"{folder}: versions must be v1..vN without gaps")
            self._versions[folder.name] = found
            by_fp: dict[bytes, SchemaVersion] = {}
            for v in found:
                if v.fingerprint in by_fp:
                    raise SchemaLoadError(f"{v.path}: same canonical form as an earlier version")
                by_fp[v.fingerprint] = v
            self._by_fp[folder.name] = by_fp

    def messages(self) -> list[str]:
        """Message names, sorted."""
        return sorted(self._versions)

    def versions(self, message: str) -> list[SchemaVersion]:
        """All versions of a message, oldest first."""
        try:
            return list(self._versions[message])
        except KeyError:
            raise SchemaLoadError(f"no schema for message {message!r} in {self.root}") from None

    def latest(self, message: str) -> SchemaVersion:
        """The reader schema: highest version."""
        return self.versions(message)[-1]

    def version(self, message: str, number: int) -> SchemaVersion:
        """One given version (``SchemaLoadError`` if absent)."""
        for v in self.versions(message):
            if v.version == number:
                return v
        raise SchemaLoadError(f"no version {number} of message {message!r}")

    def by_fingerprint(self, message: str, fp: bytes) -> SchemaVersion | None:
        """The version of ``message`` whose fingerprint is ``fp``, if any."""
        return self._by_fp.get(message, {}).get(fp)

    def find_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        """The version of any message whose fingerprint is ``fp`` (for the decode CLI)."""
        for by_fp in self._by_fp.values():
            found = by_fp.get(fp)
            if found is not None:
                return found
        return None

    def __iter__(self) -> Iterator[SchemaVersion]:
        for message in self.messages():
            yield from self._versions[message]


@lru_cache(maxsize=8)
def _registry_at(root: str) -> SchemaRegistry:
    return SchemaRegistry(Path(root))


@lru_cache(maxsize=8)
def _resolved_default(override: str | None) -> str:
    """``default_schema_dir()`` resolved once per ``VIGIE_SCHEMA_DIR`` value: the codec asks
    for the registry on every malformed record (``recover_event_id``), and resolving a path
    is a ``realpath`` system call each time."""
    return str(default_schema_dir().resolve())


def get_registry(root: Path | None = None) -> SchemaRegistry:
    """The process-wide registry for ``root`` (default: ``default_schema_dir()``), cached."""
    if root is None:
        return _registry_at(_resolved_default(os.environ.get(SCHEMA_DIR_ENV)))
    return _registry_at(str(root.resolve()))

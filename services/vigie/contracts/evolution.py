"""Schema evolution guard: FULL_TRANSITIVE compatibility and contract hygiene.

Why FULL_TRANSITIVE: partners upgrade at their own pace and Kafka keeps old messages, so any
reader version must read any writer version, in both directions, across every pair of
versions. fastavro has no compatibility checker, so the check uses a second, independent
implementation: the Apache ``avro`` package (``ReaderWriterCompatibilityChecker``).

Also checked, because they are contract rules a compatibility checker does not see: record
full names never change, every record and field has a ``doc``, namespace is ``fr.vigie``,
the latest schema has exactly the fields of its pydantic model, and PartnerEvent keeps
``event_id`` first (``codec.recover_event_id`` relies on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from vigie.contracts.schemas import MODEL_OF_MESSAGE, SchemaRegistry, SchemaVersion, get_registry

NAMESPACE = "fr.vigie"


@dataclass(frozen=True)
class Problem:
    """One failed check, with where it was found."""

    message: str
    check: str
    detail: str


def _avro_parse(version: SchemaVersion) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(version.raw))


def _compatible(reader: avro.schema.Schema, writer: avro.schema.Schema) -> tuple[bool, str]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return True, ""
    return False, "; ".join(sorted(str(m) for m in result.messages))[:300]


def _docs_missing(node: Any, path: str, out: list[str]) -> None:
    """Paths of records and fields without a non-empty ``doc``."""
    if isinstance(node, list):
        for branch in node:
            _docs_missing(branch, path, out)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "record":
        if not node.get("doc"):
            out.append(path or str(node.get("name")))
        for fld in node.get("fields", []):
            fpath = f"{path}.{fld.get('name')}" if path else str(fld.get("name"))
            if not fld.get("doc"):
                out.append(fpath)
            _docs_missing(fld.get("type"), fpath, out)
    elif kind == "array":
        _docs_missing(node.get("items"), path, out)
    elif kind == "map":
        _docs_missing(node.get("values"), path, out)
    elif isinstance(kind, dict | list):
        _docs_missing(kind, path, out)


def _enums_without_default(node: Any, out: list[str]) -> None:
    if isinstance(node, list):
        for branch in node:
            _enums_without_default(branch, out)
    elif isinstance(node, dict):
        if node.get("type") == "enum" and "default" not in node:
            out.append(str(node.get("name")))
        for key in ("type", "items", "values"):
            _enums_without_default(node.get(key), out)
        for fld in node.get("fields", []) if node.get("type") == "record" else []:
            _enums_without_default(fld.get("type"), out)


def check_message(registry: SchemaRegistry, message: str) -> list[Problem]:
    """All problems of one message's versions."""
    problems: list[Problem] = []
    versions = registry.versions(message)
    parsed: list[tuple[SchemaVersion, avro.schema.Schema]] = []
    for v in versions:
        try:
            parsed.append((v, _avro_parse(v)))
        except Exception as exc:  # the Apache parser is stricter than fastavro on purpose
            problems.append(Problem(message, "parse", f"v{v.version}: {type(exc).__name__}"))
        missing: list[str] = []
        _docs_missing(v.raw, "", missing)
        if missing:
            problems.append(Problem(message, "doc", f"v{v.version}: " + ", ".join(missing)))
        no_default: list[str] = []
        _enums_without_default(v.raw, no_default)
        if no_default:
            problems.append(
                Problem(message, "enum-default", f"v{v.version}: " + ", ".join(no_default))
            )
        if v.raw.get("namespace") != NAMESPACE:
            problems.append(Problem(message, "namespace", f"v{v.version}: not {NAMESPACE}"))
        if v.full_name != versions[0].full_name:
            problems.append(
                Problem(message, "name", f"v{v.version}: {v.full_name} != {versions[0].full_name}")
            )
        if message == "partner_event" and v.raw["fields"][0]["name"] != "event_id":
            problems.append(Problem(message, "event-id-first", f"v{v.version}"))

    # FULL_TRANSITIVE: every pair, both directions.
    for i, (newer, new_schema) in enumerate(parsed):
        for older, old_schema in parsed[:i]:
            pair = f"v{newer.version} reads v{older.version}"
            ok, why = _compatible(new_schema, old_schema)
            if not ok:
                problems.append(Problem(message, "backward", f"{pair}: {why}"))
            ok, why = _compatible(old_schema, new_schema)
            if not ok:
                pair = f"v{older.version} reads v{newer.version}"
                problems.append(Problem(message, "forward", f"{pair}: {why}"))

    model = MODEL_OF_MESSAGE.get(message)
    if model is not None:
        latest = versions[-1]
        schema_fields = [f["name"] for f in latest.raw["fields"]]
        model_fields = list(model.model_fields)
        if set(schema_fields) != set(model_fields):
            only_schema = sorted(set(schema_fields) - set(model_fields))
            only_model = sorted(set(model_fields) - set(schema_fields))
            problems.append(
                Problem(
                    message,
                    "model",
                    f"v{latest.version} vs {model.__name__}: schema only {only_schema}, "
                    f"model only {only_model}",
                )
            )
    return problems


def check_all(registry: SchemaRegistry | None = None) -> list[Problem]:
    """Problems of every message in the registry; an empty list means the contracts are sound."""
    registry = registry or get_registry()
    problems: list[Problem] = []
    for message in registry.messages():
        problems.extend(check_message(registry, message))
    for message in MODEL_OF_MESSAGE:
        if message not in registry.messages():
            problems.append(Problem(message, "missing", "no schema folder"))
    return problems

"""The one place where pydantic models and Avro records (plain dicts) meet.

Field names are identical on both sides, so the mapping is mostly ``model_dump`` one way
(``to_avro``) and ``model_validate`` the other (called by the codec itself: a decoded record
needs no conversion) — both run in pydantic-core (Rust), which is what keeps the codec fast.
The only real work is timestamps:

* fastavro turns a *naive* datetime into epoch millis with ``time.mktime``, i.e. in the
  container's LOCAL time zone. We never want that, so naive datetimes are taken as UTC here.
* fastavro returns timestamp-millis as tz-aware UTC datetimes, which the models keep as is.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel

# (datetime field names, nested model fields) per model type; built once per type.
_Plan = tuple[tuple[str, ...], tuple[tuple[str, "_Plan"], ...]]


def _types_in(annotation: Any) -> tuple[Any, ...]:
    args = get_args(annotation)
    return args if args else (annotation,)


@cache
def _plan(model_type: type[BaseModel]) -> _Plan:
    """Which fields may hold datetimes, directly or in nested models (computed once)."""
    stamps: list[str] = []
    nested: list[tuple[str, _Plan]] = []
    for name, info in model_type.model_fields.items():
        for t in _types_in(info.annotation):
            if t is datetime:
                stamps.append(name)
            elif isinstance(t, type) and issubclass(t, BaseModel):
                sub = _plan(t)
                if sub[0] or sub[1]:
                    nested.append((name, sub))
    return tuple(stamps), tuple(nested)


def _fix_naive(record: dict[str, Any], plan: _Plan) -> None:
    stamps, nested = plan
    for name in stamps:
        value = record.get(name)
        if value is not None and value.tzinfo is None:
            record[name] = value.replace(tzinfo=UTC)
    for name, sub in nested:
        child = record.get(name)
        if isinstance(child, list):  # a list of records (UnitRules.exercises)
            for item in child:
                _fix_naive(item, sub)
        elif child is not None:
            _fix_naive(child, sub)


def naive_as_utc(value: datetime) -> datetime:
    """The datetime fastavro must be given: naive ones taken as UTC (as ``to_avro`` does)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def to_avro(model: BaseModel) -> dict[str, Any]:
    """Avro record (dict) for ``model``; enums stay StrEnum members (fastavro accepts them)."""
    record = model.model_dump()
    _fix_naive(record, _plan(type(model)))
    return record


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Enum):
        return value.value
    return value


def to_jsonable(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict for humans and golden vectors (bytes as ``{"base64": ...}``).

    Not used on the wire; kept here so that all model <-> representation rules live together.
    """
    return dict(_jsonable(model.model_dump()))

"""Effective-dated reference data: per key, records sorted by their ``effective_from``.

Why one home: the competence table and the routing rules are both announced ahead with a
start date (a redeployment, new service hours) and answer "which record is in force on this
date"; the same two functions serve both, so the rule cannot drift between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Protocol, TypeVar


class Dated(Protocol):
    @property
    def effective_from(self) -> date: ...


R = TypeVar("R", bound=Dated)


def in_force(history: tuple[R, ...], on: date | None) -> R | None:
    """The record of ``history`` (sorted by ``effective_from``) in force on ``on``; the
    latest one when ``on`` is None; None before the first."""
    if not history:
        return None
    if on is None:
        return history[-1]
    for record in reversed(history):
        if record.effective_from <= on:
            return record
    return None


def by_key_and_date(records: Iterable[R], key: Callable[[R], str]
                    ) -> Mapping[str, tuple[R, ...]]:
    """Records grouped by key, each group sorted by date (a later record of the same key and
    date replaces the earlier one)."""
    grouped: dict[str, dict[date, R]] = {}
    for record in records:
        grouped.setdefault(key(record), {})[record.effective_from] = record
    return MappingProxyType({k: tuple(v[d] for d in sorted(v)) for k, v in grouped.items()})

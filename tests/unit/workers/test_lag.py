"""Lag arithmetic without a broker (the live proof is in
tests/integration/test_observability.py)."""

from __future__ import annotations

from vigie.workers.lag import partition_lag


def test_lag_uses_committed_then_position() -> None:
    highwaters = {"a": 100, "b": 50, "c": None, "d": 10}
    committed = {"a": 90, "b": None, "c": 5, "d": None}
    positions = {"b": 20}
    assert partition_lag(highwaters, committed, positions) == {"a": 10, "b": 30}


def test_lag_never_negative() -> None:
    assert partition_lag({"a": 5}, {"a": 7}, {}) == {"a": 0}

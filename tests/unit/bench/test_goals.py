"""The goal that puts the worker ahead of the quixstreams peer on urgent alerts: the peer's
p99 over the worker's, same backlog and alerts (bench/goals.py)."""

from __future__ import annotations

from typing import Any

from bench.goals import alert_p99_ratio, verdicts


def _alerts(p99: float | None, *, lower_bound: bool = False) -> dict[str, Any]:
    return {"p99_ms": p99, "p99_lower_bound": lower_bound, "backlog": 20_000}


def _runs(worker: dict[str, Any], peer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record as ``record.derive`` leaves it (the alerts goal reads ``alert_p99_ms``)."""
    r = {"alerts": worker, "alert_p99_ms": worker["p99_ms"]}
    return r if peer is None else {**r, "quix_alerts": peer}


def test_the_goal_is_met_when_the_workers_alert_p99_is_lower() -> None:
    r = _runs(_alerts(150.0), _alerts(5_400.0))
    rows = {name: (measured, target, ok) for name, measured, target, ok in verdicts(r)}
    assert rows["quixstreams peer / worker, alert p99"] == (
        "5400 / 150 ms", "> 1 (worker lower)", True)


def test_the_goal_is_missed_when_the_peers_alert_p99_is_lower() -> None:
    r = _runs(_alerts(900.0), _alerts(300.0))
    rows = {name: (measured, ok) for name, measured, _target, ok in verdicts(r)}
    measured, ok = rows["quixstreams peer / worker, alert p99"]
    assert not ok
    assert measured.startswith("300 / 900 ms (missed")


def test_a_peer_p99_that_is_a_lower_bound_is_shown_as_such() -> None:
    r = _runs(_alerts(100.0), _alerts(15_000.0, lower_bound=True))
    rows = {name: measured for name, measured, _target, _ok in verdicts(r)}
    assert rows["quixstreams peer / worker, alert p99"] == "≥ 15000 / 100 ms"


def test_no_row_without_both_runs() -> None:
    names = [name for name, *_ in verdicts(_runs(_alerts(100.0)))]
    assert not any("alert p99" in n and "peer" in n for n in names)


def test_the_ratio_is_the_peers_p99_over_the_workers() -> None:
    assert alert_p99_ratio(_alerts(5_000.0), _alerts(100.0)) == 50.0
    assert alert_p99_ratio(_alerts(50.0), _alerts(100.0)) == 0.5


def test_a_missing_figure_never_meets_the_goal() -> None:
    assert alert_p99_ratio(_alerts(None), _alerts(100.0)) == 0.0
    assert alert_p99_ratio(_alerts(float("nan")), _alerts(100.0)) == 0.0
    assert alert_p99_ratio(_alerts(5_000.0), _alerts(float("nan"))) == 0.0

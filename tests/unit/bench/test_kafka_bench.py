"""An unattended ``make bench`` always ends with its record: a run that raises or never ends
is recorded as failed (``complete: false``, the error) and the next run still starts."""

from __future__ import annotations

import argparse
import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from bench import kafka_bench


async def _ok(_bench: Any) -> dict[str, Any]:
    return {"complete": True}


async def _hangs(_bench: Any) -> dict[str, Any]:
    await asyncio.sleep(3600)
    return {}


async def _raises(_bench: Any) -> dict[str, Any]:
    raise RuntimeError("worker exited with 1")


async def test_failed_and_overrunning_runs_are_recorded_and_the_bench_goes_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_bench, "RUNS", [("hangs", _hangs), ("raises", _raises),
                                              ("ok", _ok)])
    args = argparse.Namespace(only=None, skip_profile=True, run_timeout=0.2)
    bench = SimpleNamespace(args=args, results={})
    await kafka_bench.run_all(bench)  # type: ignore[arg-type]
    r = bench.results
    assert r["ok"] == {"complete": True}
    assert "hangs" not in r and "raises" not in r
    assert r["failed"]["hangs"]["complete"] is False
    assert "--run-timeout" in r["failed"]["hangs"]["error"]
    assert r["failed"]["raises"] == {"complete": False,
                                     "error": "RuntimeError: worker exited with 1",
                                     "seconds": 0}
    assert kafka_bench._failed(r) == 1
    assert kafka_bench._failed({"ok": {}}) == 0

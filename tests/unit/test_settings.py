"""Settings: the time the routing rules see, and the metrics endpoint on loopback unless told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigie.settings import Settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NIGHT = datetime.fromisoformat("2026-11-29T02:00+01:00")


def test_settings_routing_clock() -> None:
    assert Settings().routing_time(NOW) == NOW
    assert Settings(routing_clock_at=NIGHT).routing_time(NOW) == NIGHT
    assert Settings(routing_clock_offset_seconds=3600).routing_time(NOW) == (
        NOW + timedelta(hours=1))
    naive = Settings(routing_clock_at=datetime(2026, 11, 29, 1, 0))
    assert naive.routing_time(NOW) == datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def test_settings_default_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIE_METRICS_HOST", raising=False)
    assert Settings(_env_file=None).metrics_host == "127.0.0.1"
    monkeypatch.setenv("VIGIE_METRICS_HOST", "0.0.0.0")
    assert Settings(_env_file=None).metrics_host == "0.0.0.0"

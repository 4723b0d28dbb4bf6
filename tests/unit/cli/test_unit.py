"""``vigie unit unavailable|available`` without a broker: what it refuses before publishing,
and how it reads a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from vigie.cli import app
from vigie.cli.unit import parse_until

RUNNER = CliRunner()
NOW = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-29T06:00+01:00", datetime(2026, 11, 29, 5, 0, tzinfo=UTC)),
        # No offset: the time of Oise (winter, UTC+1).
        ("2026-11-29T06:00", datetime(2026, 11, 29, 5, 0, tzinfo=UTC)),
        # Summer time: UTC+2.
        ("2026-07-14T06:00", datetime(2026, 7, 14, 4, 0, tzinfo=UTC)),
        ("90m", NOW + timedelta(minutes=90)),
        ("2h", NOW + timedelta(hours=2)),
        ("1d", NOW + timedelta(days=1)),
    ],
)
def test_until_is_an_instant_or_a_duration(text: str, expected: datetime) -> None:
    assert parse_until(text, NOW) == expected


def test_a_malformed_until_is_refused() -> None:
    with pytest.raises(typer.BadParameter):
        parse_until("tomorrow morning", NOW)


def test_unavailable_refuses_a_past_time_and_a_bad_unit_before_publishing() -> None:
    past = RUNNER.invoke(app, ["unit", "unavailable", "--unit", "gn-bt-meru", "--until",
                               "2020-01-01T00:00+01:00"])
    assert past.exit_code == 2 and "already past" in past.output
    bad = RUNNER.invoke(app, ["unit", "available", "--unit", "Not A Unit"])
    assert bad.exit_code == 2 and "identifiant d'unité invalide" in bad.output

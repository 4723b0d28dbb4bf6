"""The models refuse what no message may carry: malformed service windows, unknown zones."""

from __future__ import annotations

import pytest

from tests.factories import unit_rules
from vigie.contracts.models import ServiceWindow, UnitRules


@pytest.mark.parametrize(
    "window",
    [
        {"days": ["MON"], "start": "12:00", "end": "08:00"},
        {"days": ["MON"], "start": "08:00", "end": "08:00"},
        {"days": ["MONDAY"], "start": "08:00", "end": "12:00"},
        {"days": [], "start": "08:00", "end": "12:00"},
        {"days": ["MON"], "start": "8:00", "end": "12:00"},
        {"days": ["MON"], "start": "08:00", "end": "24:01"},
    ],
)
def test_malformed_windows_are_refused(window: dict) -> None:
    with pytest.raises(ValueError):
        ServiceWindow.model_validate(window)


def test_unknown_time_zone_and_calendar_are_refused() -> None:
    with pytest.raises(ValueError):
        UnitRules.model_validate({**unit_rules().model_dump(), "time_zone": "Europe/Nowhere"})
    with pytest.raises(ValueError):
        UnitRules.model_validate({**unit_rules().model_dump(), "holiday_calendar": "fr"})

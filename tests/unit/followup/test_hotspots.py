"""Hotspot detection on scripted histories: one episode per real rise, none for steady sites."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest

from vigie.contracts.enums import HotspotTrigger, NoticeKind
from vigie.followup.hotspots import assess, next_step, poisson_tail
from vigie.reference.prevention import default_thresholds

START = date(2026, 9, 7)  # a Monday: week w is START + 7w .. +7w+6
THRESHOLDS = default_thresholds()


def _weekly(rng: random.Random, weeks: range, per_week: int,
            categories: tuple[str, ...] = ("DAMAGE", "GRAFFITI")) -> list[tuple[date, str]]:
    """``per_week`` reports a week on random days, categories alternating: no repeat."""
    reports = []
    for week in weeks:
        days = sorted(rng.sample(range(7), per_week))
        reports += [(START + timedelta(weeks=week, days=d), categories[i % len(categories)])
                    for i, d in enumerate(days)]
    return reports


def _episodes(reports: list[tuple[date, str]], days: int) -> list[tuple[NoticeKind, date]]:
    """Run the daily pass over ``days`` days; the notices it would send, with their day."""
    notices: list[tuple[NoticeKind, date]] = []
    episode_open = False
    for offset in range(days):
        day = START + timedelta(days=offset)
        step = next_step(episode_open, assess(reports, day, START, THRESHOLDS), THRESHOLDS)
        if step is not None:
            notices.append((step, day))
            episode_open = step is NoticeKind.OPEN
    return notices


def test_poisson_tail() -> None:
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(1, 2.0) == pytest.approx(1 - 0.1353352832, rel=1e-9)
    upper = math.fsum(math.exp(k * math.log(4.0) - 4.0 - math.lgamma(k + 1))
                      for k in range(15, 200))
    assert poisson_tail(15, 4.0) == pytest.approx(upper, rel=1e-9)


def test_a_residence_spiking_in_week_7_opens_once_and_closes_once() -> None:
    rng = random.Random(7)
    calm_before = _weekly(rng, range(0, 6), per_week=1)
    # Week 7 (index 6): twelve reports spread over the week, categories mixed.
    spike = [(START + timedelta(weeks=6, days=i % 7), ("DAMAGE", "GRAFFITI", "FIRE")[i % 3])
             for i in range(12)]
    calm_after = _weekly(rng, range(7, 16), per_week=1)
    notices = _episodes(calm_before + spike + calm_after, days=16 * 7)
    assert [kind for kind, _ in notices] == [NoticeKind.OPEN, NoticeKind.CLOSE]
    opened, closed = notices[0][1], notices[1][1]
    assert START + timedelta(weeks=6) <= opened < START + timedelta(weeks=7)  # in week 7
    assert closed > START + timedelta(weeks=7)  # after it fell back


def test_steady_control_residences_never_open_an_episode() -> None:
    for seed in range(30):
        rng = random.Random(seed)
        per_week = rng.choice([1, 2])
        assert _episodes(_weekly(rng, range(0, 16), per_week), days=16 * 7) == [], seed


def test_four_of_one_category_in_a_week_is_a_repeat_whatever_the_history() -> None:
    assert THRESHOLDS.repeat.count == 4 and THRESHOLDS.repeat.window_days == 7
    day = START + timedelta(days=5)
    reports = [(START + timedelta(days=d), "COMMON_AREA_OCCUPATION") for d in (0, 1, 3, 5)]
    found = assess(reports, day, START, THRESHOLDS)
    assert found.repeat and not found.rise and found.baseline_days < 28  # no history yet
    assert next_step(False, found, THRESHOLDS) is NoticeKind.OPEN
    assert found.trigger is HotspotTrigger.REPEAT
    three = assess(reports[:3], day, START, THRESHOLDS)
    assert not three.repeat and next_step(False, three, THRESHOLDS) is None
    mixed = [(on, "COMMON_AREA_OCCUPATION" if i % 2 else "SQUAT") for i, (on, _) in
             enumerate(reports)]
    assert not assess(mixed, day, START, THRESHOLDS).repeat  # one category, not the group

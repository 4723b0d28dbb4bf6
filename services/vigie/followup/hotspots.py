"""Hotspot detection (situational prevention): is a residence turning into a hotspot?

Pure: the reports of one residence and one category group, a day, the thresholds
(``vigie.reference.prevention``) in; an assessment and the episode's next step out. The
daily pass (``vigie.followup.prevention``) reads the store and publishes the notices.

Two triggers, after the convention's experience of the ZSP:

* **rise** — more reports in the last ``window_days`` than the residence's own history
  explains: a one-sided Poisson test of the observed count against the rate of up to
  ``baseline_weeks`` before the window (floored, so that a residence with no history is not
  a hotspot at its second report). With ``open_p_value`` = 1e-4, a residence with a steady
  rate opens a false episode in a given group on a given day with probability below 1e-4;
  daily passes over overlapping windows are strongly correlated, so the false episodes per
  residence, group and year stay below 365 × 1e-4 ≈ 0.04 (docs/followup.md);
* **repeat** — ``count`` reports of one category within ``repeat.window_days`` (four
  common-area occupations in a week), whatever the history.

An episode opens once, and closes once: when no repeat holds and the rise test is far from
firing (``close_p_value``, a hysteresis so that an episode does not flap at one threshold).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from vigie.contracts.enums import HotspotTrigger, NoticeKind
from vigie.reference.prevention import PreventionThresholds


def poisson_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected)."""
    if observed <= 0:
        return 1.0
    below = math.fsum(math.exp(k * math.log(expected) - expected - math.lgamma(k + 1))
                      for k in range(observed))
    return max(0.0, 1.0 - below)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one residence's reports of one group say on one day."""

    window_start: date
    window_end: date  # exclusive: the day after the pass's day
    observed: int
    expected: float
    baseline_days: int
    #: P(X >= observed) under the expectation. Opens an episode only with at least
    #: ``min_baseline_days`` of history; always used to decide whether it has ended.
    p_value: float
    rise: bool
    repeat: bool
    categories: tuple[str, ...]

    @property
    def trigger(self) -> HotspotTrigger:
        return HotspotTrigger.RISE if self.rise else HotspotTrigger.REPEAT


@dataclass(frozen=True, slots=True)
class Windows:
    """The day ranges of one pass: the same for every residence (``window_end`` and the
    others exclusive/inclusive as named)."""

    window_start: date
    window_end: date  # exclusive
    baseline_start: date
    repeat_start: date

    @classmethod
    def of(cls, day: date, history_start: date, thresholds: PreventionThresholds) -> Windows:
        rise = thresholds.rise
        window_end = day + timedelta(days=1)
        window_start = window_end - timedelta(days=rise.window_days)
        return cls(window_start, window_end,
                   max(window_start - timedelta(weeks=rise.baseline_weeks), history_start),
                   window_end - timedelta(days=thresholds.repeat.window_days))

    @property
    def baseline_days(self) -> int:
        return max((self.window_start - self.baseline_start).days, 0)


@dataclass(frozen=True, slots=True)
class Counts:
    """What a pass needs of one residence and group: counts, not the reports themselves
    (the daily pass has them counted by PostgreSQL)."""

    observed: int  # in the window
    in_baseline: int  # in the baseline, before the window
    most_repeated: int  # the most reports of one category since ``repeat_start``
    categories: tuple[str, ...]  # seen in the window


def count(reports: Iterable[tuple[date, str]], windows: Windows) -> Counts:
    """``reports``: (day, category) of one residence and group, any order."""
    observed = in_baseline = 0
    recent: Counter[str] = Counter()
    categories: set[str] = set()
    for on, category in reports:
        if on >= windows.window_end:
            continue
        if on >= windows.window_start:
            observed += 1
            categories.add(category)
        elif on >= windows.baseline_start:
            in_baseline += 1
        if on >= windows.repeat_start:
            recent[category] += 1
    return Counts(observed, in_baseline, max(recent.values(), default=0),
                  tuple(sorted(categories)))


def judge(counts: Counts, windows: Windows, thresholds: PreventionThresholds) -> Assessment:
    rise = thresholds.rise
    baseline_days = windows.baseline_days
    rate = max(counts.in_baseline / baseline_days if baseline_days else 0.0,
               rise.rate_floor_per_day)
    expected = rate * rise.window_days
    p_value = poisson_tail(counts.observed, expected)
    return Assessment(
        window_start=windows.window_start, window_end=windows.window_end,
        observed=counts.observed, expected=expected, baseline_days=baseline_days,
        p_value=p_value,
        rise=(baseline_days >= rise.min_baseline_days and counts.observed >= rise.min_observed
              and p_value < rise.open_p_value),
        repeat=counts.most_repeated >= thresholds.repeat.count,
        categories=counts.categories,
    )


def assess(reports: Iterable[tuple[date, str]], day: date, history_start: date,
           thresholds: PreventionThresholds) -> Assessment:
    """``reports``: (day, category) of one residence and group, any order; those after
    ``day`` are ignored. ``history_start``: the first day the store has data for (a
    residence with no report since then had a rate of zero, not an unknown one)."""
    windows = Windows.of(day, history_start, thresholds)
    return judge(count(reports, windows), windows, thresholds)


def next_step(episode_open: bool, assessment: Assessment,
              thresholds: PreventionThresholds) -> NoticeKind | None:
    """The notice the episode calls for today, if any."""
    if not episode_open:
        return NoticeKind.OPEN if assessment.rise or assessment.repeat else None
    calm = assessment.p_value > thresholds.rise.close_p_value
    return NoticeKind.CLOSE if calm and not assessment.repeat else None


def explanation(kind: NoticeKind, assessment: Assessment, group: str,
                thresholds: PreventionThresholds) -> str:
    """Fixed French words and figures (the notice never carries free text)."""
    last_day = assessment.window_end - timedelta(days=1)
    counts = (f"{assessment.observed} signalement(s) « {group} » du "
              f"{assessment.window_start:%d/%m/%Y} au {last_day:%d/%m/%Y}, "
              f"{assessment.expected:.1f} attendu(s) d'après l'historique de la résidence")
    if kind is NoticeKind.CLOSE:
        return f"Fin de l'épisode : {counts}."
    if assessment.rise:
        return f"Hausse inhabituelle : {counts} (p = {assessment.p_value:.1e})."
    repeat = thresholds.repeat
    return (f"Faits répétés : au moins {repeat.count} signalements d'une même catégorie en "
            f"{repeat.window_days} jours ; {counts}.")

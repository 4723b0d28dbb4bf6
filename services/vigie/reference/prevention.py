"""Hotspot thresholds: reference data with provenance, not constants in code.

The committee owns these numbers (which categories go together, how unusual a month must be,
how many repeats make a hotspot); Vigie ships defaults for Oise with their source and the
reasoning in docs/followup.md, and a deployment may load its own file.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from vigie.contracts.enums import Category

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "prevention-thresholds-oise.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RiseThresholds(_Frozen):
    """A rise above the residence's own history: observed reports in the last ``window_days``
    against a Poisson expectation from up to ``baseline_weeks`` before the window."""

    window_days: PositiveInt
    baseline_weeks: PositiveInt
    #: Less history than this and only repeats can open an episode (no fair expectation).
    min_baseline_days: PositiveInt
    #: Fewer reports than this in the window never make a rise, however quiet the history.
    min_observed: PositiveInt
    #: Expected rate never taken below this (per day): a residence with no history is not
    #: a hotspot at its first two reports.
    rate_floor_per_day: float = Field(gt=0)
    #: P(X >= observed) below this opens an episode: the false-alarm rate per residence,
    #: group and daily pass (docs/followup.md).
    open_p_value: float = Field(gt=0, lt=1)
    #: An open episode closes once P(X >= observed) is above this again (hysteresis: an
    #: episode does not flap around one threshold) and no repeat holds.
    close_p_value: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _hysteresis(self) -> RiseThresholds:
        if self.close_p_value <= self.open_p_value:
            raise ValueError("close_p_value must be above open_p_value")
        return self


class RepeatThresholds(_Frozen):
    """``count`` reports of one category at one residence within ``window_days``."""

    window_days: PositiveInt
    count: PositiveInt


class PreventionThresholds(_Frozen):
    version: str
    effective_from: date
    provenance: str
    groups: dict[str, list[Category]]
    rise: RiseThresholds
    repeat: RepeatThresholds

    @model_validator(mode="after")
    def _each_category_once(self) -> PreventionThresholds:
        seen = [c for categories in self.groups.values() for c in categories]
        if len(seen) != len(set(seen)):
            raise ValueError("a category belongs to two groups")
        return self

    def group_of(self, category: str) -> str | None:
        return self._groups_by_category().get(category)

    def _groups_by_category(self) -> dict[str, str]:
        return {c.value: g for g, categories in self.groups.items() for c in categories}

    @property
    def history_days(self) -> int:
        """How far back a pass must read: the window and the whole baseline."""
        return self.rise.window_days + 7 * self.rise.baseline_weeks


def load_thresholds(path: Path) -> PreventionThresholds:
    return PreventionThresholds.model_validate(json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_thresholds() -> PreventionThresholds:
    return load_thresholds(DEFAULT_FILE)

"""The rule chain: who takes an event the competence table gave to a unit, at a given time.

After NENA i3's policy routing: once the location says which unit is competent, ordered rules
may divert the event — the unit is declared unavailable, it is outside its service hours (or
a public holiday's), it holds too many urgent alerts not yet taken in charge — to the unit's
fallback, whose own rules are checked in turn, until a unit takes it. A chain that ends
without anyone (no fallback, or a loop back to a unit already passed over) leaves the event
to manual triage at the departmental command centre: never dropped. Each rule applies only to
the lanes its record names.

Pure like the rest of the policy: the time and the load are inputs (``RoutingContext``),
never read from a clock. Hot path: the service-hours answer of a unit is memoised in the
snapshot per UTC minute (hours are minute-granular, offsets whole minutes), so a decision
costs a dictionary lookup per unit of the chain, not a time-zone conversion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from vigie.contracts.enums import Lane, RoutingRule
from vigie.reference.rules import CompiledRules, compile_rules
from vigie.reference.snapshot import ReferenceSnapshot

#: A chain never visits more units than this (a long fallback list is a data error).
MAX_CHAIN = 8
_NO_LOAD: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RoutingContext:
    """What the rules read besides the event and the reference data.

    ``open_alerts`` counts, per unit, the urgent alerts routed to it and not yet taken in
    charge that this worker knows of; each worker owns only some input partitions, so it
    knows only their alerts, and ``share`` (owned partitions / all partitions) scales the
    overflow limits accordingly (docs/routing.md, "Overflow with several workers").
    """

    at: datetime
    open_alerts: Mapping[str, int] = field(default_factory=lambda: _NO_LOAD)
    share: float = 1.0


@dataclass(frozen=True, slots=True)
class Step:
    """A unit passed over: which rule diverted the event from it, and why (reference data
    and the time only)."""

    unit_id: str
    rule: RoutingRule
    detail: str

    def text(self) -> str:
        return f"{self.unit_id} {self.rule.value} ({self.detail})"


@dataclass(frozen=True, slots=True)
class Route:
    """Who takes the event (None: nobody on the chain, manual triage) and who was passed
    over, in order; ``rules_version`` is the version of the first unit's rules."""

    unit_id: str | None
    steps: tuple[Step, ...] = ()
    rules_version: str | None = None

    @property
    def rule(self) -> RoutingRule | None:
        """The rule that diverted the event from the first unit (None: not diverted)."""
        return self.steps[0].rule if self.steps else None


def _duty(ref: ReferenceSnapshot, unit_id: str, at: datetime, minute: int
          ) -> tuple[CompiledRules, tuple[RoutingRule, str] | None]:
    """(compiled rules in force, off-duty rule and detail or None), memoised per minute."""
    memo = ref.memo
    key = ("duty", unit_id, minute)
    hit: tuple[CompiledRules, tuple[RoutingRule, str] | None] | None = memo.get(key)
    if hit is not None:
        return hit
    record = None
    latest = ref.rules.lookup(unit_id)
    if latest is not None:
        # Effective dates are local dates of the unit (a change "from 1 June" starts at
        # local midnight, not at 02:00 in summer).
        record = ref.rules.lookup(unit_id, at.astimezone(ZoneInfo(latest.time_zone)).date())
    compiled_key = ("compiled", id(record))
    compiled: CompiledRules | None = memo.get(compiled_key)
    if compiled is None or compiled.rules is not record:
        compiled = compile_rules(record)
        remember(memo, compiled_key, compiled)
    answer = (compiled, compiled.off_duty(at))
    remember(memo, key, answer)
    return answer


#: Bound of a snapshot's memo (sites x communes, units x minutes could grow it): cleared
#: when reached.
MEMO_MAX_ENTRIES = 200_000


def remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """Store a memoised answer in a snapshot's memo, within its bound."""
    if len(memo) >= MEMO_MAX_ENTRIES:
        memo.clear()
    memo[key] = value


def _unavailable(ref: ReferenceSnapshot, unit_id: str, at: datetime) -> str | None:
    declared = ref.availability.get(unit_id)
    if declared is None or declared.unavailable_until is None:
        return None
    if at >= declared.unavailable_until:
        return None
    return f"declared unavailable until {declared.unavailable_until:%Y-%m-%dT%H:%MZ}"


def resolve(unit_id: str, lane: Lane, ref: ReferenceSnapshot, context: RoutingContext) -> Route:
    """The unit that takes an event of ``lane`` first meant for ``unit_id``, and the chain.

    For each unit, in this order and each only on its rule's lanes: declared unavailable
    (``UNIT_UNAVAILABLE``; an explicit statement beats a schedule), outside its service hours
    (``OUTSIDE_HOURS``, ``PUBLIC_HOLIDAY``), at its overflow limit (``OVERFLOW``). A unit
    that passes all three takes the event; otherwise its fallback is tried. A unit without
    rules is on duty round the clock and has no fallback.
    """
    at = context.at
    minute = int(at.timestamp() // 60)
    steps: list[Step] = []
    current: str | None = unit_id
    version: str | None = None
    while current is not None:
        compiled, off = _duty(ref, current, at, minute)
        if not steps:
            version = compiled.version
        step: Step | None = None
        if lane in compiled.unavailable_lanes:
            why = _unavailable(ref, current, at)
            if why is not None:
                step = Step(current, RoutingRule.UNIT_UNAVAILABLE, why)
        if step is None and off is not None and lane in compiled.hours_lanes:
            step = Step(current, off[0], off[1])
        limit = compiled.overflow_limit
        if step is None and limit is not None and lane in compiled.overflow_lanes:
            scaled = max(1, math.ceil(limit * context.share))
            held = context.open_alerts.get(current, 0)
            if held >= scaled:
                step = Step(current, RoutingRule.OVERFLOW,
                            f"{held} urgent alerts not yet taken in charge, limit {scaled}"
                            + (f" (this worker's share of {limit})" if scaled != limit else ""))
        if step is None:
            return Route(current, tuple(steps), version)
        steps.append(step)
        nxt = compiled.fallback_unit_id
        passed = {s.unit_id for s in steps}
        if (nxt is None or nxt in passed or nxt not in ref.units
                or len(steps) >= MAX_CHAIN):
            return Route(None, tuple(steps), version)
        current = nxt
    return Route(None, tuple(steps), version)  # pragma: no cover - the loop returns


def rules_at(unit_id: str, ref: ReferenceSnapshot, at: datetime) -> CompiledRules:
    """The unit's rules in force at ``at`` (its local date), compiled."""
    return _duty(ref, unit_id, at, int(at.timestamp() // 60))[0]


def on_duty_text(unit_id: str, ref: ReferenceSnapshot, at: datetime) -> str:
    """How the unit that takes the event stands at ``at`` (for explanations)."""
    compiled, off = _duty(ref, unit_id, at, int(at.timestamp() // 60))
    if compiled.rules is None:
        return f"{unit_id} takes it (no routing rules: on duty round the clock)"
    if compiled.round_the_clock:
        return f"{unit_id} takes it (on duty round the clock)"
    if off is not None:  # on duty for this lane because the hours do not apply to it
        return f"{unit_id} takes it (off duty: {off[1]}; its hours do not apply to this lane)"
    return f"{unit_id} takes it (on duty)"

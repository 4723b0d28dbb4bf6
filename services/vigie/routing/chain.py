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
    #: Minutes since the epoch of ``at``: the key of the per-minute service-hours memo.
    minute: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "minute", int(self.at.timestamp() // 60))


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
    #: Held by the snapshot's memo for this minute (it depends on no load and no
    #: availability), so callers may key their own memo by its identity.
    shared: bool = False

    @property
    def rule(self) -> RoutingRule | None:
        """The rule that diverted the event from the first unit (None: not diverted)."""
        return self.steps[0].rule if self.steps else None


@dataclass(frozen=True, slots=True)
class _Duty:
    """One unit at one minute, as the snapshot holds it: its rules in force, whether its
    hours have it off duty, its declared unavailability, and the route that ends with it."""

    compiled: CompiledRules
    off: tuple[RoutingRule, str] | None
    off_step: Step | None
    unavailable_until: datetime | None
    taken: Route


def _duty(ref: ReferenceSnapshot, unit_id: str, at: datetime, minute: int) -> _Duty:
    """The unit's duty at ``minute``, memoised in the snapshot (rules and availability are
    snapshot data; the time is the minute)."""
    memo = ref.memo
    key = ("duty", unit_id, minute)
    hit: _Duty | None = memo.get(key)
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
    declared = ref.availability.get(unit_id)
    off = compiled.off_duty(at)
    answer = _Duty(compiled, off, Step(unit_id, off[0], off[1]) if off is not None else None,
                   declared.unavailable_until if declared is not None else None,
                   Route(unit_id, (), compiled.version, shared=True))
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


def _blocking(unit_id: str, duty: _Duty, lane: Lane, context: RoutingContext) -> Step | None:
    """The rule that passes ``unit_id`` over for this lane now, or None: it takes the event.

    In this order, each only on its rule's lanes: declared unavailable (an explicit
    statement beats a schedule), outside its service hours, at its overflow limit."""
    compiled = duty.compiled
    until = duty.unavailable_until
    if until is not None and context.at < until and lane in compiled.unavailable_lanes:
        return Step(unit_id, RoutingRule.UNIT_UNAVAILABLE,
                    f"déclarée indisponible jusqu'au {until:%Y-%m-%dT%H:%MZ}")
    if duty.off_step is not None and lane in compiled.hours_lanes:
        return duty.off_step
    limit = compiled.overflow_limit
    if limit is not None and lane in compiled.overflow_lanes:
        scaled = max(1, math.ceil(limit * context.share))
        held = context.open_alerts.get(unit_id, 0)
        if held >= scaled:
            share = f" (part de ce worker sur {limit})" if scaled != limit else ""
            return Step(unit_id, RoutingRule.OVERFLOW,
                        f"{held} alertes urgentes non prises en compte, limite {scaled}{share}")
    return None


def resolve(unit_id: str, lane: Lane, ref: ReferenceSnapshot, context: RoutingContext) -> Route:
    """The unit that takes an event of ``lane`` first meant for ``unit_id``, and the chain.

    Each unit is checked by ``_blocking``; one that passes takes the event, otherwise its
    fallback is tried. A unit without rules is on duty round the clock and has no fallback.
    The common case (the competent unit takes it) costs one memo lookup and returns a
    shared ``Route``.
    """
    at, minute = context.at, context.minute
    duty = _duty(ref, unit_id, at, minute)
    step = _blocking(unit_id, duty, lane, context)
    if step is None:
        return duty.taken
    # Diverted: a chain that read neither a load nor an availability still in force is the
    # same for the whole minute (the night's alerts), so the snapshot keeps it.
    memo = ref.memo
    key = ("route", unit_id, lane, minute)
    cached: Route | None = memo.get(key)
    if cached is not None:
        return cached
    version = duty.compiled.version
    steps = [step]
    minute_start = minute * 60
    static = True
    taker: str | None = None
    while True:
        static = static and _static(duty, lane, minute_start)
        nxt = duty.compiled.fallback_unit_id
        if (nxt is None or any(s.unit_id == nxt for s in steps) or nxt not in ref.units
                or len(steps) >= MAX_CHAIN):
            break
        duty = _duty(ref, nxt, at, minute)
        step = _blocking(nxt, duty, lane, context)
        if step is None:
            static = static and _static(duty, lane, minute_start)
            taker = nxt
            break
        steps.append(step)
    route = Route(taker, tuple(steps), version, shared=static)
    if static:
        remember(memo, key, route)
    return route


def _static(duty: _Duty, lane: Lane, minute_start: int) -> bool:
    """Whether the unit's answer holds for every context in this minute (no overflow limit
    on the lane, no unavailability ending after the minute starts)."""
    compiled = duty.compiled
    if compiled.overflow_limit is not None and lane in compiled.overflow_lanes:
        return False
    until = duty.unavailable_until
    return until is None or until.timestamp() <= minute_start


def rules_at(unit_id: str, ref: ReferenceSnapshot, at: datetime) -> CompiledRules:
    """The unit's rules in force at ``at`` (its local date), compiled."""
    return _duty(ref, unit_id, at, int(at.timestamp() // 60)).compiled


def on_duty_text(unit_id: str, ref: ReferenceSnapshot, at: datetime) -> str:
    """How the unit that takes the event stands at ``at`` (for explanations, in French)."""
    duty = _duty(ref, unit_id, at, int(at.timestamp() // 60))
    compiled, off = duty.compiled, duty.off
    if compiled.rules is None:
        return f"{unit_id} le prend (sans règles d'acheminement : de service 24 h/24)"
    if compiled.round_the_clock:
        return f"{unit_id} le prend (de service 24 h/24)"
    if off is not None:  # on duty for this lane because the hours do not apply to it
        return (f"{unit_id} le prend (hors service : {off[1]} ; ses horaires ne "
                f"s'appliquent pas à ce couloir)")
    return f"{unit_id} le prend (de service)"

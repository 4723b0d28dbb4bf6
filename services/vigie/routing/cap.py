"""What an event may reach, by its CAP 1.2 ``status``: the one home of the sandbox rule.

CAP 1.2 says who may act on a message of each status:

- ``Actual``: a real event. Delivered as the routing decides, alerts escalate.
- ``Exercise``: "actionable only by designated exercise participants". Delivered only to the
  units taking part in an exercise in force at the decision's time (``UnitRules.exercises``,
  reference data loaded by operations); an urgent alert escalates only when the exercise
  says so (``ExerciseWindow.escalate``), and then only to command centres taking part. When
  no destination takes part, the event goes to the partner's sandbox like a TEST.
- ``Test``: "technical testing only, all recipients disregard". Never delivered to a unit:
  validated, placed and routed as usual, then the routed copies go to the partner's own
  sandbox topic (``partner.<p>.sandbox.v1``) and the acknowledgement says what would have
  happened. No escalation timer.
- ``System`` and ``Draft`` are not in the contract (``EventStatus``): a landlord has no
  network messages to send, and a draft is not sent. Adding a symbol later would be read as
  ``ACTUAL`` by older workers (the enum's default), so it needs this rule first.

Pure: the status, the decision's units, the reference snapshot and the time. The pipeline's
processors (intake, escalation, status) apply it; nothing else decides where a TEST goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from vigie.contracts.enums import EventStatus, Force
from vigie.contracts.models import ExerciseWindow
from vigie.contracts.reasons import ReasonCode
from vigie.reference.snapshot import ReferenceSnapshot
from vigie.routing.chain import rules_at

#: How a force is named to partners and units.
FORCE_FR = {Force.PN: "police nationale", Force.GN: "gendarmerie nationale"}


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where the routed copies of one event go, and whether its alert timer may run."""

    #: Units that receive the event on their own topics.
    units: tuple[str, ...]
    #: True: no unit receives it; the copies go to the partner's sandbox topic.
    sandbox: bool = False
    #: Whether an alert of this event may escalate when nobody takes it in charge.
    escalates: bool = True
    #: Units the routing chose that do not receive it (all of them for a TEST).
    left_out: tuple[str, ...] = ()
    #: Why the copies went to the sandbox (``TEST_EVENT``, ``NOT_IN_EXERCISE``), else None.
    reason: ReasonCode | None = None


def exercises_of(unit_id: str, ref: ReferenceSnapshot, at: datetime) -> list[ExerciseWindow]:
    """The exercises the unit takes part in at ``at`` (its rules in force that day)."""
    rules = rules_at(unit_id, ref, at).rules
    if rules is None:
        return []
    return [window for window in rules.exercises if window.covers(at)]


def delivery(status: EventStatus, units: Sequence[str], ref: ReferenceSnapshot,
             at: datetime) -> Delivery:
    """Which of the ``units`` the routing chose receive an event of this CAP status at
    ``at`` (the decision's time, that of the routing rules)."""
    chosen = tuple(units)
    if status is EventStatus.TEST:
        return Delivery((), sandbox=True, escalates=False, left_out=chosen,
                        reason=ReasonCode.TEST_EVENT)
    if status is not EventStatus.EXERCISE:
        return Delivery(chosen)
    windows = {unit: exercises_of(unit, ref, at) for unit in chosen}
    taking_part = tuple(unit for unit in chosen if windows[unit])
    left_out = tuple(unit for unit in chosen if not windows[unit])
    if not taking_part:
        return Delivery((), sandbox=True, escalates=False, left_out=left_out,
                        reason=ReasonCode.NOT_IN_EXERCISE)
    escalates = any(window.escalate for unit in taking_part for window in windows[unit])
    return Delivery(taking_part, escalates=escalates, left_out=left_out)


def escalation_targets(status: EventStatus, centres: Sequence[str], ref: ReferenceSnapshot,
                       at: datetime) -> list[str]:
    """The command centres an unanswered alert of this status escalates to: all of them for
    a real event, those taking part in an exercise for an EXERCISE one (an exercise that
    escalates lists its centres), none for a TEST (which has no timer anyway)."""
    return list(delivery(status, centres, ref, at).units)


def sandbox_text(result: Delivery, force: Force | None, note: ReasonCode | None = None) -> str:
    """The French text of a sandbox acknowledgement: why no unit got it, and what would have
    happened (units and force), from codes and reference data only."""
    assert result.reason is not None
    text = result.reason.message_fr
    if result.left_out:
        text += f" Unités désignées par l'acheminement : {', '.join(result.left_out)}"
        text += f" ({FORCE_FR[force]})." if force is not None else "."
    if note is not None:
        text += f" Remarque : {note.message_fr}"
    return text

"""Which acknowledgement statuses a partner may see for one event id, and in which order.

Pure domain logic: no Kafka, no clock, no I/O. The intake, the status relay and the
escalation agent ask these functions before they publish an acknowledgement, and the
end-to-end tests use :func:`check_sequence` to assert that every sequence a partner observed
on ``partner.<id>.acks.v1`` is allowed. One explicit table, :data:`TRANSITIONS`, is the single
source of truth; docs/acknowledgements.md draws the same table as a state diagram.

Vocabulary used below:

* *status*: one :class:`~vigie.contracts.enums.AckStatus` carried by one acknowledgement;
* *state*: where an event stands, i.e. the last status other than ``DUPLICATE``. ``DUPLICATE``
  is never a state: it answers a re-sent message and repeats the first outcome, so it may
  appear at any point after that outcome without moving the event forward or backward.

Decisions taken here (why, in short; the long form is in docs/acknowledgements.md):

* ``DUPLICATE`` is never first: something must already be known about the event id for a
  message to be a duplicate of it. ``REJECTED`` and ``EXPIRED`` are final, so a partner that
  corrects a rejected event sends it under a new event id.
* ``ESCALATED`` is allowed only straight after ``ROUTED``: any status from a unit proves the
  force has reacted and cancels the alert timer, and allowing it nowhere else makes "at most
  once" a property of the table rather than of a counter.
* ``PATROL_DISPATCHED`` may come straight after ``ROUTED`` (a patrol may leave before anyone
  formally takes the case) and then counts as taking in charge: a later ``TAKEN_IN_CHARGE``
  is refused, because the sequence must never appear to go backwards to the partner.
* A status a unit repeats (``TAKEN_IN_CHARGE`` twice, ``CLOSED`` after ``CLOSED``) is refused:
  it tells the partner nothing new; the relay treats it as an idempotent no-op.
* While a transfer is pending (``TRANSFER_REQUESTED``), only Vigie speaks (``TRANSFERRED``);
  after ``TRANSFERRED`` the statuses start over from the new unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType

from vigie.contracts.enums import AckStatus, ForceStatus

_A = AckStatus

#: What the intake stage answers for one input message; exactly one per message. ``DUPLICATE``
#: is one of them, but never the first for an event id (see :data:`FIRST_OUTCOMES`).
ROUTING_OUTCOMES: frozenset[AckStatus] = frozenset(
    {_A.ROUTED, _A.REJECTED, _A.EXPIRED, _A.DUPLICATE}
)

#: The outcomes that may open the sequence of an event id: the event's own routing outcome.
FIRST_OUTCOMES: frozenset[AckStatus] = frozenset({_A.ROUTED, _A.REJECTED, _A.EXPIRED})

#: Statuses after which nothing but ``DUPLICATE`` may follow.
FINAL_STATES: frozenset[AckStatus] = frozenset({_A.REJECTED, _A.EXPIRED, _A.CLOSED})

#: Statuses that Vigie itself issues; the others relay what a unit said.
ISSUED_BY_VIGIE: frozenset[AckStatus] = frozenset(
    {_A.ROUTED, _A.REJECTED, _A.EXPIRED, _A.DUPLICATE, _A.ESCALATED, _A.TRANSFERRED}
)

#: A force status becomes the acknowledgement status of the same name.
FORCE_TO_ACK: Mapping[ForceStatus, AckStatus] = MappingProxyType(
    {
        ForceStatus.TAKEN_IN_CHARGE: _A.TAKEN_IN_CHARGE,
        ForceStatus.PATROL_DISPATCHED: _A.PATROL_DISPATCHED,
        ForceStatus.CLOSED: _A.CLOSED,
        ForceStatus.TRANSFER_REQUESTED: _A.TRANSFER_REQUESTED,
    }
)

# What a unit may still say while the event is with it and not closed.
_UNIT_REACTIONS = frozenset(
    {_A.TAKEN_IN_CHARGE, _A.PATROL_DISPATCHED, _A.TRANSFER_REQUESTED, _A.CLOSED}
)

#: The transition table: state (``None`` = nothing sent yet) -> statuses allowed next.
#: ``DUPLICATE`` is allowed after every state but ``None`` and never changes the state.
TRANSITIONS: Mapping[AckStatus | None, frozenset[AckStatus]] = MappingProxyType(
    {
        None: FIRST_OUTCOMES,
        _A.ROUTED: _UNIT_REACTIONS | {_A.ESCALATED, _A.DUPLICATE},
        _A.REJECTED: frozenset({_A.DUPLICATE}),
        _A.EXPIRED: frozenset({_A.DUPLICATE}),
        _A.ESCALATED: _UNIT_REACTIONS | {_A.DUPLICATE},
        _A.TAKEN_IN_CHARGE: frozenset(
            {_A.PATROL_DISPATCHED, _A.TRANSFER_REQUESTED, _A.CLOSED, _A.DUPLICATE}
        ),
        _A.PATROL_DISPATCHED: frozenset({_A.TRANSFER_REQUESTED, _A.CLOSED, _A.DUPLICATE}),
        _A.TRANSFER_REQUESTED: frozenset({_A.TRANSFERRED, _A.DUPLICATE}),
        _A.TRANSFERRED: _UNIT_REACTIONS | {_A.DUPLICATE},
        _A.CLOSED: frozenset({_A.DUPLICATE}),
        # Not a state: the real state is unknown here, so only another duplicate is safe.
        _A.DUPLICATE: frozenset({_A.DUPLICATE}),
    }
)


def is_allowed(previous: AckStatus | None, nxt: AckStatus) -> bool:
    """Whether ``nxt`` may follow the state ``previous`` (``None``: nothing sent yet).

    ``previous`` is the event's state, the last status other than ``DUPLICATE`` (see
    :func:`current_state`); given ``DUPLICATE`` it allows only another ``DUPLICATE``, since the
    state it stands for is unknown.
    """
    return nxt in TRANSITIONS[previous]


def current_state(statuses: Iterable[AckStatus]) -> AckStatus | None:
    """The state reached after ``statuses``: the last one that is not ``DUPLICATE``.

    It does not check the sequence; call :func:`check_sequence` for that.
    """
    state: AckStatus | None = None
    for status in statuses:
        if status is not AckStatus.DUPLICATE:
            state = status
    return state


def check_sequence(statuses: Sequence[AckStatus]) -> list[str]:
    """Every problem in the sequence of statuses one event id received; empty if allowed.

    A forbidden status is reported and then ignored, so each later status is judged against
    the last accepted state: one wrong acknowledgement yields one message, not a cascade.
    """
    problems: list[str] = []
    state: AckStatus | None = None
    for index, status in enumerate(statuses):
        if is_allowed(state, status):
            if status is not AckStatus.DUPLICATE:
                state = status
            continue
        after = "as the first status" if state is None else f"after {state.value}"
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[state]))
        problems.append(
            f"#{index} {status.value} is not allowed {after} (allowed: {allowed or 'none'})"
        )
    return problems


def terminal_routing_outcome(statuses: Iterable[AckStatus]) -> AckStatus | None:
    """The event's routing outcome: the first ``ROUTED``, ``REJECTED`` or ``EXPIRED`` seen.

    ``DUPLICATE`` only repeats that outcome, so it is skipped; ``None`` means the intake has
    not answered yet (or only duplicates were observed, which :func:`check_sequence` flags).
    """
    for status in statuses:
        if status in FIRST_OUTCOMES:
            return status
    return None


def accept_force_status(current: AckStatus, status: ForceStatus) -> bool:
    """Whether the relay should turn a unit's ``status`` into an acknowledgement.

    ``current`` is the event's state. ``False`` means drop it (and count it): a repeat, a
    step backwards, a status about an event that was never routed, or one sent while a
    transfer is pending. Whether *this* unit may speak for the event is checked elsewhere.
    """
    return is_allowed(current, FORCE_TO_ACK[status])


def escalation_deadline(routed_at: datetime, delay: timedelta) -> datetime:
    """When an urgent alert routed at ``routed_at`` must have been taken in charge."""
    if delay <= timedelta(0):
        raise ValueError(f"escalation delay must be positive, got {delay}")
    return routed_at + delay


def escalation_due(state: AckStatus | None, deadline: float | None, now: float) -> bool:
    """Whether an urgent alert must now be escalated to the command centre.

    ``deadline`` is the alert's ``escalation_deadline`` (epoch seconds; None once a unit
    reacted or the partner cancelled). Any accepted unit status is a reaction (a dispatched
    patrol or a transfer request too), and the table allows ``ESCALATED`` only straight after
    ``ROUTED``: an alert already answered, transferred or escalated is never due, whatever
    its deadline says. Due from the deadline included, so a timer firing exactly on time
    escalates. The clock is passed in, never read here, so tests and replays are exact.
    """
    return (deadline is not None and deadline <= now and state is not None
            and is_allowed(state, _A.ESCALATED))

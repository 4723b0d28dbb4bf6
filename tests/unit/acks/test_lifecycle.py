"""The acknowledgement lifecycle, checked against an independent copy of the rules.

The expected transitions are written out again here, by hand, rather than read from
``TRANSITIONS``: a test that derives its expectations from the table under test could not
catch a wrong edit to that table.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from vigie.acks import (
    FINAL_STATES,
    FIRST_OUTCOMES,
    FORCE_TO_ACK,
    ROUTING_OUTCOMES,
    TRANSITIONS,
    accept_force_status,
    check_sequence,
    current_state,
    escalation_deadline,
    escalation_due,
    is_allowed,
    terminal_routing_outcome,
)
from vigie.contracts.enums import AckStatus, ForceStatus

A = AckStatus
R, REJ, EXP, DUP = A.ROUTED, A.REJECTED, A.EXPIRED, A.DUPLICATE
ESC, TIC, PAT = A.ESCALATED, A.TAKEN_IN_CHARGE, A.PATROL_DISPATCHED
TRQ, TRF, CLO = A.TRANSFER_REQUESTED, A.TRANSFERRED, A.CLOSED

ALLOWED: set[tuple[AckStatus | None, AckStatus]] = {
    (None, R),
    (None, REJ),
    (None, EXP),
    (R, ESC),
    (R, TIC),
    (R, PAT),
    (R, TRQ),
    (R, CLO),
    (R, DUP),
    (REJ, DUP),
    (EXP, DUP),
    (ESC, TIC),
    (ESC, PAT),
    (ESC, TRQ),
    (ESC, CLO),
    (ESC, DUP),
    (TIC, PAT),
    (TIC, TRQ),
    (TIC, CLO),
    (TIC, DUP),
    (PAT, TRQ),
    (PAT, CLO),
    (PAT, DUP),
    (TRQ, TRF),
    (TRQ, DUP),
    (TRF, TIC),
    (TRF, PAT),
    (TRF, TRQ),
    (TRF, CLO),
    (TRF, DUP),
    (CLO, DUP),
    (DUP, DUP),
}


def _seq_id(value: object) -> str | None:
    """Readable test ids for sequences of statuses; pytest's default for the rest."""
    if isinstance(value, list) and all(isinstance(s, AckStatus) for s in value):
        return "-".join(s.value for s in value) or "empty"
    return None


PREVIOUS: list[AckStatus | None] = [None, *AckStatus]
ALL_PAIRS = list(itertools.product(PREVIOUS, AckStatus))


def _id(pair: tuple[AckStatus | None, AckStatus]) -> str:
    previous, nxt = pair
    return f"{previous.value if previous else 'START'}->{nxt.value}"


@pytest.mark.parametrize("pair", [p for p in ALL_PAIRS if p in ALLOWED], ids=_id)
def test_every_allowed_transition(pair: tuple[AckStatus | None, AckStatus]) -> None:
    assert is_allowed(*pair)


@pytest.mark.parametrize("pair", [p for p in ALL_PAIRS if p not in ALLOWED], ids=_id)
def test_every_other_transition_is_forbidden(pair: tuple[AckStatus | None, AckStatus]) -> None:
    assert not is_allowed(*pair)


def test_table_has_a_row_for_every_state() -> None:
    assert set(TRANSITIONS) == set(PREVIOUS)


@pytest.mark.parametrize(
    ("previous", "nxt", "why"),
    [
        (None, DUP, "a duplicate needs an earlier outcome"),
        (None, TIC, "nothing happens before routing"),
        (None, ESC, "nothing happens before routing"),
        (R, R, "one routing outcome per event"),
        (R, REJ, "a routed event cannot be rejected afterwards"),
        (R, EXP, "expiry only matters before routing"),
        (R, TRF, "a transfer is always requested first"),
        (REJ, R, "REJECTED is final"),
        (REJ, TIC, "REJECTED is final"),
        (EXP, R, "EXPIRED is final"),
        (ESC, ESC, "escalation happens at most once"),
        (TIC, ESC, "no escalation once taken in charge"),
        (PAT, ESC, "a dispatched patrol is a reaction"),
        (TRF, ESC, "escalation only follows ROUTED: at most once"),
        (TIC, TIC, "a repeated status says nothing new"),
        (PAT, PAT, "a repeated status says nothing new"),
        (PAT, TIC, "a patrol already means taken in charge"),
        (TRQ, CLO, "while a transfer is pending only Vigie speaks"),
        (TRQ, TIC, "while a transfer is pending only Vigie speaks"),
        (TRQ, TRQ, "a transfer is requested once"),
        (TRF, TRF, "a transfer needs a new request"),
        (CLO, CLO, "CLOSED is final"),
        (CLO, TIC, "CLOSED is final"),
        (CLO, TRQ, "CLOSED is final"),
        (DUP, TIC, "DUPLICATE is not a state"),
    ],
)
def test_forbidden_sample(previous: AckStatus | None, nxt: AckStatus, why: str) -> None:
    assert not is_allowed(previous, nxt), why


def test_outcome_sets() -> None:
    assert set(ROUTING_OUTCOMES) == {R, REJ, EXP, DUP}
    assert set(FIRST_OUTCOMES) == {R, REJ, EXP}
    assert set(FINAL_STATES) == {REJ, EXP, CLO}
    for final in FINAL_STATES:
        assert TRANSITIONS[final] == {DUP}


@pytest.mark.parametrize(
    "sequence",
    [
        [R],
        [REJ],
        [EXP],
        [R, DUP],
        [REJ, DUP, DUP],
        [EXP, DUP],
        [R, TIC, PAT, CLO],
        [R, PAT, CLO],
        [R, CLO, DUP],
        [R, ESC, TIC, CLO],
        [R, ESC, PAT, TRQ, TRF, TIC, CLO],
        [R, TIC, TRQ, TRF, TIC, PAT, CLO],
        [R, TRQ, TRF, TRQ, TRF, CLO],
        [R, DUP, TIC, DUP, PAT, DUP, CLO, DUP],
        [R, TRQ, DUP, TRF, DUP, PAT],
    ],
    ids=_seq_id,
)
def test_allowed_sequences(sequence: list[AckStatus]) -> None:
    assert check_sequence(sequence) == []


@pytest.mark.parametrize(
    ("sequence", "bad_indexes"),
    [
        ([DUP], [0]),
        ([DUP, R], [0]),
        ([R, R], [1]),
        ([R, REJ], [1]),
        ([REJ, R, TIC], [1, 2]),
        ([R, ESC, TIC, ESC], [3]),
        ([R, ESC, TRQ, TRF, ESC], [4]),
        ([R, CLO, CLO], [2]),
        ([R, CLO, TIC, CLO], [2, 3]),
        ([R, PAT, TIC], [2]),
        ([R, TRQ, CLO, TRF], [2]),
        ([TIC], [0]),
        ([R, TRF], [1]),
    ],
    ids=_seq_id,
)
def test_forbidden_sequences(sequence: list[AckStatus], bad_indexes: list[int]) -> None:
    problems = check_sequence(sequence)
    assert [int(p.split()[0].lstrip("#")) for p in problems] == bad_indexes
    for problem, index in zip(problems, bad_indexes, strict=True):
        assert sequence[index].value in problem


def test_problem_message_says_what_was_expected() -> None:
    (problem,) = check_sequence([R, CLO, TIC])
    assert problem == "#2 TAKEN_IN_CHARGE is not allowed after CLOSED (allowed: DUPLICATE)"
    (first,) = check_sequence([DUP])
    assert "as the first status" in first


def test_empty_sequence_is_allowed() -> None:
    assert check_sequence([]) == []


@pytest.mark.parametrize(
    ("sequence", "state"),
    [([], None), ([R], R), ([R, DUP], R), ([R, TIC, DUP, DUP], TIC), ([DUP], None)],
)
def test_current_state_skips_duplicates(sequence: list[AckStatus], state: AckStatus | None) -> None:
    assert current_state(sequence) == state


@pytest.mark.parametrize(
    ("sequence", "outcome"),
    [
        ([], None),
        ([R, TIC, CLO], R),
        ([REJ, DUP], REJ),
        ([EXP], EXP),
        ([DUP], None),
        ([DUP, R], R),
    ],
)
def test_terminal_routing_outcome(sequence: list[AckStatus], outcome: AckStatus | None) -> None:
    assert terminal_routing_outcome(sequence) == outcome


def test_every_force_status_has_an_ack() -> None:
    assert set(FORCE_TO_ACK) == set(ForceStatus)
    for force_status, ack in FORCE_TO_ACK.items():
        assert ack.value == force_status.value


F = ForceStatus


@pytest.mark.parametrize(
    ("current", "status", "accepted"),
    [
        (R, F.TAKEN_IN_CHARGE, True),
        (R, F.PATROL_DISPATCHED, True),  # a patrol may be sent straight away
        (R, F.CLOSED, True),  # e.g. nothing found on site
        (R, F.TRANSFER_REQUESTED, True),
        (ESC, F.TAKEN_IN_CHARGE, True),
        (TIC, F.PATROL_DISPATCHED, True),
        (TIC, F.CLOSED, True),
        (PAT, F.CLOSED, True),
        (PAT, F.TRANSFER_REQUESTED, True),
        (TRF, F.TAKEN_IN_CHARGE, True),
        (TRF, F.TRANSFER_REQUESTED, True),
        (CLO, F.CLOSED, False),
        (CLO, F.TAKEN_IN_CHARGE, False),
        (TIC, F.TAKEN_IN_CHARGE, False),
        (PAT, F.TAKEN_IN_CHARGE, False),
        (PAT, F.PATROL_DISPATCHED, False),
        (TRQ, F.CLOSED, False),
        (TRQ, F.TRANSFER_REQUESTED, False),
        (REJ, F.TAKEN_IN_CHARGE, False),
        (EXP, F.CLOSED, False),
        (DUP, F.CLOSED, False),
    ],
)
def test_accept_force_status(current: AckStatus, status: ForceStatus, accepted: bool) -> None:
    assert accept_force_status(current, status) is accepted


ROUTED_AT = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
DELAY = timedelta(minutes=5)


@pytest.mark.parametrize(
    ("state", "elapsed", "due"),
    [
        (AckStatus.ROUTED, timedelta(0), False),
        (AckStatus.ROUTED, timedelta(minutes=4, seconds=59), False),
        (AckStatus.ROUTED, DELAY, True),  # the deadline itself is due
        (AckStatus.ROUTED, timedelta(hours=1), True),
        (AckStatus.ROUTED, -timedelta(seconds=1), False),  # clock skew: never escalate early
        # Any reaction of a unit, a transfer or an escalation already made: never due.
        (AckStatus.TAKEN_IN_CHARGE, timedelta(hours=1), False),
        (AckStatus.PATROL_DISPATCHED, timedelta(hours=1), False),
        (AckStatus.TRANSFER_REQUESTED, timedelta(hours=1), False),
        (AckStatus.ESCALATED, timedelta(hours=1), False),
        (None, timedelta(hours=1), False),
    ],
)
def test_escalation_due(state: AckStatus | None, elapsed: timedelta, due: bool) -> None:
    deadline = escalation_deadline(ROUTED_AT, DELAY).timestamp()
    now = (ROUTED_AT + elapsed).timestamp()
    assert escalation_due(state, deadline, now) is due
    assert escalation_due(state, None, now) is False  # no open deadline, nothing to escalate


def test_escalation_deadline_and_bad_delay() -> None:
    assert escalation_deadline(ROUTED_AT, DELAY) == ROUTED_AT + DELAY
    with pytest.raises(ValueError):
        escalation_deadline(ROUTED_AT, timedelta(0))
    with pytest.raises(ValueError):
        escalation_deadline(ROUTED_AT, -DELAY)

"""The CAP status rule (``vigie.routing.cap``): what a TEST, an EXERCISE and an ACTUAL event
may reach, and where an exercise's unanswered alert may escalate."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import unit_rules
from tests.stages import NOW
from vigie.contracts.enums import EventStatus, Force
from vigie.contracts.models import ExerciseWindow
from vigie.contracts.reasons import ReasonCode
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.cap import delivery, escalation_targets, exercises_of, sandbox_text


def _exercise(name: str = "EXO-OISE", *, escalate: bool = False,
              start: timedelta = timedelta(hours=-1),
              end: timedelta = timedelta(hours=2)) -> ExerciseWindow:
    return ExerciseWindow(name=name, start=NOW + start, end=NOW + end, escalate=escalate)


def _store(**exercises: list[ExerciseWindow]) -> ReferenceStore:
    """The default reference data, with these units taking part in these exercises."""
    store = ReferenceStore.with_defaults()
    for unit_id, windows in exercises.items():
        store.upsert_rules(unit_rules(unit_id.replace("_", "-"), exercises=windows))
    return store


def test_an_actual_event_reaches_every_unit_and_escalates() -> None:
    sent = delivery(EventStatus.ACTUAL, ["gn-bt-meru"], _store().snapshot(), NOW)
    assert (sent.units, sent.sandbox, sent.escalates, sent.reason) == (
        ("gn-bt-meru",), False, True, None)


def test_a_test_event_reaches_no_unit_even_one_in_an_exercise() -> None:
    store = _store(gn_bt_meru=[_exercise(escalate=True)])
    sent = delivery(EventStatus.TEST, ["gn-bt-meru"], store.snapshot(), NOW)
    assert (sent.units, sent.sandbox, sent.escalates, sent.left_out, sent.reason) == (
        (), True, False, ("gn-bt-meru",), ReasonCode.TEST_EVENT)


def test_an_exercise_reaches_only_the_units_taking_part_now() -> None:
    store = _store(gn_bt_meru=[_exercise()],
                   gn_cie_meru=[_exercise(start=timedelta(hours=1))])  # not started yet
    sent = delivery(EventStatus.EXERCISE, ["gn-bt-meru", "gn-cie-meru", "gn-corg-oise"],
                    store.snapshot(), NOW)
    assert (sent.units, sent.left_out, sent.sandbox, sent.escalates) == (
        ("gn-bt-meru",), ("gn-cie-meru", "gn-corg-oise"), False, False)


def test_an_exercise_escalates_only_when_it_says_so() -> None:
    store = _store(gn_bt_meru=[_exercise("A"), _exercise("B", escalate=True)])
    assert delivery(EventStatus.EXERCISE, ["gn-bt-meru"], store.snapshot(), NOW).escalates


def test_an_exercise_nobody_takes_part_in_goes_to_the_sandbox() -> None:
    store = _store(gn_bt_meru=[_exercise(end=timedelta(seconds=-1))])  # over
    sent = delivery(EventStatus.EXERCISE, ["gn-bt-meru"], store.snapshot(), NOW)
    assert (sent.units, sent.sandbox, sent.escalates, sent.reason) == (
        (), True, False, ReasonCode.NOT_IN_EXERCISE)
    assert exercises_of("gn-bt-meru", store.snapshot(), NOW) == []


def test_an_exercise_alert_escalates_only_to_centres_taking_part() -> None:
    store = _store(gn_corg_oise=[_exercise(escalate=True)])
    snapshot = store.snapshot()
    centres = ["gn-corg-oise", "pn-cic-oise"]
    assert escalation_targets(EventStatus.EXERCISE, centres, snapshot, NOW) == ["gn-corg-oise"]
    assert escalation_targets(EventStatus.ACTUAL, centres, snapshot, NOW) == centres
    assert escalation_targets(EventStatus.TEST, centres, snapshot, NOW) == []


def test_the_sandbox_text_says_what_would_have_happened_in_french() -> None:
    sent = delivery(EventStatus.TEST, ["gn-bt-meru"], _store().snapshot(), NOW)
    text = sandbox_text(sent, Force.GN, ReasonCode.UNKNOWN_SITE)
    assert text == (
        "Événement de test (statut CAP « Test ») : traité de bout en bout, puis remis au bac à "
        "sable du bailleur ; aucune unité ne l'a reçu. Unités désignées par l'acheminement : "
        "gn-bt-meru (gendarmerie nationale). Remarque : Site (résidence) inconnu.")

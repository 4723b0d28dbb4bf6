"""The rule chain at its edges: opening and closing minutes, the nights of a daylight-saving
change, public holidays, unavailable units, the overflow limit, and units without fallback.

Times are written in Paris local time with their offset, as an operator would read them. Méru
(60395) is gendarmerie zone, its brigade ``gn-bt-meru`` falls back to ``gn-cie-meru``, then
to the CORG; Creil (60175) is police zone (a circonscription, on duty round the clock).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.factories import partner_event, unit_availability, unit_rules
from vigie.contracts.enums import Category, DecisionStatus, Force, Lane, RoutingRule
from vigie.contracts.models import ServiceWindow, UnitAvailability, UnitRules
from vigie.reference.rules import load_rules_file
from vigie.reference.snapshot import ReferenceSnapshot, ReferenceStore
from vigie.routing.chain import RoutingContext, resolve
from vigie.routing.policy import decide, escalation_route, transfer

MERU, CREIL = "60395", "60175"
BRIGADE, COMPANY, CORG, CIC = "gn-bt-meru", "gn-cie-meru", "gn-corg-oise", "pn-cic-oise"
RULES = load_rules_file()
DEFAULT = ReferenceStore.with_defaults().snapshot()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def alert(insee: str, when: datetime, category: Category = Category.STAFF_THREAT):
    return partner_event(insee=insee, category=category, sent_at=when - timedelta(seconds=5),
                         occurred_at=when - timedelta(minutes=2))


def route(insee: str, when: str, *, ref: ReferenceSnapshot = DEFAULT,
          category: Category = Category.STAFF_THREAT, open_alerts: dict | None = None,
          share: float = 1.0):
    moment = at(when)
    context = RoutingContext(at=moment, open_alerts=open_alerts or {}, share=share)
    return decide(alert(insee, moment, category), ref, context).decision


def store_with(*rules: UnitRules, availability: tuple[UnitAvailability, ...] = ()
               ) -> ReferenceSnapshot:
    store = ReferenceStore.with_defaults()
    for record in rules:
        store.upsert_rules(record)
    for declared in availability:
        store.set_availability(declared)
    return store.snapshot()


def unavailable(unit_id: str, until: str | None) -> UnitAvailability:
    return unit_availability(unit_id, at(until) if until else None)


# -- service hours: the minute a brigade opens and closes -----------------------------------
@pytest.mark.parametrize(
    ("when", "unit", "rule"),
    [
        # Monday 30 November 2026 (a working day): 08:00-12:00 and 14:00-18:00.
        ("2026-11-30T07:59+01:00", CORG, RoutingRule.OUTSIDE_HOURS),
        ("2026-11-30T08:00+01:00", BRIGADE, None),
        ("2026-11-30T11:59+01:00", BRIGADE, None),
        ("2026-11-30T12:00+01:00", CORG, RoutingRule.OUTSIDE_HOURS),
        ("2026-11-30T13:59+01:00", CORG, RoutingRule.OUTSIDE_HOURS),
        ("2026-11-30T14:00+01:00", BRIGADE, None),
        ("2026-11-30T17:59+01:00", BRIGADE, None),
        ("2026-11-30T18:00+01:00", CORG, RoutingRule.OUTSIDE_HOURS),
        # The night of issue 15: Sunday 29 November 2026 at 02:00.
        ("2026-11-29T02:00+01:00", CORG, RoutingRule.OUTSIDE_HOURS),
        # Sundays open 09:00-12:00 and 15:00-18:00.
        ("2026-11-29T08:59+01:00", CORG, RoutingRule.OUTSIDE_HOURS),
        ("2026-11-29T09:00+01:00", BRIGADE, None),
        ("2026-11-29T14:59+01:00", CORG, RoutingRule.OUTSIDE_HOURS),
        ("2026-11-29T15:00+01:00", BRIGADE, None),
    ],
)
def test_brigade_hours_at_the_minute(when: str, unit: str, rule: RoutingRule | None) -> None:
    d = route(MERU, when)
    assert d.units == [unit] and d.status is DecisionStatus.ROUTED
    assert d.competent_unit_id == BRIGADE and d.force is Force.GN
    assert d.routing_rule == (rule.value if rule else None)
    assert d.rules_version == RULES.version


def test_a_diverted_alert_names_every_unit_passed_over() -> None:
    d = route(MERU, "2026-11-29T02:00+01:00")
    assert "gn-bt-meru OUTSIDE_HOURS (dim. 2026-11-29 02:00 CET" in d.explanation
    assert "gn-cie-meru OUTSIDE_HOURS" in d.explanation
    assert d.explanation.endswith("gn-corg-oise le prend (de service 24 h/24)")


def test_a_saturday_brigade_is_open_while_its_compagnie_is_not() -> None:
    assert route(MERU, "2026-11-28T10:00+01:00").units == [BRIGADE]


@pytest.mark.parametrize("when", ["2026-11-29T02:00+01:00", "2026-11-30T12:30+01:00"])
def test_incidents_wait_for_the_brigade(when: str) -> None:
    """Service hours divert urgent alerts only (default lanes): an incident goes to the
    brigade's incident topic and waits for it to open."""
    d = route(MERU, when, category=Category.GRAFFITI)
    assert d.lane is Lane.INCIDENT
    assert d.units == [BRIGADE] and d.routing_rule is None and d.competent_unit_id == BRIGADE


@pytest.mark.parametrize("when", ["2026-11-29T02:00+01:00", "2026-12-25T03:00+01:00"])
def test_police_circonscriptions_answer_round_the_clock(when: str) -> None:
    d = route(CREIL, when)
    assert d.units == ["pn-csp-creil"] and d.routing_rule is None


def test_hours_lanes_are_configurable_per_rule() -> None:
    ref = store_with(unit_rules(BRIGADE, hours_lanes=[Lane.ALERT, Lane.INCIDENT]))
    d = route(MERU, "2026-11-29T02:00+01:00", ref=ref, category=Category.GRAFFITI)
    # The brigade's rule now diverts incidents; the compagnie's still lets them wait.
    assert d.units == [COMPANY] and d.routing_rule == "OUTSIDE_HOURS"


# -- daylight-saving nights ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("when", "unit"),
    [
        # Sunday 29 March 2026, clocks go 02:00 CET -> 03:00 CEST. The brigade opens at 09:00
        # summer time: 07:00 UTC, not 08:00 UTC.
        ("2026-03-29T06:59+00:00", CORG),
        ("2026-03-29T07:00+00:00", BRIGADE),
        # Sunday 25 October 2026, clocks go 03:00 CEST -> 02:00 CET: 09:00 is 08:00 UTC.
        ("2026-10-25T07:59+00:00", CORG),
        ("2026-10-25T08:00+00:00", BRIGADE),
    ],
)
def test_daylight_saving_days_open_at_local_time(when: str, unit: str) -> None:
    assert route(MERU, when).units == [unit]


NIGHT_COVER = [ServiceWindow(days=["SUN"], start="00:00", end="03:00")]


@pytest.mark.parametrize(
    ("when", "on_duty"),
    [
        # Spring forward: 01:59 CET is followed by 03:00 CEST; the window 00:00-03:00 ends
        # one real minute after 01:59.
        ("2026-03-29T00:59+00:00", True),
        ("2026-03-29T01:00+00:00", False),
        # Fall back: 02:30 happens twice (CEST then CET), both inside 00:00-03:00; 03:00 CET
        # (02:00 UTC) is outside.
        ("2026-10-25T00:30+00:00", True),
        ("2026-10-25T01:30+00:00", True),
        ("2026-10-25T02:00+00:00", False),
    ],
)
def test_a_night_window_across_the_clock_change(when: str, on_duty: bool) -> None:
    ref = store_with(unit_rules(BRIGADE, hours=NIGHT_COVER))
    d = route(MERU, when, ref=ref)
    assert (d.units == [BRIGADE]) is on_duty


# -- public holidays ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("when", "unit", "rule"),
    [
        # Thursday 21 May 2026, a working day: open at 14:30.
        ("2026-05-21T14:30+02:00", BRIGADE, None),
        # Thursday 14 May 2026, Ascension Day: holiday hours, 15:00-18:00 in the afternoon.
        ("2026-05-14T14:30+02:00", CORG, RoutingRule.PUBLIC_HOLIDAY),
        ("2026-05-14T15:00+02:00", BRIGADE, None),
        # Christmas, a Friday: 08:30 would be open on a Friday, not on a holiday.
        ("2026-12-25T08:30+01:00", CORG, RoutingRule.PUBLIC_HOLIDAY),
        ("2026-12-25T09:00+01:00", BRIGADE, None),
    ],
)
def test_public_holiday_hours(when: str, unit: str, rule: RoutingRule | None) -> None:
    d = route(MERU, when)
    assert d.units == [unit] and d.routing_rule == (rule.value if rule else None)
    if rule is RoutingRule.PUBLIC_HOLIDAY:
        assert "jour férié (" in d.explanation


# -- unavailable units -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "when", "unit", "rules"),
    [
        # Monday 10:00: the compagnie is on duty and takes both lanes.
        (Category.STAFF_THREAT, "2026-11-30T10:00+01:00", COMPANY, ["UNIT_UNAVAILABLE"]),
        (Category.GRAFFITI, "2026-11-30T10:00+01:00", COMPANY, ["UNIT_UNAVAILABLE"]),
        # Saturday 10:00: the compagnie is closed, the alert goes on to the CORG...
        (Category.STAFF_THREAT, "2026-11-28T10:00+01:00", CORG,
         ["UNIT_UNAVAILABLE", "OUTSIDE_HOURS"]),
        # ...and so does the incident: the compagnie's hours apply to alerts only, so it
        # waits in the compagnie's topic.
        (Category.GRAFFITI, "2026-11-28T10:00+01:00", COMPANY, ["UNIT_UNAVAILABLE"]),
        # The declaration has ended: back to the brigade.
        (Category.STAFF_THREAT, "2026-11-30T20:00+01:00", CORG,
         ["OUTSIDE_HOURS", "OUTSIDE_HOURS"]),
    ],
)
def test_an_unavailable_brigade(category: Category, when: str, unit: str, rules: list[str]
                                ) -> None:
    ref = store_with(availability=(unavailable(BRIGADE, "2026-11-30T19:00+01:00"),))
    moment = at(when)
    context = RoutingContext(at=moment)
    d = decide(alert(MERU, moment, category), ref, context).decision
    assert d.units == [unit] and d.competent_unit_id == BRIGADE
    chain = resolve(BRIGADE, d.lane, ref, context)
    assert [s.rule.value for s in chain.steps] == rules
    assert d.routing_rule == rules[0]


def test_unavailable_until_the_minute_and_available_again() -> None:
    ref = store_with(availability=(unavailable(BRIGADE, "2026-11-30T11:00+01:00"),))
    assert route(MERU, "2026-11-30T10:59+01:00", ref=ref).units == [COMPANY]
    assert route(MERU, "2026-11-30T11:00+01:00", ref=ref).units == [BRIGADE]
    again = store_with(availability=(unavailable(BRIGADE, None),))
    assert route(MERU, "2026-11-30T10:59+01:00", ref=again).units == [BRIGADE]


def test_an_unavailable_command_centre_is_backed_up_by_the_other_force() -> None:
    ref = store_with(availability=(unavailable(CORG, "2026-11-30T06:00+01:00"),))
    d = route(MERU, "2026-11-30T02:00+01:00", ref=ref)
    assert d.units == [CIC] and d.force is Force.PN and d.competent_unit_id == BRIGADE
    assert d.routing_rule == "OUTSIDE_HOURS"


# -- overflow ----------------------------------------------------------------------------------
LIMITED = unit_rules(BRIGADE, overflow_limit=2)


@pytest.mark.parametrize(
    ("open_alerts", "share", "unit"),
    [
        (0, 1.0, BRIGADE),
        (1, 1.0, BRIGADE),
        (2, 1.0, COMPANY),  # limit reached: the third alert goes to the fallback
        (5, 1.0, COMPANY),
        (1, 1.0, BRIGADE),  # released once an alert is taken in charge
        # A worker owning half the partitions knows about half the alerts: limit 1 here.
        (0, 0.5, BRIGADE),
        (1, 0.5, COMPANY),
        # Rounded up, never below one.
        (0, 0.1, BRIGADE),
        (1, 0.1, COMPANY),
    ],
)
def test_overflow_limit_reached_and_released(open_alerts: int, share: float, unit: str) -> None:
    ref = store_with(LIMITED)
    d = route(MERU, "2026-11-30T10:00+01:00", ref=ref, open_alerts={BRIGADE: open_alerts},
              share=share)
    assert d.units == [unit]
    assert d.routing_rule == (None if unit == BRIGADE else "OVERFLOW")


def test_overflow_applies_to_alerts_only_by_default() -> None:
    ref = store_with(LIMITED)
    d = route(MERU, "2026-11-30T10:00+01:00", ref=ref, category=Category.GRAFFITI,
              open_alerts={BRIGADE: 9})
    assert d.units == [BRIGADE]


# -- no fallback: manual triage, never dropped ---------------------------------------------------
def test_a_unit_without_fallback_goes_to_manual_triage_at_its_departmental_centre() -> None:
    ref = store_with(unit_rules(BRIGADE, fallback_unit_id=None))
    d = route(MERU, "2026-11-29T02:00+01:00", ref=ref)
    assert d.status is DecisionStatus.MANUAL_TRIAGE
    assert d.units == [CORG] and d.force is Force.GN
    assert d.reason_code == "NO_UNIT_ON_DUTY" and d.routing_rule == "OUTSIDE_HOURS"
    assert d.competent_unit_id == BRIGADE and d.insee_code == MERU


def test_nobody_on_duty_at_all_goes_to_both_centres() -> None:
    both_down = (unavailable(CORG, "2026-11-30T06:00+01:00"),
                 unavailable(CIC, "2026-11-30T06:00+01:00"))
    ref = store_with(availability=both_down)
    d = route(MERU, "2026-11-30T02:00+01:00", ref=ref)
    assert d.status is DecisionStatus.MANUAL_TRIAGE and d.units == [CIC, CORG]
    assert d.reason_code == "NO_UNIT_ON_DUTY"


def test_a_fallback_loop_ends_the_chain() -> None:
    ref = store_with(unit_rules(COMPANY, fallback_unit_id=BRIGADE))
    d = route(MERU, "2026-11-29T02:00+01:00", ref=ref)
    assert d.status is DecisionStatus.MANUAL_TRIAGE and d.units == [CORG]


# -- escalation and transfer follow the same rules ---------------------------------------------
def test_escalation_goes_to_whoever_is_on_duty() -> None:
    when = RoutingContext(at=at("2026-11-30T10:00+01:00"))
    assert escalation_route(BRIGADE, DEFAULT, when)[0] == CORG
    ref = store_with(availability=(unavailable(CORG, "2026-11-30T11:00+01:00"),))
    target, chain = escalation_route(BRIGADE, ref, when)
    assert target == CIC and chain.rule is RoutingRule.UNIT_UNAVAILABLE
    later = RoutingContext(at=at("2026-11-30T11:00+01:00"))
    assert escalation_route(BRIGADE, ref, later)[0] == CORG


def test_a_transfer_to_a_closed_brigade_reaches_the_corg() -> None:
    night = at("2026-11-29T02:00+01:00")
    d = decide(alert(MERU, night), DEFAULT, RoutingContext(at=night)).decision
    police = d.model_copy(update={"units": ["pn-csp-creil"], "force": Force.PN})
    moved = transfer(police, "pn-csp-creil", DEFAULT, context=RoutingContext(at=night))
    assert moved.units == [CORG] and moved.competent_unit_id == BRIGADE
    assert moved.routing_rule == "OUTSIDE_HOURS"
    plain = transfer(police, "pn-csp-creil", DEFAULT)
    assert plain.units == [BRIGADE] and plain.routing_rule is None


# -- purity, memo, versions ---------------------------------------------------------------------
def test_without_a_context_the_rules_apply_at_sent_at() -> None:
    night = at("2026-11-29T02:00+01:00")
    assert decide(alert(MERU, night), DEFAULT).decision.units == [CORG]


def test_same_inputs_same_decision_object() -> None:
    first = route(MERU, "2026-11-29T02:00+01:00")
    assert route(MERU, "2026-11-29T02:00+01:00") is first
    plain = route(MERU, "2026-11-30T10:00+01:00")
    assert route(MERU, "2026-11-30T10:30+01:00") is plain


def test_new_rules_apply_from_their_local_date_and_name_their_version() -> None:
    later = unit_rules(BRIGADE, effective_from=date(2026, 12, 1), version="rules-2026-12",
                     hours=None)
    ref = store_with(later)
    assert route(MERU, "2026-11-30T23:59+01:00", ref=ref).units == [CORG]
    d = route(MERU, "2026-12-01T00:00+01:00", ref=ref)  # 23:00 UTC on 30 November
    assert d.units == [BRIGADE] and d.rules_version == "rules-2026-12"

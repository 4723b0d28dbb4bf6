"""The live console of ``vigie run`` shows partners' and units' data as text, never markup."""

from __future__ import annotations

from tests.factories import acknowledgement, routing_decision
from tests.hostile_text import (
    HOSTILE,
    assert_shown_not_interpreted,
    hostile_routed_event,
    is_red,
    printed,
    terminal,
)
from vigie.console import BusView
from vigie.contracts.enums import AckStatus, Lane


def hostile_view(lane: Lane) -> BusView:
    view = BusView()
    view.on_routed(hostile_routed_event(unit_id=HOSTILE, decision=routing_decision(lane=lane)))
    view.on_ack(acknowledgement(partner_id=HOSTILE, event_id=HOSTILE, status=AckStatus.REJECTED,
                                reason_code=HOSTILE, source=None))
    return view


def test_live_console_renders_a_hostile_event_as_text() -> None:
    console = terminal()
    rendered = hostile_view(Lane.INCIDENT).render("http://127.0.0.1:9108/metrics")
    console.print(rendered)
    output = printed(console)
    assert_shown_not_interpreted(output)
    # Partner id, commune, unit id (table and totals), reason code: five times, never red.
    assert output.count("[red]ALERTE[/red]") == 5
    assert not any(is_red(seg.style) for seg in console.render(rendered))


def test_an_alert_row_is_red_by_vigies_choice_and_still_text() -> None:
    console = terminal()
    console.print(hostile_view(Lane.ALERT).render("http://127.0.0.1:9108/metrics"))
    assert_shown_not_interpreted(printed(console))


def test_diversions_are_shown_by_rule() -> None:
    routed = hostile_routed_event()
    view = BusView()
    diverted = hostile_routed_event(unit_id="gn-corg-oise", decision=routing_decision(
        lane=Lane.ALERT, units=["gn-corg-oise"], routing_rule="OUTSIDE_HOURS",
        competent_unit_id="gn-bt-meru"))
    view.on_routed(diverted)
    view.on_routed(diverted)
    view.on_routed(routed)  # not diverted
    assert view.diversions == {"OUTSIDE_HOURS": 2}
    console = terminal()
    console.print(view.render("http://127.0.0.1:9108/metrics"))
    text = printed(console)
    assert "OUTSIDE_HOURS" in text and "=2" in text and "OUTSIDE_HOURS ← gn-bt-meru" in text

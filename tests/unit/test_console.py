"""The live console of ``vigie run`` shows partners' and units' data as text, never markup."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.unit.hostile_text import (
    HOSTILE,
    assert_shown_not_interpreted,
    is_red,
    printed,
    routed_event,
    terminal,
)
from vigie.console import BusView
from vigie.contracts.enums import AckStatus, Lane
from vigie.contracts.models import Acknowledgement


def hostile_view(lane: Lane) -> BusView:
    routed = routed_event()
    view = BusView()
    view.on_routed(routed.model_copy(update={
        "unit_id": HOSTILE,
        "decision": routed.decision.model_copy(update={"lane": lane}),
    }))
    view.on_ack(Acknowledgement(
        ack_id="c0ffee00-1234-4abc-8def-0123456789ab", partner_id=HOSTILE, event_id=HOSTILE,
        status=AckStatus.REJECTED, issued_at=datetime(2025, 3, 14, 22, tzinfo=UTC),
        reason_code=HOSTILE,
    ))
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
    routed = routed_event()
    view = BusView()
    diverted = routed.model_copy(update={
        "unit_id": "gn-corg-oise",
        "decision": routed.decision.model_copy(update={
            "lane": Lane.ALERT, "units": ["gn-corg-oise"], "routing_rule": "OUTSIDE_HOURS",
            "competent_unit_id": "gn-bt-meru"}),
    })
    view.on_routed(diverted)
    view.on_routed(diverted)
    view.on_routed(routed)  # not diverted
    assert view.diversions == {"OUTSIDE_HOURS": 2}
    console = terminal()
    console.print(view.render("http://127.0.0.1:9108/metrics"))
    text = printed(console)
    assert "OUTSIDE_HOURS" in text and "=2" in text and "OUTSIDE_HOURS ← gn-bt-meru" in text

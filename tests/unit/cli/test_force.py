"""``vigie tail`` and ``vigie ack`` show partner and unit text, never interpret it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.factories import routing_decision
from tests.hostile_text import (
    HOSTILE,
    assert_shown_not_interpreted,
    hostile_routed_event,
    is_red,
    plain,
    printed,
    styles_of,
    terminal,
)
from vigie.cli import app
from vigie.cli import force as force_cli
from vigie.cli.force import render_routed
from vigie.contracts.enums import Lane
from vigie.contracts.models import RoutedEvent
from vigie.settings import Settings


def test_tail_rendering_shows_a_hostile_event_as_text() -> None:
    routed = hostile_routed_event()
    console = terminal()
    rendered = render_routed(routed)
    console.print(rendered)
    output = printed(console)
    assert_shown_not_interpreted(output)
    # Vigie's own label is red; the partner's "[red]ALERTE[/red]" is not, anywhere it shows.
    assert any(is_red(s) for s in styles_of(console, rendered, "ALERTE"))
    assert not any(is_red(s) for s in styles_of(console, rendered, "[red]ALERTE"))
    assert output.count("[red]ALERTE[/red]") == 5  # commune, site, QPV, partner, description


def test_an_incident_shows_no_red_at_all() -> None:
    routed = hostile_routed_event(decision=routing_decision(lane=Lane.INCIDENT))
    console = terminal()
    rendered = render_routed(routed)
    console.print(rendered)
    assert_shown_not_interpreted(printed(console))
    assert not any(is_red(seg.style) for seg in console.render(rendered))


def test_description_lines_stay_indented_under_the_header() -> None:
    forged = "vrai texte\r\n12:00:00 ALERTE FIRE NEW — Creil\récrasé"
    lines = plain_lines(render_routed(hostile_routed_event(forged)))
    assert lines[1:] == ["    vrai texte", "    12:00:00 ALERTE FIRE NEW — Creil\\récrasé"]


def plain_lines(rendered: object) -> list[str]:
    console = terminal()
    console.print(rendered)
    return plain(printed(console)).splitlines()


@pytest.fixture
def fed_tail(monkeypatch: pytest.MonkeyPatch) -> Console:
    """``vigie tail`` fed the hostile event twice (a replay), without a broker."""

    async def follow_unit(
        settings: Settings, unit_id: str, *, from_beginning: bool = False
    ) -> AsyncIterator[RoutedEvent]:
        for _ in range(2):
            yield hostile_routed_event()

    console = terminal()
    monkeypatch.setattr("vigie.kafka.follow.follow_unit", follow_unit)
    monkeypatch.setattr(force_cli, "console", console)
    return console


def test_vigie_tail_command_survives_and_shows_the_text(fed_tail: Console) -> None:
    result = CliRunner().invoke(app, ["tail", "--unit", "csp-beauvais", "--from-beginning"])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    output = printed(fed_tail)
    assert_shown_not_interpreted(output)
    assert output.count("[/bold]") == 10


def test_vigie_ack_echoes_the_ids_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, bytes, bytes]] = []

    async def publish_records(settings: Settings, records: list[tuple[str, bytes, bytes]]) -> int:
        sent.extend(records)
        return len(records)

    console = terminal()
    monkeypatch.setattr("vigie.kafka.publish.publish_records", publish_records)
    monkeypatch.setattr(force_cli, "console", console)
    result = CliRunner().invoke(app, ["ack", HOSTILE, "TAKEN_IN_CHARGE", "--unit", HOSTILE])
    assert result.exit_code == 0, result.output
    assert len(sent) == 1
    output = printed(console)
    assert_shown_not_interpreted(output)
    assert plain(output).startswith("TAKEN_IN_CHARGE envoyé pour Feu [/bold]")


def test_a_diverted_event_names_the_competent_unit_and_the_rule() -> None:
    routed = hostile_routed_event("x")
    diverted = hostile_routed_event("x", unit_id="gn-corg-oise", decision=routing_decision(
        routing_rule="OUTSIDE_HOURS", competent_unit_id="gn-bt-meru"))
    [header] = plain_lines(render_routed(diverted))[:1]
    assert " — zone gn-bt-meru (OUTSIDE_HOURS) — " in header
    assert "zone" not in plain_lines(render_routed(routed))[0]

"""A refused topic ends a partner- or unit-facing command with one line and exit status 3."""

from __future__ import annotations

import pytest
from aiokafka.errors import TopicAuthorizationFailedError
from rich.console import Console
from typer.testing import CliRunner

from tests.hostile_text import (
    HOSTILE,
    assert_shown_not_interpreted,
    plain,
    printed,
    terminal,
)
from vigie.cli import app
from vigie.cli import errors as cli_errors
from vigie.cli.errors import KAFKA_FAILURE
from vigie.contracts import topics
from vigie.settings import Settings


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Console:
    console = terminal()
    monkeypatch.setattr(cli_errors, "errors", console)
    return console


def test_ack_to_another_units_topic_is_one_line(
    monkeypatch: pytest.MonkeyPatch, stderr: Console
) -> None:
    async def refused(settings: Settings, records: list[tuple[str, bytes, bytes]]) -> int:
        raise TopicAuthorizationFailedError(records[0][0])

    monkeypatch.setattr("vigie.kafka.publish.publish_records", refused)
    result = CliRunner().invoke(app, ["ack", "e1", "TAKEN_IN_CHARGE", "--unit", HOSTILE])
    assert result.exit_code == KAFKA_FAILURE, result.output
    shown = printed(stderr)
    assert_shown_not_interpreted(shown)  # the unit id typed on the command line is text
    assert shown.count("\n") == 1 and plain(shown).startswith("Erreur : accès refusé")
    assert "Traceback" not in result.output


def test_tail_of_another_unit_is_one_line(
    monkeypatch: pytest.MonkeyPatch, stderr: Console
) -> None:
    async def follow_unit(settings: Settings, unit_id: str, *, from_beginning: bool = False):  # type: ignore[no-untyped-def]
        raise TopicAuthorizationFailedError(
            {topics.unit_alerts(unit_id), topics.unit_incidents(unit_id)})
        yield  # an async generator, like the real one

    monkeypatch.setattr("vigie.kafka.follow.follow_unit", follow_unit)
    result = CliRunner().invoke(app, ["tail", "--unit", "gn-bt-beauvais"])
    assert result.exit_code == KAFKA_FAILURE, result.output
    assert "aux topics force.gn-bt-beauvais.alerts.v1, force.gn-bt-beauvais.incidents.v1" in (
        printed(stderr))

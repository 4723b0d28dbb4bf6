"""``vigie publish`` echoes partner ids and Vigie's answers as text, never markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import acknowledgement, partner_event
from tests.hostile_text import HOSTILE, assert_shown_not_interpreted, printed, terminal
from vigie.cli import app
from vigie.cli import partner as partner_cli
from vigie.contracts.enums import AckStatus
from vigie.contracts.models import Acknowledgement, PartnerEvent
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.validation import Issue
from vigie.settings import Settings


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    event = partner_event(event_id=HOSTILE, description=HOSTILE, incident_id=HOSTILE,
                          source_system=HOSTILE, site_id=HOSTILE)
    path = tmp_path / "events.json"
    path.write_text(event.model_dump_json(), encoding="utf-8")
    return path


def test_publish_echoes_refused_events_as_text(
    events_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = terminal()
    monkeypatch.setattr(partner_cli, "console", console)
    monkeypatch.setattr(
        "vigie.clients.partner.check_locally",
        lambda event: [Issue(ReasonCode.UNSAFE_TEXT, "description", HOSTILE)],
    )
    result = CliRunner().invoke(app, ["publish", str(events_file)])
    assert result.exit_code == 2, result.output
    assert_shown_not_interpreted(printed(console))


def test_publish_echoes_acknowledgements_as_text(
    events_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def publish_and_wait(
        settings: Settings, events: list[PartnerEvent], timeout: float
    ) -> dict[str, list[Acknowledgement]]:
        return {e.event_id: [acknowledgement(
            event_id=e.event_id, status=AckStatus.ROUTED, units=[HOSTILE], reason_code=None,
            reason_message=HOSTILE, source=None,
        )] for e in events}

    console = terminal()
    monkeypatch.setattr(partner_cli, "console", console)
    monkeypatch.setattr("vigie.clients.partner.check_locally", lambda event: [])
    monkeypatch.setattr("vigie.kafka.publish.publish_and_wait", publish_and_wait)
    result = CliRunner().invoke(app, ["publish", str(events_file)])
    assert result.exit_code == 0, result.output
    assert_shown_not_interpreted(printed(console))

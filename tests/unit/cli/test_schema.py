"""``vigie decode`` prints a partner's free text as JSON escapes, never raw to the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.unit.contracts.conftest import make_event
from tests.unit.hostile_text import FORBIDDEN, HOSTILE
from vigie.cli import app
from vigie.contracts.codec import encode


def test_decode_escapes_controls_and_bidi_of_a_partner_event(tmp_path: Path) -> None:
    path = tmp_path / "event.bin"
    path.write_bytes(encode(make_event(description=HOSTILE, source_system=HOSTILE)))
    result = CliRunner().invoke(app, ["decode", str(path)])
    assert result.exit_code == 0, result.output
    assert not any(c in result.stdout for c in (*FORBIDDEN, "\x1b"))
    value = json.loads(result.stdout)["value"]
    assert value["description"] == HOSTILE == value["source_system"]

"""``vigie decode`` prints a partner's free text as JSON escapes, never raw to the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.factories import partner_event
from tests.hostile_text import FORBIDDEN, HOSTILE
from vigie.cli import app
from vigie.contracts.codec import encode

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def test_decode_escapes_controls_and_bidi_of_a_partner_event(tmp_path: Path) -> None:
    path = tmp_path / "event.bin"
    path.write_bytes(encode(partner_event(description=HOSTILE, source_system=HOSTILE)))
    result = CliRunner().invoke(app, ["decode", str(path)])
    assert result.exit_code == 0, result.output
    assert not any(c in result.stdout for c in (*FORBIDDEN, "\x1b"))
    value = json.loads(result.stdout)["value"]
    assert value["description"] == HOSTILE == value["source_system"]


def test_cli_decode_prints_json_and_fails_cleanly(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["decode", str(VECTORS / "acknowledgement_v1.bin")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["message"] == "acknowledgement"
    assert out["value"]["status"] == "ROUTED"
    piped = runner.invoke(app, ["decode", "-"], input=(VECTORS / "dead_letter_v1.bin").read_bytes())
    assert piped.exit_code == 0 and json.loads(piped.stdout)["message"] == "dead_letter"
    for bad in (b"", b"garbage!!!!!!", b"\xc3\x01" + bytes(8) + b"x"):
        path = tmp_path / "bad.bin"
        path.write_bytes(bad)
        failed = runner.invoke(app, ["decode", str(path)])
        assert failed.exit_code == 1
    cut = (VECTORS / "partner_event_v2.bin").read_bytes()[:-3]
    (tmp_path / "cut.bin").write_bytes(cut)
    failed = runner.invoke(app, ["decode", str(tmp_path / "cut.bin")])
    assert failed.exit_code == 1 and "TRUNCATED" in failed.output
    assert runner.invoke(app, ["decode", str(tmp_path / "absent.bin")]).exit_code == 1

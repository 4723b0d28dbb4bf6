"""``vigie ref load`` without a broker: what it refuses before publishing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vigie.cli import app

RUNNER = CliRunner()


def test_ref_load_rules_refuses_a_malformed_file(tmp_path: Path) -> None:
    broken = tmp_path / "rules.json"
    broken.write_text('{"units": [{"unit_id": "gn-bt-meru", "hours": [{"days": ["MON"], '
                      '"start": "18:00", "end": "08:00"}]}]}')
    result = RUNNER.invoke(app, ["ref", "load", "rules", str(broken)])
    assert result.exit_code == 2 and "fichier de règles invalide" in result.output

"""``vigie gateway credentials`` and ``vigie gateway openapi`` without a broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigie.cli import app
from vigie.gateway.openapi import document
from vigie.gateway.partners import load_partners

RUNNER = CliRunner()


def test_credentials_print_the_secret_once_and_keep_its_digest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "partners.json"
    monkeypatch.setenv("VIGIE_GATEWAY_PARTNERS_FILE", str(path))
    result = RUNNER.invoke(app, ["gateway", "credentials", "opac-oise",
                                 "--webhook-url", "https://si.example/acks"])
    assert result.exit_code == 0, result.output
    secret = next(line.split("=", 1)[1] for line in result.output.splitlines()
                  if line.startswith("client_secret="))
    entry = load_partners(path).get("opac-oise")
    assert entry is not None and entry.accepts(secret)
    assert secret not in path.read_text()
    refused = RUNNER.invoke(app, ["gateway", "credentials", "Pas Valide"])
    assert refused.exit_code == 2
    assert "invalide" in refused.output


def test_openapi_prints_the_document(tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    result = RUNNER.invoke(app, ["gateway", "openapi", "--out", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text()) == document()

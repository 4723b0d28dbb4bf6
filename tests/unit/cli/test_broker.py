"""``vigie broker client-config <principal> --env``: the shell lines that log Vigie's own
tools in as that principal."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from vigie.broker.secure import SecureBroker
from vigie.cli import app
from vigie.cli import broker as broker_cli
from vigie.settings import Settings


def test_env_lines_give_the_principals_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path, partners=["opac-oise"])
    broker = SecureBroker(settings, units=("gn-bt-beauvais",))
    broker.ensure_credentials()
    monkeypatch.setattr(broker_cli, "get_settings", lambda: settings)
    monkeypatch.setattr(broker_cli, "SecureBroker", lambda s: broker)

    result = CliRunner().invoke(app, ["broker", "client-config", "partner-opac-oise", "--env"])
    assert result.exit_code == 0, result.output
    env = {}
    for line in result.output.splitlines():
        export, assignment = shlex.split(line)
        assert export == "export"
        key, value = assignment.split("=", 1)
        env[key] = value
    with mock.patch.dict(os.environ, env, clear=True):
        logged_in = Settings(_env_file=None)
    expected = broker.settings_for("partner-opac-oise")
    for field in ("bootstrap_servers", "security_protocol", "sasl_mechanism", "sasl_username",
                  "sasl_password", "ssl_cafile"):
        assert getattr(logged_in, field) == getattr(expected, field), field

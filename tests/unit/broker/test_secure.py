"""SCRAM and keystore passwords never reach a command line of the secure broker's set-up.

A command line is world-readable (``/proc/<pid>/cmdline``, ``ps``) while the tool runs, so
every spawned process is recorded here (``subprocess.Popen`` for keytool, ``subprocess.run``
for the Kafka tools) and its argv searched for every password of the credentials file. The
passwords must arrive anyway: through keytool's environment, or through a java ``@argfile``
that is owner-only while the tool runs and gone once it has exited.
"""

from __future__ import annotations

import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vigie.broker import local, secure
from vigie.broker.secure import STOREPASS_ENV, SecureBroker
from vigie.settings import Settings


@dataclass
class Spawned:
    argv: list[str]
    env: dict[str, str] | None
    #: Text and permission bits of each ``@argfile`` at the time the tool ran.
    argfiles: dict[str, tuple[str, int]] = field(default_factory=dict)


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[Spawned]:
    calls: list[Spawned] = []

    def record(args: Any, env: dict[str, str] | None) -> Spawned:
        argv = [str(a) for a in args]
        call = Spawned(argv, env)
        for arg in argv:
            if arg.startswith("@"):
                path = Path(arg[1:])
                call.argfiles[arg[1:]] = (path.read_text(), stat.S_IMODE(path.stat().st_mode))
        calls.append(call)
        return call

    class FakePopen:
        def __init__(self, args: Any, **kwargs: Any) -> None:
            record(args, kwargs.get("env"))
            self.returncode = 0

        def communicate(self, *_args: Any, **_kwargs: Any) -> tuple[str, None]:
            return "", None

    def fake_run(args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        record(args, kwargs.get("env"))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(local, "java_binary", lambda: "java")
    monkeypatch.setattr(secure, "_which", lambda name: f"/usr/bin/{name}")
    return calls


def _broker(tmp_path: Path, partners: list[str]) -> SecureBroker:
    settings = Settings(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache",
                        partners=partners)
    return SecureBroker(settings, units=("u1", "u2"))


def test_setup_passes_no_password_on_any_command_line(
    tmp_path: Path, spawned: list[Spawned]
) -> None:
    broker = _broker(tmp_path, ["opac-oise", "clesence"])
    data = broker.ensure_credentials()
    broker.ensure_certificates(data["store_password"])
    broker._render_properties()
    broker.format_storage()
    # A partner added after format gets its login through ConfigCommand.
    grown = _broker(tmp_path, ["opac-oise", "clesence", "oise-habitat"])
    assert grown.register_new_principals() == ["partner-oise-habitat"]

    data = grown._load_credentials()
    passwords = [data["store_password"], *data["users"].values()]
    assert len(passwords) == len(set(passwords)) > 5
    keytool = [c for c in spawned if c.argv[0] == "keytool"]
    java = [c for c in spawned if c.argv[0] == "java"]
    assert len(keytool) == 8 and len(java) == 2
    for call in spawned:
        command_line = "\0".join(call.argv)
        leaked = [p for p in passwords if p in command_line]
        assert not leaked, f"password on the command line of {call.argv[:3]}"

    # keytool gets the store password from its environment.
    for call in keytool:
        assert call.argv[call.argv.index("-storepass:env") + 1] == STOREPASS_ENV
        assert call.env is not None and call.env[STOREPASS_ENV] == data["store_password"]

    # The Kafka tools get theirs from owner-only argument files, removed afterwards.
    format_call, config_call = java
    for call in java:
        assert len(call.argfiles) == 1 and call.argv[-1].startswith("@")
        for path, (_text, mode) in call.argfiles.items():
            assert mode == 0o600
            assert Path(path).parent == broker.secrets_dir
            assert not Path(path).exists()
    (format_text, _), = format_call.argfiles.values()
    assert "kafka.tools.StorageTool" in format_text
    for name in broker.principals():
        assert data["users"][name] in format_text
    (config_text, _), = config_call.argfiles.values()
    assert data["users"]["partner-oise-habitat"] in config_text
    # The admin's --command-config file is not left behind either.
    assert not (broker.secrets_dir / "admin.properties").exists()
    assert stat.S_IMODE(broker.secrets_dir.stat().st_mode) == 0o700

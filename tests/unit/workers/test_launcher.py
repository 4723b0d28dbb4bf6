"""The one worker launcher: the child gets exactly the parent's settings, and stopping or
killing it reaches its whole process group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

import vigie
from vigie.settings import Settings
from vigie.workers.http import WorkerNotReady
from vigie.workers.launcher import WorkerProcess


def test_the_child_environment_is_the_settings(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    settings = Settings(_env_file=None, partners=["p1"], security_protocol="SASL_SSL",
                        sasl_password=SecretStr("pw"), state_dir=tmp_path)
    monkeypatch.setenv("VIGIE_SASL_USERNAME", "left-over-from-the-shell")
    worker = WorkerProcess(settings, tmp_path / "w.log", metrics_port=4321,
                           extra_env={"VIGIE_ALERT_TAKEOVER_DELAY_SECONDS": "60"})
    env = worker.env()
    assert "VIGIE_SASL_USERNAME" not in env  # the parent's shell does not leak in
    assert env["VIGIE_PARTNERS"] == json.dumps(["p1"]) and env["VIGIE_SASL_PASSWORD"] == "pw"
    assert env["VIGIE_METRICS_PORT"] == "4321" and env["VIGIE_STATE_DIR"] == str(tmp_path)
    assert env["VIGIE_ALERT_TAKEOVER_DELAY_SECONDS"] == "60"
    code = str(Path(vigie.__file__).resolve().parents[1])
    assert env["PYTHONPATH"].split(os.pathsep)[0] == code


def _sleeper(tmp_path: Path) -> WorkerProcess:
    """A launcher whose "worker" ignores SIGTERM (a worker stuck in a pass)."""
    worker = WorkerProcess(Settings(_env_file=None), tmp_path / "w.log")
    worker.process = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
         "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, start_new_session=True)
    assert worker.process.stdout is not None
    assert worker.process.stdout.readline() == b"ready\n"
    return worker


def test_stop_falls_back_to_kill(tmp_path: Path) -> None:
    worker = _sleeper(tmp_path)
    assert worker.alive()
    worker.stop(timeout=0.5)
    assert not worker.alive() and worker.process is not None
    assert worker.process.returncode == -9
    worker.stop()  # a second stop is harmless
    worker.kill()


def test_not_ready_says_why_with_the_log(tmp_path: Path) -> None:
    log = tmp_path / "w.log"
    log.write_text("boom: no broker\n")
    worker = WorkerProcess(Settings(_env_file=None), log)
    worker.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    worker.process.wait()
    with pytest.raises(WorkerNotReady, match=r"exited with 3; log .*w.log:\nboom: no broker"):
        worker.wait_ready(timeout=5)

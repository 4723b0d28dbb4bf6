"""The Prometheus configuration and alert rules pass ``promtool`` (Debian's prometheus package).

``promtool check config`` also resolves ``rule_files`` relative to the config file and checks
them; ``check rules`` parses every PromQL expression and template. ``make test`` installs
the package when missing (scripts/ensure-debian-packages.sh); elsewhere the test skips.
The dashboards are plain JSON checked here for what Grafana needs to provision them; their
PromQL is evaluated against a live Prometheus in tests/integration/test_observability.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "rules" / "vigie.rules.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus; make test does)"
)


def _promtool(*args: str) -> str:
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@needs_promtool
def test_promtool_check_config() -> None:
    out = _promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert "SUCCESS" in out and "1 rule files found" in out


@needs_promtool
def test_promtool_check_rules() -> None:
    out = _promtool("check", "rules", str(RULES))
    assert "SUCCESS" in out


def test_compose_scrapes_the_worker() -> None:
    text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    assert '"worker:9464"' in text


def test_expected_alerts_declared() -> None:
    text = RULES.read_text()
    for name in ("VigieUrgentAlertNotTakenInCharge", "VigieUrgentAlertsEscalated",
                 "VigieDeadLetters", "VigieConsumerLagGrowing", "VigiePartnerFeedSilent",
                 "VigieReferenceDataStale"):
        assert f"alert: {name}\n" in text


@pytest.mark.parametrize("name", ["operations", "urgent-alerts", "partnership"])
def test_dashboards_are_provisionable(name: str) -> None:
    dashboard = json.loads((DASHBOARDS / f"{name}.json").read_text())
    assert dashboard["uid"].startswith("vigie-")
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "vigie-prometheus"
            assert "vigie_" in target["expr"] or "up{" in target["expr"]

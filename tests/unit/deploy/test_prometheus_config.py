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
#: The workers' rules and the gateway's (prometheus.yml loads ``rules/*.yml``).
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
#: The data sources deploy/grafana/provisioning/datasources/ provides, by uid.
DATASOURCES = {"vigie-prometheus": "prometheus", "vigie-postgres": "grafana-postgresql-datasource"}
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
    assert "SUCCESS" in out and f"{len(RULE_FILES)} rule files found" in out


@needs_promtool
def test_promtool_check_rules() -> None:
    assert len(RULE_FILES) >= 2
    out = _promtool("check", "rules", *map(str, RULE_FILES))
    assert "SUCCESS" in out


def test_compose_scrapes_the_worker() -> None:
    text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    assert '"worker:9464"' in text


def test_expected_alerts_declared() -> None:
    text = "".join(path.read_text() for path in RULE_FILES)
    for name in ("VigieUrgentAlertNotTakenInCharge", "VigieUrgentAlertsEscalated",
                 "VigieDeadLetters", "VigieConsumerLagGrowing", "VigiePartnerFeedSilent",
                 "VigieReferenceDataStale", "VigieGatewayWebhookFailing"):
        assert f"alert: {name}\n" in text


@pytest.mark.parametrize("name", ["operations", "urgent-alerts", "partnership"])
def test_dashboards_are_provisionable(name: str) -> None:
    """PromQL targets on the Prometheus data source; SQL ones (the partnership history,
    run against a real PostgreSQL in tests/integration/test_grafana_sql.py) on the
    follow-up store's, reading the ``event_facts`` view."""
    dashboard = json.loads((DASHBOARDS / f"{name}.json").read_text())
    assert dashboard["uid"].startswith("vigie-")
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            uid = target["datasource"]["uid"]
            assert uid == panel["datasource"]["uid"] in DATASOURCES, panel["title"]
            if uid == "vigie-prometheus":
                assert "vigie_" in target["expr"] or "up{" in target["expr"]
            else:
                assert "expr" not in target and "event_facts" in target["rawSql"]
                assert target["format"] in ("time_series", "table")


def test_datasources_are_provisioned() -> None:
    """Every data source the dashboards name is provisioned with that uid and type; the
    PostgreSQL one takes its host and login from the environment, never from the file."""
    yaml = pytest.importorskip("yaml")
    found = {}
    for path in sorted((ROOT / "deploy" / "grafana" / "provisioning" / "datasources")
                       .glob("*.yml")):
        for source in yaml.safe_load(path.read_text())["datasources"]:
            found[source["uid"]] = source
    assert {uid: s["type"] for uid, s in found.items()} == DATASOURCES
    postgres = found["vigie-postgres"]
    assert postgres["url"] == "${VIGIE_GRAFANA_DB_HOST}"
    assert postgres["secureJsonData"]["password"] == "${VIGIE_GRAFANA_DB_PASSWORD}"
    assert postgres["jsonData"]["database"] == "vigie"

"""The alert rules do what docs/operations.md says: ``promtool test rules`` on
deploy/prometheus/tests/ (each alert fires on its case and stays quiet on the other), every
alert of the rules file has a test there, and the workers' job label is the one Kubernetes
gives them (the metrics Service's name) and the compose Prometheus uses.

promtool comes with Debian's ``prometheus`` package (``make test`` installs it); elsewhere the
promtool test skips, the label checks do not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"
#: Every rules file Prometheus loads (``rules/*.yml``): the workers' and the gateway's.
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.test.yml"))
K8S = ROOT / "deploy" / "k8s"
PROMTOOL = shutil.which("promtool")


def _alerts() -> list[dict[str, Any]]:
    groups = [g for path in RULE_FILES for g in yaml.safe_load(path.read_text())["groups"]]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _tested(fired: bool) -> set[str]:
    """Alert names with a case where they fire (``fired``) or must stay quiet."""
    names = set()
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if bool(case.get("exp_alerts")) == fired:
                    names.add(case["alertname"])
    return names


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (make test installs it)")
def test_promtool_rule_tests_pass() -> None:
    assert PROMTOOL is not None and RULE_TESTS
    result = subprocess.run([PROMTOOL, "test", "rules", *map(str, RULE_TESTS)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_fires_and_stays_quiet_in_a_test() -> None:
    names = {rule["alert"] for rule in _alerts()}
    assert not names - _tested(fired=True), "alerts never seen firing"
    assert not names - _tested(fired=False), "alerts never seen quiet"


def test_worker_alerts_select_the_kubernetes_job_label() -> None:
    """A ServiceMonitor labels the series with the Service's name; the compose scrape job
    bears the same name. An alert on another job name would never fire."""
    service = yaml.safe_load((K8S / "worker-service.yaml").read_text())
    job = service["metadata"]["name"]
    assert job == "vigie-worker-metrics"
    monitor = yaml.safe_load((K8S / "monitoring" / "servicemonitor.yaml").read_text())
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {
        p["name"] for p in service["spec"]["ports"]}
    compose = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert job in {c["job_name"] for c in compose["scrape_configs"]}
    jobs = {m for rule in _alerts() for m in re.findall(r'job="([^"]+)"', rule["expr"])}
    assert jobs == {job}
    by_name = {rule["alert"]: rule["expr"] for rule in _alerts()}
    assert by_name["VigieNoWorkerUp"].startswith("absent(")

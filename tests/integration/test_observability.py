"""Observability, proved against a real Prometheus scraping a real worker.

Debian's ``prometheus`` binary scrapes the live worker every second and loads the repository's
alert rules. After a simulated feed (malformed messages, duplicates, follow-ups, expired
events) the counters summed by Prometheus must match what was published, and every PromQL
expression of the dashboards and of the rules must evaluate without error, naming only
metrics that exist in the scraped series: a renamed metric would otherwise leave a dashboard
panel silently empty or an alert that can never fire.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.debian_tools import debian_command
from tests.integration.kafka_tools import free_port, produce, run
from vigie.kafka.admin import ensure_topics
from vigie.kafka.publish import publish_reference
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import FeedMessage, FeedMix, scripted_day

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "vigie.rules.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
FEED_SIZE = 200
#: Grafana's built-in variables, replaced as Grafana would for a one-hour view.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
METRIC_NAME = re.compile(r"\b(vigie_[a-zA-Z0-9_]+|up)\b(?!\s*\()")


def _prometheus_binary() -> str:
    return debian_command("prometheus", "prometheus")


class Prometheus:
    """A throwaway Prometheus server on a loopback port, with its HTTP API."""

    def __init__(self, binary: str, workdir: Path, target: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {RULES}\n"
            "scrape_configs:\n  - job_name: vigie-worker-metrics\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = (workdir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:  # 400/422 carry the PromQL error as JSON
            body = json.load(exc)
        return body

    def query(self, expr: str) -> list[dict[str, Any]]:
        body = self.api("query", query=expr)
        assert body["status"] == "success", f"{expr}: {body.get('error')}"
        return list(body["data"]["result"])

    def value(self, expr: str) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else 0.0

    def by(self, label: str, expr: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def wait(self, what: str, check: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited, see {self.log.name}")
            try:
                if check():
                    return
            except (OSError, AssertionError, IndexError, KeyError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{what} not reached within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def prometheus_binary() -> str:
    return _prometheus_binary()


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, expr) for every PromQL target of every panel, Grafana variables replaced (the
    SQL ones run against PostgreSQL in test_grafana_sql.py)."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] != "prometheus":
                    continue
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                found.append((f"{path.stem}: {panel['title']}", expr))
    return found


def _sites_for(partners: list[str]) -> list[Any]:
    """The sample sites, handed to this test's partners under ids of their own."""
    sites = []
    for i, site in enumerate(load_sample_sites()):
        partner = partners[i % len(partners)]
        sites.append(site.model_copy(update={"partner_id": partner,
                                             "site_id": f"{partner}-{i:04d}"}))
    return sites


@pytest.fixture
def feed(partners: list[str]) -> Iterator[tuple[list[Any], list[FeedMessage]]]:
    sites = _sites_for(partners)
    mix = FeedMix(malformed=0.12, duplicate=0.05, follow_up=0.05, expired=0.02)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    yield sites, list(scripted_day(sites, FEED_SIZE, seed=60, end=end, mix=mix))


def test_prometheus_sees_what_was_published(  # type: ignore[no-untyped-def]
    prometheus_binary, start_worker, kafka_settings: Settings, partners, feed, tmp_path: Path
) -> None:
    sites, messages = feed
    # Topics first (the worker would create them, but its sites must be there when it starts).
    store = ReferenceStore.with_defaults()
    run(ensure_topics(kafka_settings.model_copy(update={"partners": partners}),
                      store.snapshot().units))
    run(publish_reference(kafka_settings, sites=sites))
    worker = start_worker()
    prometheus = Prometheus(prometheus_binary, tmp_path, f"127.0.0.1:{worker.metrics_port}")
    try:
        # Baseline scraped first: series at zero for every commune (see metrics.py), so
        # that increase() counts the events that follow.
        prometheus.wait("zero series scraped", lambda: prometheus.value(
            "count(vigie_events_by_commune_total)") == 680)
        records = [(m.topic, m.key, m.value) for m in messages]
        assert run(produce(kafka_settings, records)) == FEED_SIZE
        expected = Counter(m.expect for m in messages)
        print(f"\nfeed: {dict(expected)}")

        # Every message consumed, scraped and summed by Prometheus; lag back to zero.
        prometheus.wait("all messages counted", lambda: prometheus.value(
            "sum(vigie_events_received_total)") == FEED_SIZE)
        prometheus.wait("lag drained", lambda: prometheus.query(
            "sum(vigie_consumer_lag) == 0") != [], timeout=30)

        outcomes = prometheus.by("outcome", "sum by (outcome) (vigie_events_outcome_total)")
        assert outcomes.get("routed", 0) + outcomes.get("manual_triage", 0) == expected["route"]
        assert outcomes.get("duplicate", 0) == expected["duplicate"]
        assert outcomes.get("expired", 0) == expected["expired"]
        rejects = prometheus.by(
            "reason", 'sum by (reason) (vigie_events_outcome_total{outcome="rejected"})')
        assert rejects == {
            k.split(":", 1)[1]: float(v) for k, v in expected.items() if k.startswith("reject:")
        }
        # Undecodable messages also go to the dead-letter topic, with their bytes.
        undecodable = sum(v for k, v in expected.items()
                          if k in ("reject:BAD_MARKER", "reject:TRUNCATED"))
        # Intake only: the status relay of a new consumer group also reads the statuses that
        # earlier tests left on the shared unit topics, and refuses them (their dead letters).
        assert prometheus.value('sum(vigie_dead_letters_total{stage="intake"})') == undecodable
        new_routed = sum(1 for m in messages
                         if m.expect == "route" and m.message_type.value == "NEW")
        assert prometheus.value("sum(vigie_events_by_category_total)") == new_routed
        assert prometheus.value("sum(vigie_events_by_commune_total)") == new_routed
        freshness = prometheus.by("partner", "vigie_partner_last_event_timestamp_seconds")
        assert set(freshness) == {m.partner_id for m in messages}
        assert all(time.time() - ts < 120 for ts in freshness.values())
        prometheus.wait("reference versions", lambda: len(prometheus.query(
            "vigie_reference_version_info")) == len(store.versions()))

        # Range functions need a few samples after the feed, as dashboards would have.
        prometheus.wait("samples after the feed", lambda: prometheus.value(
            "min(count_over_time(vigie_events_received_total[1m]))") >= 3)
        weekly = prometheus.value("sum(increase(vigie_events_by_commune_total[1w]))")
        # increase() extrapolates to the window's edges: over a series a few seconds old it
        # overshoots by up to ~20 % (the exact counts are asserted on raw sums above).
        assert abs(weekly - new_routed) <= 0.25 * new_routed, (weekly, new_routed)
        assert prometheus.query(  # the dead-letter alert sees the first dead letters
            "sum by (stage, reason) (increase(vigie_dead_letters_total[10m])) > 0")

        # Every dashboard and rule expression evaluates and names only scraped metrics.
        names = set(prometheus.api("label/__name__/values")["data"])
        rules = prometheus.api("rules")["data"]["groups"]
        expressions = dashboard_expressions() + [
            (f"rule {rule['name']}", rule["query"]) for group in rules for rule in group["rules"]
        ]
        assert sum(1 for where, _ in expressions if where.startswith("rule ")) == len(
            re.findall(r"^\s*- alert:", RULES.read_text(), re.MULTILINE))
        print(f"{len(expressions)} expressions evaluated:")
        for where, expr in expressions:
            result = prometheus.api("query", query=expr)
            assert result["status"] == "success", f"{where}: {expr}: {result.get('error')}"
            missing = set(METRIC_NAME.findall(expr)) - names
            assert not missing, f"{where}: {expr} refers to unscraped {missing}"
            print(f"  ok [{len(result['data']['result'])} series] {where}: {expr}")
        time.sleep(1.5)  # one rule evaluation after the queries above
        health = [(r["name"], r.get("lastError")) for g in prometheus.api("rules")["data"]["groups"]
                  for r in g["rules"] if r.get("health") == "err"]
        assert not health, health
    finally:
        prometheus.stop()

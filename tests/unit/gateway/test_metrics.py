"""The gateway's /metrics: requests by route template and status, durations, events
published, refused and repeated, webhook deliveries by outcome and the retry gauges, moved by
real requests to the app (FastAPI's TestClient) and real POSTs of the dispatcher (httpx's
mock transport standing in for the partner's receiver)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import acknowledgement, partner_event
from tests.unit.gateway.conftest import Harness
from vigie.contracts.enums import AckStatus, Category
from vigie.gateway import metrics
from vigie.gateway.partners import new_credentials
from vigie.gateway.settings import GatewaySettings
from vigie.gateway.webhooks import WebhookDispatcher
from vigie.settings import Settings

A = "oise-habitat"


def _value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(harness: Harness) -> str:
    answer = harness.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


def test_posts_are_counted_by_route_status_and_lane(harness: Harness) -> None:
    route = {"route": "/v1/events", "method": "POST"}
    before = {
        "202": _value("vigie_gateway_requests_total", **route, code="202"),
        "422": _value("vigie_gateway_requests_total", **route, code="422"),
        "timed": _value("vigie_gateway_request_duration_seconds_count", **route),
        "incident": _value("vigie_gateway_events_published_total", partner=A, lane="INCIDENT"),
        "alert": _value("vigie_gateway_events_published_total", partner=A, lane="ALERT"),
        "refused": _value("vigie_gateway_events_refused_total", partner=A,
                          reason="INVALID_EVENT_ID"),
    }
    headers = harness.headers(A)
    incident = partner_event(A, "60057", fresh=True)
    alert = partner_event(A, "60057", fresh=True, category=Category.STAFF_AGGRESSION)
    batch = [partner_event(A, "60057", fresh=True) for _ in range(2)]
    bad = partner_event(A, "60057", fresh=True).model_copy(update={"event_id": "pas-un-uuid"})
    assert harness.client.post("/v1/events", json=incident.model_dump(mode="json"),
                               headers=headers).status_code == 202
    assert harness.client.post("/v1/events", json=alert.model_dump(mode="json"),
                               headers=headers).status_code == 202
    assert harness.client.post("/v1/events", json=[e.model_dump(mode="json") for e in batch],
                               headers=headers).status_code == 202
    assert harness.client.post("/v1/events", json=bad.model_dump(mode="json"),
                               headers=headers).status_code == 422

    assert _value("vigie_gateway_requests_total", **route, code="202") == before["202"] + 3
    assert _value("vigie_gateway_requests_total", **route, code="422") == before["422"] + 1
    assert _value("vigie_gateway_request_duration_seconds_count", **route) == before["timed"] + 4
    assert _value("vigie_gateway_events_published_total", partner=A,
                  lane="INCIDENT") == before["incident"] + 3
    assert _value("vigie_gateway_events_published_total", partner=A,
                  lane="ALERT") == before["alert"] + 1
    assert _value("vigie_gateway_events_refused_total", partner=A,
                  reason="INVALID_EVENT_ID") == before["refused"] + 1
    assert len(harness.publisher.records) == 4  # what the counters say went out, went out


def test_a_repeated_post_is_counted_as_such_not_as_published(harness: Harness) -> None:
    event = partner_event(A, "60057", fresh=True)
    harness.gateway.index.add(A, acknowledgement(
        partner_id=A, event_id=event.event_id, status=AckStatus.ROUTED,
        ack_id=str(uuid.uuid4())))
    published = _value("vigie_gateway_events_published_total", partner=A, lane="INCIDENT")
    repeated = _value("vigie_gateway_events_repeated_total", partner=A)
    answer = harness.client.post("/v1/events", json=event.model_dump(mode="json"),
                                 headers=harness.headers(A))
    assert answer.status_code == 202 and harness.publisher.records == []
    assert _value("vigie_gateway_events_published_total", partner=A,
                  lane="INCIDENT") == published
    assert _value("vigie_gateway_events_repeated_total", partner=A) == repeated + 1


def test_labels_are_route_templates_never_ids_nor_paths(harness: Harness) -> None:
    event_id = str(uuid.uuid4())
    get = {"route": "/v1/events/{event_id}", "method": "GET"}
    found = _value("vigie_gateway_requests_total", **get, code="404")
    unmatched = _value("vigie_gateway_requests_total", route="unmatched", method="GET",
                       code="404")
    odd = _value("vigie_gateway_requests_total", route="unmatched", method="OTHER", code="404")
    assert harness.client.get(f"/v1/events/{event_id}",
                              headers=harness.headers(A)).status_code == 404
    assert harness.client.get("/wp-admin/setup.php").status_code == 404
    assert harness.client.request("PROPFIND", "/x").status_code == 404
    assert _value("vigie_gateway_requests_total", **get, code="404") == found + 1
    assert _value("vigie_gateway_requests_total", route="unmatched", method="GET",
                  code="404") == unmatched + 1
    assert _value("vigie_gateway_requests_total", route="unmatched", method="OTHER",
                  code="404") == odd + 1
    text = _scrape(harness)
    assert event_id not in text and "wp-admin" not in text and "PROPFIND" not in text


def test_metrics_are_the_gateway_s_only_and_not_in_the_contract(harness: Harness) -> None:
    """Its own registry: none of the workers' series (a gateway is not a worker that is not
    ready); /metrics is for Prometheus, not partners: absent from the OpenAPI document."""
    names = {family.name for family in text_string_to_metric_families(_scrape(harness))}
    assert "vigie_gateway_requests" in names and "vigie_gateway_webhook_backlog" in names
    assert not [n for n in names if n.startswith("vigie_") and
                not n.startswith("vigie_gateway_")]
    assert "/metrics" not in harness.client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(("answer", "error", "outcome"), [
    (httpx.Response(204), None, "delivered"),
    (httpx.Response(410), None, "http_4xx"),
    (httpx.Response(503), None, "http_5xx"),
    (httpx.Response(302), None, "http_other"),
    (None, httpx.ReadTimeout("slow"), "timeout"),
    (None, httpx.ConnectError("refused"), "transport_error"),
])
def test_webhook_outcomes_are_a_closed_set(answer: httpx.Response | None,
                                           error: Exception | None, outcome: str) -> None:
    assert metrics.webhook_outcome(answer, error) == outcome


class _Consumer:
    """The few calls a dispatcher makes of its consumer while delivering and measuring."""

    def __init__(self, tp: TopicPartition, position: int, end: int) -> None:
        self.tp, self._position, self._end = tp, position, end

    def assignment(self) -> set[TopicPartition]:
        return {self.tp}

    def last_stable_offset(self, tp: TopicPartition) -> int:
        return self._end

    def highwater(self, tp: TopicPartition) -> int:
        return self._end

    async def position(self, tp: TopicPartition) -> int:
        return self._position


def test_a_failing_webhook_moves_the_deliveries_and_retry_gauges(tmp_path: Path) -> None:
    """The receiver answers 503, then times out, then 200: two failures and one delivery
    counted; while it fails, one delivery is retrying and the failing-since gauge holds when
    the first failure happened; both drop back once delivered."""
    partner = "opac-oise"
    entry, _, _ = new_credentials(partner, "http://receiver.test/acks")
    config = GatewaySettings(token_key="k" * 40, partners_file=tmp_path / "p.json",
                             webhook_backoff_initial_seconds=0.01,
                             webhook_backoff_max_seconds=0.02)
    seen: list[tuple[float, float]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append((_value("vigie_gateway_webhook_retrying", partner=partner),
                     _value("vigie_gateway_webhook_failing_since_timestamp_seconds",
                            partner=partner)))
        if len(seen) == 1:
            return httpx.Response(503)
        if len(seen) == 2:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200)

    def count(outcome: str) -> float:
        return _value("vigie_gateway_webhook_deliveries_total", partner=partner,
                      outcome=outcome)

    before = {o: count(o) for o in ("delivered", "http_5xx", "timeout")}
    tp = TopicPartition(f"partner.{partner}.acks.v1", 0)
    ack = acknowledgement(partner_id=partner, event_id=str(uuid.uuid4()))

    async def go() -> bool:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
            dispatcher = WebhookDispatcher(Settings(_env_file=None), config, entry, http,
                                           asyncio.Event())
            consumer = _Consumer(tp, position=10, end=13)
            await dispatcher._measure_backlog(consumer, {})  # type: ignore[arg-type]
            assert _value("vigie_gateway_webhook_backlog", partner=partner) == 3
            return await dispatcher._deliver(consumer, tp, ack)  # type: ignore[arg-type]

    assert asyncio.run(go())
    assert {o: count(o) - before[o] for o in before} == {
        "delivered": 1, "http_5xx": 1, "timeout": 1}
    # Before the first attempt nothing failed; during the retries one delivery was failing,
    # since the first failure (a real epoch time).
    assert seen[0] == (0.0, 0.0)
    assert seen[1][0] == seen[2][0] == 1.0
    assert seen[1][1] == seen[2][1] > 1.7e9
    assert _value("vigie_gateway_webhook_retrying", partner=partner) == 0
    assert _value("vigie_gateway_webhook_failing_since_timestamp_seconds", partner=partner) == 0


def test_the_gateway_alert_rules_name_metrics_the_gateway_exports(harness: Harness) -> None:
    """What tests/integration/test_observability.py does for the workers' rules: an alert on
    a renamed series would never fire."""
    yaml = pytest.importorskip("yaml")
    rules = Path(__file__).resolve().parents[3] / "deploy/prometheus/rules/gateway.rules.yml"
    exprs = [rule["expr"] for group in yaml.safe_load(rules.read_text())["groups"]
             for rule in group["rules"]]
    named = {n for e in exprs for n in re.findall(r"\bvigie_[a-z0-9_]+", e)}
    families = list(text_string_to_metric_families(_scrape(harness)))
    # Family names (declared, even with no series yet) and sample names (``_total`` …).
    exported = {f.name for f in families} | {s.name for f in families for s in f.samples}
    assert exprs and named and named <= exported, named - exported

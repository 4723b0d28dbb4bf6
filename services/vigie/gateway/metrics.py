"""The gateway's Prometheus metrics, served on its own ``/metrics``.

Why a registry of its own (not prometheus-client's default, where ``vigie.metrics`` declares
the workers'): the gateway imports parts of the pipeline, and with them the workers' series
(``vigie_worker_ready`` 0 among them), which a gateway scrape must not export as if it were a
worker. Same conventions as ``vigie.metrics``: base units (seconds), counters in ``_total``,
bounded labels only: the route's template (``/v1/events/{event_id}``, never the path with an
event id), the HTTP method (a closed set), the status code, the partner id (the gateway's
partners file, itself from the registry of participants), the lane and reason codes (closed
sets), the webhook outcome (a closed set). Never an event id, a token or a partner's text.
"""

from __future__ import annotations

import time

import httpx
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigie.metrics import LATENCY_BUCKETS

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

REQUESTS = Counter(
    "vigie_gateway_requests", "HTTP requests answered, by route template, method and status",
    ["route", "method", "code"], registry=REGISTRY)
REQUEST_DURATION = Histogram(
    "vigie_gateway_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method "
    "(a POST includes the broker's acknowledgement of the published events)",
    ["route", "method"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
EVENTS_PUBLISHED = Counter(
    "vigie_gateway_events_published",
    "Events published to a partner's input topic (acknowledged by the broker), by lane",
    ["partner", "lane"], registry=REGISTRY)
EVENTS_REPEATED = Counter(
    "vigie_gateway_events_repeated",
    "Events POSTed again after the pipeline had taken them: answered 202, not published",
    ["partner"], registry=REGISTRY)
EVENTS_REFUSED = Counter(
    "vigie_gateway_events_refused",
    "Events of refused POSTs (422/403), by the reason code of their first issue",
    ["partner", "reason"], registry=REGISTRY)
WEBHOOK_DELIVERIES = Counter(
    "vigie_gateway_webhook_deliveries",
    "Webhook POST attempts by outcome: delivered (2xx), http_4xx, http_5xx, http_other, "
    "timeout, transport_error (each failure is retried)",
    ["partner", "outcome"], registry=REGISTRY)
WEBHOOK_RETRYING = Gauge(
    "vigie_gateway_webhook_retrying",
    "Acknowledgements whose delivery failed at least once and is being retried (at most one "
    "per acks partition this replica owns: the ones behind it wait)",
    ["partner"], registry=REGISTRY)
WEBHOOK_FAILING_SINCE = Gauge(
    "vigie_gateway_webhook_failing_since_timestamp_seconds",
    "When the oldest delivery still being retried first failed (epoch seconds); 0 when "
    "none is failing",
    ["partner"], registry=REGISTRY)
WEBHOOK_BACKLOG = Gauge(
    "vigie_gateway_webhook_backlog",
    "Acknowledgements on the partner's acks topic not yet delivered by this replica, as of "
    "its last fetch (offsets, on the partitions it owns)",
    ["partner"], registry=REGISTRY)

#: Methods kept as they are; anything else a client sends is counted as OTHER.
METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: The route label of a request no route matched (a scan, a typo): one series, not one per path.
UNMATCHED = "unmatched"


def exposition() -> tuple[bytes, str]:
    """The body and content type of ``/metrics``."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def webhook_outcome(answer: httpx.Response | None, error: Exception | None = None) -> str:
    """The delivery's ``outcome`` label: a closed set, never the receiver's text."""
    if answer is not None:
        code = answer.status_code
        if 200 <= code < 300:
            return "delivered"
        if 400 <= code < 600:
            return f"http_{code // 100}xx"
        return "http_other"
    return "timeout" if isinstance(error, httpx.TimeoutException) else "transport_error"


class RequestMetrics:
    """ASGI middleware counting every answer and timing it, by the matched route's template.

    Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which would buffer streamed
    bodies; the route is read from the scope after the app ran (FastAPI's router puts the
    matched route there, also for a 405), so an event id in the path never becomes a label.
    An exception escaping the app is counted as the 500 the server then answers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope.get("method", "")
            method = method if method in METHODS else "OTHER"
            REQUESTS.labels(route, method, str(status["code"])).inc()
            REQUEST_DURATION.labels(route, method).observe(time.perf_counter() - start)

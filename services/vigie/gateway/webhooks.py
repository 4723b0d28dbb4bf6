"""Acknowledgements POSTed to a partner's webhook: signed, retried, never lost.

Driven from the partner's acks topic by a consumer group of the gateway's replicas
(``<app_id>-gateway-webhook-<partner>``, ``read_committed``): a record's offset is committed
only once its POST was answered 2xx, and a POST is retried (doubling backoff, capped) for as
long as the receiver fails. A receiver down for a while gets everything after it comes back,
in order per partition; a gateway that dies between a successful POST and its commit sends
that acknowledgement again. So each acknowledgement arrives at least once, and the
``Idempotency-Key`` header (its ``ack_id``, stable even across a worker's replay) lets the
receiver keep it exactly once.

The body is the acknowledgement as JSON (the same as in ``GET /v1/events/{id}``); the
``X-Vigie-Signature`` header is ``sha256=`` + hex HMAC-SHA256 of the body's bytes with the
partner's webhook secret, checked by the receiver with ``verify``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.models import Acknowledgement
from vigie.gateway import metrics
from vigie.gateway.partners import GatewayPartner
from vigie.gateway.settings import GatewaySettings
from vigie.kafka import clients
from vigie.kafka.acl import gateway_group_prefix
from vigie.settings import Settings

log = logging.getLogger("vigie.gateway.webhooks")

SIGNATURE_HEADER = "X-Vigie-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: The dispatcher may retry one record for a long time; Kafka must not take that for a hung
#: consumer (liveness is the heartbeat's business).
MAX_POLL_INTERVAL_MS = 24 * 3600 * 1000


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver checks: the header is the body's signature with its secret."""
    return header is not None and hmac.compare_digest(signature(secret, body), header)


def body_of(ack: Acknowledgement) -> bytes:
    return ack.model_dump_json().encode()


def group_of(settings: Settings, partner_id: str) -> str:
    """The partner's dispatcher group (the gateway login's ACLs allow this prefix only)."""
    return gateway_group_prefix(settings.app_id) + partner_id


class WebhookDispatcher:
    """One partner's webhook deliveries (one per replica; the group shares partitions)."""

    def __init__(self, settings: Settings, config: GatewaySettings, partner: GatewayPartner,
                 http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        assert partner.webhook_url is not None and partner.webhook_secret is not None
        self.settings = settings
        self.config = config
        self.partner = partner
        self.url = str(partner.webhook_url)
        self.secret = partner.webhook_secret.get_secret_value()
        self.http = http
        self.stop = stop
        self.delivered = 0
        self.failures = 0
        #: When each partition's delivery now being retried first failed (epoch seconds, as
        #: the gauge, for PromQL's time()).
        self._failing: dict[TopicPartition, float] = {}
        self._backlog = 0

    async def run(self) -> None:
        consumer = clients.consumer(
            self.settings, topics.partner_acks(self.partner.partner_id),
            group_id=group_of(self.settings, self.partner.partner_id),
            enable_auto_commit=False, isolation_level="read_committed",
            auto_offset_reset=self.config.webhook_start,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS)
        await consumer.start()
        try:
            while not self.stop.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=200)
                await self._measure_backlog(consumer, batch)
                await asyncio.gather(*(self._partition(consumer, tp, records)
                                       for tp, records in batch.items()))
        finally:
            await consumer.stop()

    async def _partition(self, consumer: AIOKafkaConsumer, tp: TopicPartition,
                         records: list[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            try:
                ack = decode(record.value or b"", Acknowledgement)
            except DecodeError:
                log.warning("undecodable acknowledgement skipped",
                            extra={"partner": self.partner.partner_id, "offset": record.offset})
                ack = None
            if ack is not None and not await self._deliver(consumer, tp, ack):
                self._rewind(consumer, tp, record.offset)
                return
            try:
                await consumer.commit({tp: record.offset + 1})
                self._set_backlog(self._backlog - 1)
            except KafkaError as exc:
                # Delivered but not committed (the partition moved, or the coordinator is
                # away): the next owner sends it again, the receiver drops it by its key.
                log.warning("webhook offset not committed",
                            extra={"partner": self.partner.partner_id,
                                   "error": type(exc).__name__})
                self._rewind(consumer, tp, record.offset + 1)
                return

    async def _measure_backlog(
            self, consumer: AIOKafkaConsumer,
            batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """What this replica still has to deliver: the batch in hand and what lies between
        its position and the end of each partition it owns (as of the last fetch: the last
        stable offset, read_committed's end; a transaction marker may count for one)."""
        behind = sum(len(records) for records in batch.values())
        for tp in consumer.assignment():
            end = consumer.last_stable_offset(tp)
            end = consumer.highwater(tp) if end is None else end
            if end is not None:
                behind += max(0, end - await consumer.position(tp))
        self._set_backlog(behind)

    def _set_backlog(self, value: int) -> None:
        self._backlog = max(0, value)
        metrics.WEBHOOK_BACKLOG.labels(self.partner.partner_id).set(self._backlog)

    def _failing_since(self, tp: TopicPartition, failing: bool) -> None:
        """Keep the retry gauges: a partition's delivery starts or stops failing."""
        partner = self.partner.partner_id
        if failing and tp not in self._failing:
            self._failing[tp] = time.time()
            metrics.WEBHOOK_RETRYING.labels(partner).inc()
        elif not failing and tp in self._failing:
            del self._failing[tp]
            metrics.WEBHOOK_RETRYING.labels(partner).dec()
        metrics.WEBHOOK_FAILING_SINCE.labels(partner).set(min(self._failing.values(),
                                                              default=0.0))

    @staticmethod
    def _rewind(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        """Fetch again from ``offset`` what this batch did not finish (if still ours)."""
        if tp in consumer.assignment():
            consumer.seek(tp, offset)

    async def _deliver(self, consumer: AIOKafkaConsumer, tp: TopicPartition,
                       ack: Acknowledgement) -> bool:
        """POST until a 2xx (True), or until stopped or the partition moved (False)."""
        body = body_of(ack)
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: signature(self.secret, body),
                   IDEMPOTENCY_HEADER: ack.ack_id,
                   "User-Agent": "vigie-gateway"}
        try:
            return await self._post_until_delivered(
                consumer, tp, body, headers, self.config.webhook_backoff_initial_seconds)
        finally:
            self._failing_since(tp, failing=False)

    async def _post_until_delivered(self, consumer: AIOKafkaConsumer, tp: TopicPartition,
                                    body: bytes, headers: dict[str, str], delay: float) -> bool:
        deliveries = metrics.WEBHOOK_DELIVERIES
        attempt = 0
        while not self.stop.is_set() and tp in consumer.assignment():
            attempt += 1
            try:
                answer = await self.http.post(self.url, content=body, headers=headers,
                                              timeout=self.config.webhook_timeout_seconds)
                label = metrics.webhook_outcome(answer)
                deliveries.labels(self.partner.partner_id, label).inc()
                if 200 <= answer.status_code < 300:
                    self.delivered += 1
                    return True
                outcome = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                deliveries.labels(self.partner.partner_id,
                                  metrics.webhook_outcome(None, exc)).inc()
                outcome = type(exc).__name__
            self.failures += 1
            self._failing_since(tp, failing=True)
            if attempt == 1 or attempt % 10 == 0:
                log.warning("webhook delivery failed, retrying",
                            extra={"partner": self.partner.partner_id, "outcome": outcome,
                                   "attempt": attempt})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.config.webhook_backoff_max_seconds)
        return False

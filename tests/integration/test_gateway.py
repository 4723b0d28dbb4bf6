"""The partner gateway on the real broker, with a real worker and a real webhook receiver.

Two partners POST over HTTP; their events are routed by the worker; each partner reads its
acknowledgements (GET) and receives them on its webhook exactly once, signed with its own
secret; partner A can neither read B's events nor post as B; a retried POST changes
nothing; a receiver down for a while (30 s by default, ``VIGIE_TEST_WEBHOOK_DOWN_SECONDS``)
gets every acknowledgement once it is back, even though the gateway was killed meanwhile
(its successor resumes from the offsets committed after each successful POST).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import partner_event
from tests.integration.kafka_tools import consume, free_port
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category
from vigie.contracts.models import Acknowledgement, PartnerEvent
from vigie.gateway.launcher import GatewayProcess
from vigie.gateway.partners import GatewayPartners, new_credentials, save_partners
from vigie.gateway.settings import GatewaySettings
from vigie.settings import Settings

pytestmark = pytest.mark.integration

CREIL, BEAUVAIS = "60175", "60057"
DOWN_SECONDS = float(os.environ.get("VIGIE_TEST_WEBHOOK_DOWN_SECONDS", "30"))


@dataclass
class Receiver:
    """A partner's webhook endpoint: keeps every delivery (path, signature, key, body)."""

    port: int
    deliveries: list[tuple[str, str, str, bytes]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def hook(request: web.Request) -> web.Response:
            self.deliveries.append((request.match_info["partner"],
                                    request.headers.get("X-Vigie-Signature", ""),
                                    request.headers.get("Idempotency-Key", ""),
                                    await request.read()))
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hooks/{partner}", hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def acks(self, partner: str) -> list[Acknowledgement]:
        return [Acknowledgement.model_validate_json(body)
                for path, _, _, body in self.deliveries if path == partner]


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out: {what}")


def _body(event: PartnerEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


async def _acks_on_kafka(settings: Settings, partner: str, count: int) -> list[Acknowledgement]:
    records = await consume(settings, [topics.partner_acks(partner)],
                            until=lambda rs: len(rs) >= count, timeout=30, settle=1.0)
    return [decode(r.value or b"", Acknowledgement) for r in records]


async def test_two_partners_over_http(start_worker, kafka_settings: Settings,  # type: ignore[no-untyped-def]
                                      partners: list[str], tmp_path: Path) -> None:
    a, b = partners
    settings = kafka_settings.model_copy(update={"partners": partners})
    start_worker()
    receiver = Receiver(free_port())
    await receiver.start()
    registry, client_secrets, hook_secrets = GatewayPartners(), {}, {}
    for partner in partners:
        entry, client_secret, hook_secret = new_credentials(
            partner, f"http://127.0.0.1:{receiver.port}/hooks/{partner}")
        registry = registry.with_partner(entry)
        client_secrets[partner], hook_secrets[partner] = client_secret, hook_secret
    save_partners(tmp_path / "partners.json", registry)
    config = GatewaySettings(port=free_port(), partners_file=tmp_path / "partners.json",
                             token_key="integration-" + "k" * 40,  # type: ignore[arg-type]
                             webhook_backoff_max_seconds=2.0)
    started = [GatewayProcess(settings, tmp_path / "gateway.log", config=config).start()]

    def crash_and_restart() -> None:
        """SIGKILL, as a crash; the next replica resumes from the committed offsets."""
        started[-1].kill()
        started.append(GatewayProcess(settings, tmp_path / "gateway-2.log",
                                      config=config).start())

    try:
        async with httpx.AsyncClient(base_url=started[0].url, timeout=20) as http:
            await _scenario(http, settings, receiver, a, b, client_secrets, hook_secrets,
                            crash_and_restart)
    finally:
        for gateway in started:
            gateway.stop()
        await receiver.stop()


async def _scenario(http: httpx.AsyncClient, settings: Settings, receiver: Receiver, a: str,
                    b: str, client_secrets: dict[str, str],
                    hook_secrets: dict[str, str | None],
                    crash_and_restart: Callable[[], None]) -> None:
    auth: dict[str, dict[str, str]] = {}
    for partner in (a, b):
        token = await http.post("/v1/oauth/token", data={
            "grant_type": "client_credentials", "client_id": partner,
            "client_secret": client_secrets[partner]})
        assert token.status_code == 200
        auth[partner] = {"Authorization": f"Bearer {token.json()['access_token']}"}

    # A: a batch of two incidents and an alert alone; B: two incidents.
    events = {a: [partner_event(a, CREIL, fresh=True), partner_event(a, BEAUVAIS, fresh=True),
                  partner_event(a, CREIL, fresh=True, category=Category.STAFF_AGGRESSION)],
              b: [partner_event(b, BEAUVAIS, fresh=True), partner_event(b, CREIL, fresh=True)]}
    batch = await http.post("/v1/events", json=[_body(e) for e in events[a][:2]],
                            headers=auth[a])
    assert batch.status_code == 202, batch.text
    single = await http.post("/v1/events", json=_body(events[a][2]), headers=auth[a])
    assert single.status_code == 202
    for event in events[b]:
        assert (await http.post("/v1/events", json=_body(event), headers=auth[b])).status_code \
            == 202

    # A may not post as B: refused, nothing published.
    forged = partner_event(b, CREIL, fresh=True)
    refused = await http.post("/v1/events", json=_body(forged), headers=auth[a])
    assert refused.status_code == 403
    assert refused.json()["reason_code"] == "SENDER_MISMATCH"

    async def routed(partner: str, event_id: str) -> bool:
        answer = await http.get(f"/v1/events/{event_id}", headers=auth[partner])
        return answer.status_code == 200 and answer.json()["status"] == "ROUTED"

    async def all_routed() -> bool:
        return all([await routed(p, e.event_id) for p in (a, b) for e in events[p]])

    await _until(all_routed, 60, "every event ROUTED, read over GET")
    view = (await http.get(f"/v1/events/{events[a][2].event_id}", headers=auth[a])).json()
    assert view["history"][0]["status"] == "ROUTED" and view["history"][0]["units"]
    # A cannot read B's event (nor learn that it exists), and B the other way round.
    for reader, owner in ((a, b), (b, a)):
        foreign = await http.get(f"/v1/events/{events[owner][0].event_id}",
                                 headers=auth[reader])
        assert foreign.status_code == 404

    # A retried POST: the same answer, and the pipeline routed the event once.
    again = await http.post("/v1/events", json=[_body(e) for e in events[a][:2]],
                            headers=auth[a])
    assert (again.status_code, again.json()) == (202, batch.json())

    # Everything so far reached the receivers (so no delivery is in flight when it stops).
    async def delivered(partner: str) -> bool:
        sent = {x.ack_id for x in await _acks_on_kafka(settings, partner, len(events[partner]))}
        return {x.ack_id for x in receiver.acks(partner)} >= sent

    await _until(lambda: delivered(a), 60, "A's first acknowledgements delivered")
    # The receiver goes down; A's next events are routed meanwhile.
    await receiver.stop()
    down_since = time.monotonic()
    late = [partner_event(a, BEAUVAIS, fresh=True), partner_event(a, CREIL, fresh=True)]
    answer = await http.post("/v1/events", json=[_body(e) for e in late], headers=auth[a])
    assert answer.status_code == 202
    events[a] += late

    async def late_routed() -> bool:
        return all([await routed(a, e.event_id) for e in late])

    await _until(late_routed, 60, "the late events ROUTED")
    # The gateway dies while acknowledgements wait for the receiver: nothing is lost.
    await asyncio.to_thread(crash_and_restart)
    await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_since)))
    await receiver.start()

    # Every acknowledgement on each partner's topic reaches its webhook, once, signed.
    expected: dict[str, list[Acknowledgement]] = {}
    for partner in (a, b):
        expected[partner] = await _acks_on_kafka(settings, partner, len(events[partner]))

    async def all_delivered() -> bool:
        return all({x.ack_id for x in receiver.acks(p)} >= {x.ack_id for x in expected[p]}
                   for p in (a, b))

    await _until(all_delivered, 60, "every acknowledgement delivered after the receiver's return")
    await asyncio.sleep(2.0)  # anything extra would arrive now
    for partner in (a, b):
        got = receiver.acks(partner)
        ids = [x.ack_id for x in got]
        assert sorted(ids) == sorted(x.ack_id for x in expected[partner])  # each exactly once
        assert {x.partner_id for x in got} == {partner}
        assert {x.event_id for x in got if x.status is AckStatus.ROUTED} == \
            {e.event_id for e in events[partner]}
        routed_once: dict[tuple[str | None, AckStatus], int] = defaultdict(int)
        for x in got:
            routed_once[(x.event_id, x.status)] += 1
        assert all(n == 1 for (_, status), n in routed_once.items()
                   if status is AckStatus.ROUTED)
    secret_of = {p: (s or "").encode() for p, s in hook_secrets.items()}
    for path, header, key, body in receiver.deliveries:
        expected_sig = "sha256=" + hmac.new(secret_of[path], body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(header, expected_sig)
        assert key == json.loads(body)["ack_id"]
        other = "sha256=" + hmac.new(secret_of[b if path == a else a], body,
                                     hashlib.sha256).hexdigest()
        assert header != other
    # Nothing was published for the forged event, and the retried batch was not routed again.
    statuses = [(x.event_id, x.status) for x in expected[a] + expected[b]]
    assert all(event_id != forged.event_id for event_id, _ in statuses)
    assert all(status in (AckStatus.ROUTED, AckStatus.DUPLICATE) for _, status in statuses)
    inputs = await consume(settings, [topics.partner_incidents(a)],
                           until=lambda rs: True, timeout=10, settle=1.0)
    retried = {e.event_id for e in events[a][:2]}
    copies = sum(r.key.decode() in retried for r in inputs)
    duplicates = sum(s is AckStatus.DUPLICATE and i in retried for i, s in statuses)
    assert copies == len(retried) + duplicates

    # The restarted gateway's /metrics tell the same story: it delivered A's acknowledgements
    # that waited for the receiver (at least the two late events' ROUTED), nothing is being
    # retried any more, and no series names an event id.
    scrape = await http.get("/metrics")
    assert scrape.status_code == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scrape.text)
               for s in family.samples}

    def sample(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert sample("vigie_gateway_webhook_deliveries_total", partner=a,
                  outcome="delivered") >= len(late)
    for partner in (a, b):
        assert sample("vigie_gateway_webhook_retrying", partner=partner) == 0
        assert sample("vigie_gateway_webhook_failing_since_timestamp_seconds",
                      partner=partner) == 0
    assert not [e.event_id for p in (a, b) for e in events[p] if e.event_id in scrape.text]

"""The partner gateway (``vigie gateway``) against the same worker as the Kafka path.

Three phases of fresh incidents from one landlord, each measured from the sender's side
(publish or POST until the broker or the gateway said yes) and end to end (until the
worker's ROUTED acknowledgement is readable on the partner's acks topic):

* ``kafka``: the partner's own producer (acks=all), every record in flight at once;
* ``http_single``: one event per ``POST /v1/events``, ``CONCURRENCY`` requests in flight;
* ``http_batch``: ``BATCH`` events per POST, ``BATCH_CONCURRENCY`` requests in flight.

The load generator (aiohttp client), the gateway (one uvicorn process), the worker and the
broker share this machine's cores: the figures are what one gateway process sustains beside
them, not a capacity plan. The gateway's rate limit is lifted for the run.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.feeds import CALM, partner_sites
from bench.kafka_io import commit_group, count_outputs, end_offsets
from bench.latency_stats import Routed, tail
from bench.ports import listen_port
from bench.session import PARTNERS, Bench
from bench.worker import start_worker, wait_ready
from vigie.contracts import topics
from vigie.contracts.models import PartnerEvent
from vigie.gateway.launcher import GatewayProcess
from vigie.gateway.partners import GatewayPartners, new_credentials, save_partners
from vigie.gateway.settings import GatewaySettings
from vigie.kafka import clients
from vigie.kafka.publish import partner_record
from vigie.simulation.feed import make_event

PARTNER = PARTNERS[0]
CONCURRENCY = 16
BATCH = 50
BATCH_CONCURRENCY = 4


def _events(count: int, rng: random.Random) -> list[PartnerEvent]:
    sites, now = partner_sites(PARTNER), datetime.now(UTC)
    return [make_event(rng.choice(sites), rng, now, category=rng.choice(CALM))
            for _ in range(count)]


def _summary(name: str, events: int, requests: int, elapsed: float,
             request_ms: list[float], routed: Routed) -> dict[str, Any]:
    own = tail(request_ms, len(request_ms))
    end_to_end = tail(routed.visible_ms, events)
    return {
        "events": events,
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "events_per_s": round(events / elapsed, 1),
        "request_p50_ms": own["p50_ms"],
        "request_p99_ms": own["p99_ms"],
        "routed": len(routed.seen),
        "routed_p50_ms": end_to_end["p50_ms"],
        "routed_p99_ms": end_to_end["p99_ms"],
        "routed_p99_lower_bound": end_to_end["p99_lower_bound"],
        "path": name,
    }


async def _kafka(bench: Bench, events: list[PartnerEvent], sent: dict[bytes, float]
                 ) -> tuple[int, float, list[float]]:
    producer = clients.producer(bench.settings, acks="all", linger_ms=5)
    await producer.start()
    latencies: list[float] = []
    try:
        t0 = time.perf_counter()
        futures = []
        for event in events:
            topic, key, value = partner_record(event)
            sent[event.event_id.encode()] = time.time()
            started = time.perf_counter()
            future = await producer.send(topic, value, key=key)
            future.add_done_callback(
                lambda _f, s=started: latencies.append((time.perf_counter() - s) * 1000))
            futures.append(future)
        await asyncio.gather(*futures)
        return len(events), time.perf_counter() - t0, latencies
    finally:
        await producer.stop()


async def _http(url: str, token: str, bodies: list[tuple[list[PartnerEvent], bool]],
                concurrency: int, sent: dict[bytes, float]) -> tuple[int, float, list[float]]:
    """POST each body (events, as a batch or not) with ``concurrency`` in flight."""
    latencies: list[float] = []
    queue = list(reversed(bodies))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    failures: list[int] = []

    async def client(session: aiohttp.ClientSession) -> None:
        while queue:
            events, batch = queue.pop()
            data = ("[" + ",".join(e.model_dump_json() for e in events) + "]" if batch
                    else events[0].model_dump_json())
            started = time.perf_counter()
            for event in events:
                sent[event.event_id.encode()] = time.time()
            async with session.post(f"{url}/v1/events", data=data, headers=headers) as answer:
                await answer.read()
                if answer.status != 202:
                    failures.append(answer.status)
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"gateway refused {len(failures)} requests: {sorted(set(failures))}")
    return len(bodies), elapsed, latencies


async def gateway(bench: Bench) -> dict[str, Any]:
    count = 1000 if bench.args.quick else 4000
    app_id = f"vigie-bench-gw-{uuid.uuid4().hex[:6]}"
    await commit_group(bench.settings, app_id,
                       await end_offsets(bench.settings, bench.input_topics()))
    worker = start_worker(bench.worker_settings(app_id), bench.workdir / f"{app_id}.log")
    entry, secret, _ = new_credentials(PARTNER)
    partners_file = bench.workdir / f"{app_id}-partners.json"
    save_partners(partners_file, GatewayPartners(partners=[entry]))
    config = GatewaySettings(port=listen_port(), partners_file=partners_file,
                             token_key=f"bench-{uuid.uuid4().hex}",  # type: ignore[arg-type]
                             rate_per_second=1e9, burst=10**9, max_batch=BATCH,
                             ack_window_hours=0.01)  # not the earlier runs' acks
    gw = GatewayProcess(bench.settings.model_copy(update={"app_id": app_id}),
                        bench.workdir / f"{app_id}-gateway.log", config=config,
                        loglevel="warning")
    rng = random.Random(1717)
    results: dict[str, Any] = {"concurrency": CONCURRENCY, "batch": BATCH,
                               "batch_concurrency": BATCH_CONCURRENCY}
    counter: asyncio.Task[Any] | None = None
    try:
        await wait_ready(worker)
        await asyncio.to_thread(gw.start)
        form = {"grant_type": "client_credentials", "client_id": PARTNER,
                "client_secret": secret}
        async with aiohttp.ClientSession() as session, \
                session.post(f"{gw.url}/v1/oauth/token", data=form) as answer:
            token = (await answer.json())["access_token"]
        acks = [topics.partner_acks(PARTNER)]
        for name in ("kafka", "http_single", "http_batch"):
            events = _events(count, rng)
            sent: dict[bytes, float] = {}
            routed = Routed(sent)
            starts = await end_offsets(bench.settings, acks)
            counter = asyncio.create_task(count_outputs(
                bench.settings, starts, count, timeout=180, on_record=routed.on_record))
            if name == "kafka":
                requests, elapsed, latencies = await _kafka(bench, events, sent)
            elif name == "http_single":
                requests, elapsed, latencies = await _http(
                    gw.url, token, [([e], False) for e in events], CONCURRENCY, sent)
            else:
                bodies = [(events[i:i + BATCH], True) for i in range(0, count, BATCH)]
                requests, elapsed, latencies = await _http(gw.url, token, bodies,
                                                           BATCH_CONCURRENCY, sent)
            await counter
            results[name] = _summary(name, count, requests, elapsed, latencies, routed)
    finally:
        # Every server of the run goes, whatever happened: the next run's ports are free.
        if counter is not None and not counter.done():
            counter.cancel()
        gw.stop()
        worker.stop()
    return results

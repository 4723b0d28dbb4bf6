"""One partner floods its topics (an incident backlog, a burst of alerts, oversized and
malformed messages) while another sends a few urgent alerts: the flood must not delay the
other partner's alerts, and each bad message must be rejected (ack or dead letter).

Two phases, each with a fresh worker: QUIET_PARTNER alone, then the same while FLOOD_PARTNER
floods; the result compares them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from bench.feeds import URGENT, partner_feed, partner_sites
from bench.kafka_io import Count, end_offsets, publish_bulk
from bench.runs.alerts import alert_run
from bench.session import Bench, console
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category
from vigie.contracts.models import Acknowledgement, DeadLetter, SiteRecord
from vigie.contracts.reasons import ReasonCode
from vigie.kafka import clients
from vigie.kafka.admin import planned_topics
from vigie.simulation.feed import FeedMessage, make_event, malformed, to_message

QUIET_PARTNER, FLOOD_PARTNER = "opac-oise", "clesence"
FLOOD_ALERT_SHARE = 0.05       # urgent alerts in the flood, per incident
FLOOD_MALFORMED_SHARE = 0.03   # malformed messages (the realistic mix's share)
FLOOD_OVERSIZED_SHARE = 0.002  # oversized messages
#: > max_message_bytes (64 KiB), < the broker's message.max.bytes (1 MiB); the last two are
#: above the worker's max_partition_fetch_bytes (256 KiB).
OVERSIZED_BYTES = (80 * 1024, 200 * 1024, 512 * 1024, 900 * 1024)
#: The last two are also above the partner topics' own max.message.bytes (256 KiB,
#: Settings.partner_topic_max_message_bytes), which would refuse them at produce time: the
#: flood partner's input topics take up to the broker's limit instead, so the run still
#: measures the worker's answer to them (as on a cluster whose limit was raised).
FLOOD_TOPIC_MAX_MESSAGE_BYTES = 1_048_588


async def flood(bench: Bench) -> dict[str, Any]:
    await raise_flood_limit(bench)
    quiet = await _phase(bench, flood=False)
    console.print(f"  flood, quiet phase: {quiet}")
    flooded = await _phase(bench, flood=True)

    def ratio(key: str) -> float | None:
        a, b = quiet.get(key), flooded.get(key)
        return round(b / a, 2) if a and b else None

    return {
        "partner": QUIET_PARTNER,
        "flooding_partner": FLOOD_PARTNER,
        "alert_rate": bench.args.flood_alert_rate,
        "quiet": quiet,
        "flood": flooded,
        "p50_ratio": ratio("p50_ms"),
        "p99_ratio": ratio("p99_ms"),
        "own_incidents_eps_ratio": ratio("own_incidents_eps"),
    }


async def _phase(bench: Bench, *, flood: bool) -> dict[str, Any]:
    """One fresh worker; QUIET_PARTNER's urgent alerts at --flood-alert-rate while its
    own incident backlog drains, and (``flood``) while FLOOD_PARTNER's flood drains."""
    args = bench.args
    tag = "flood" if flood else "quiet"
    app_id = f"vigie-bench-{tag}-{uuid.uuid4().hex[:6]}"
    starts = await end_offsets(bench.settings, bench.input_topics())  # what follows is ours
    seed = 7100 if flood else 7000
    own = partner_feed(QUIET_PARTNER, args.flood_own_backlog, seed=seed)
    messages = list(own)
    flood_msgs: list[FeedMessage] = []
    if flood:
        flood_msgs = flood_feed(FLOOD_PARTNER, args.flood_backlog, seed=seed + 1)
        messages += flood_msgs
    t0 = time.perf_counter()
    placed = await publish_bulk(bench.settings, messages)
    published_s = time.perf_counter() - t0
    expected = {(m.topic, meta.partition, meta.offset): m.expect.split(":", 1)[1]
                for m, meta in zip(messages, placed, strict=True)
                if m.expect.startswith("reject:")}
    own_keys = {m.key for m in own}
    own_acks: list[float] = []
    flood_acks: list[bytes] = []
    dead: list[bytes] = []
    own_topic, flood_topic = topics.partner_acks(QUIET_PARTNER), topics.partner_acks(
        FLOOD_PARTNER)

    def on_output(record: Any) -> None:
        if record.topic == own_topic and record.key in own_keys:
            own_acks.append(record.timestamp / 1000)
        elif record.topic == flood_topic:
            flood_acks.append(record.value)
        elif record.topic == topics.DEADLETTER:
            dead.append(record.value)

    def drained() -> bool:
        return len(own_acks) >= len(own) and len(flood_acks) >= len(flood_msgs)

    run = await alert_run(bench, app_id, starts, rate=args.flood_alert_rate,
                          seconds=args.alert_seconds, seed=seed + 2, partner=QUIET_PARTNER,
                          on_output=on_output, drained=drained)
    at_end = run.pop("acks_at_window_end")
    own_eps = Count(count=len(own_acks), first_ts=min(own_acks, default=None),
                    last_ts=max(own_acks, default=None), ts=own_acks).eps()
    result: dict[str, Any] = {
        **run,
        "own_incidents": len(own),
        "own_incidents_acked": len(own_acks),
        "own_incidents_eps": round(own_eps),
        "own_incidents_seconds": round(max(own_acks) - min(own_acks), 2)
        if own_acks else None,
    }
    if flood:
        result.update({
            "flood_messages": len(flood_msgs),
            "flood_published_s": round(published_s, 1),
            "flood_left_at_window_end": max(0, len(flood_msgs) - at_end.get(FLOOD_PARTNER, 0)),
            "flood_acked": len(flood_acks),
            "bad": {**bad_outcomes(expected, flood_acks, dead),
                    "oversized_kib": [b // 1024 for b in OVERSIZED_BYTES]},
        })
    return result


async def raise_flood_limit(bench: Bench) -> None:
    """FLOOD_TOPIC_MAX_MESSAGE_BYTES on the flood partner's input topics. AlterConfigs
    replaces a topic's whole configuration, so the planned one is sent with it."""
    plan = {s.name: s.config for s in planned_topics(bench.settings, bench.unit_ids)}
    names = [topics.partner_incidents(FLOOD_PARTNER), topics.partner_alerts(FLOOD_PARTNER)]
    wanted = str(FLOOD_TOPIC_MAX_MESSAGE_BYTES)
    admin = clients.admin(bench.settings)
    await admin.start()
    try:
        responses = await admin.alter_configs([
            ConfigResource(ConfigResourceType.TOPIC, name,
                           configs={**plan[name], "max.message.bytes": wanted})
            for name in names
        ])
        failed = [r for response in responses for r in response.resources if r[0] != 0]
        if failed:
            raise RuntimeError(f"could not raise max.message.bytes of {names}: {failed}")
        # Applied asynchronously (metadata log): a produce right after may still be refused.
        for _ in range(100):
            described = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
            values = [entry[1] for response in described for resource in response.resources
                      for entry in resource[4] if entry[0] == "max.message.bytes"]
            if values == [wanted] * len(names):
                return
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    raise RuntimeError(f"max.message.bytes of {names} not raised after 10 s")


def oversized(site: SiteRecord, rng: random.Random, now: datetime, size: int, *,
              urgent: bool) -> FeedMessage:
    """A well-formed, correctly keyed event padded to ``size`` bytes (an attachment pasted
    in): above max_message_bytes, below the broker's message.max.bytes."""
    event = make_event(site, rng, now, category=Category.WEAPON if urgent else Category.DAMAGE)
    message = to_message(event, expect=f"reject:{ReasonCode.OVERSIZED.value}")
    return replace(message, value=message.value + rng.randbytes(size - len(message.value)))


def flood_feed(partner: str, incidents: int, *, seed: int) -> list[FeedMessage]:
    """A partner flooding its topics, shuffled together: ``incidents`` incidents, a burst of
    urgent alerts (FLOOD_ALERT_SHARE of it), malformed messages (FLOOD_MALFORMED_SHARE, the
    feed's four kinds) and oversized ones (FLOOD_OVERSIZED_SHARE, sizes OVERSIZED_BYTES in
    turn, on both topics)."""
    sites, rng, now = partner_sites(partner), random.Random(seed), datetime.now(UTC)
    out = partner_feed(partner, incidents, seed=rng.randrange(2**31))  # other ids than rng's
    out += [to_message(make_event(rng.choice(sites), rng, now, category=rng.choice(URGENT)))
            for _ in range(round(incidents * FLOOD_ALERT_SHARE))]
    out += [malformed(rng.choice(sites), rng, now)
            for _ in range(round(incidents * FLOOD_MALFORMED_SHARE))]
    out += [oversized(rng.choice(sites), rng, now, OVERSIZED_BYTES[i % len(OVERSIZED_BYTES)],
                      urgent=i % 2 == 1)
            for i in range(max(len(OVERSIZED_BYTES), round(incidents * FLOOD_OVERSIZED_SHARE)))]
    rng.shuffle(out)
    return out


def bad_outcomes(expected: dict[tuple[str, int, int], str], acks: list[bytes],
                 dead: list[bytes]) -> dict[str, Any]:
    """Did each oversized or malformed message (by its Kafka coordinates → expected reason)
    get a REJECTED ack or a dead letter? Decoded after the run (no CPU taken meanwhile)."""
    rejected: dict[tuple[str, int, int], str | None] = {}
    for value in acks:
        ack = decode(value, Acknowledgement)
        if ack.status is AckStatus.REJECTED and ack.source is not None:
            where = (ack.source.topic, ack.source.partition, ack.source.offset)
            if where in expected:
                rejected[where] = ack.reason_code
    lettered = set()
    for value in dead:
        letter = decode(value, DeadLetter, max_bytes=len(value))  # holds the oversized
        where = (letter.source.topic, letter.source.partition, letter.source.offset)
        if where in expected:
            lettered.add(where)
    kinds = Counter(expected.values())
    return {
        "sent": len(expected),
        "oversized": kinds.get(ReasonCode.OVERSIZED.value, 0),
        "malformed": len(expected) - kinds.get(ReasonCode.OVERSIZED.value, 0),
        "by_expected_reason": dict(sorted(kinds.items())),
        "rejected_ack": len(rejected),
        "dead_lettered": len(lettered),
        "handled": len(set(rejected) | lettered),
        "reason_as_expected": sum(expected[w] == code for w, code in rejected.items()),
    }

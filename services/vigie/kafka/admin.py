"""Vigie's topics, created explicitly (the broker does not auto-create them), and their
partitions.

One topic per partner and per unit, so that broker ACLs can isolate each of them; reference
topics are compacted (the latest record per key is the truth); the dead-letter topic keeps
its records for a long time since it is where operations look for what went wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError

from vigie.contracts import topics
from vigie.kafka import clients
from vigie.settings import Settings

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


#: The name of the workers' state table (its changelog: ``<app_id>-events-changelog``).
EVENTS_TABLE = "events"


def planned_topics(settings: Settings, unit_ids: Iterable[str]) -> list[TopicSpec]:
    """Every topic Vigie needs for these partners and units, with its class's settings."""
    n = settings.partitions
    # Free text travels in partner and routed topics: keep them short by default.
    event_cfg = {"retention.ms": str(7 * DAY_MS)}
    # What partners write: the broker itself refuses a value far above the contract's limit
    # (Settings.partner_topic_max_message_bytes says why this value).
    partner_cfg = {**event_cfg,
                   "max.message.bytes": str(settings.partner_topic_max_message_bytes)}
    ack_cfg = {"retention.ms": str(30 * DAY_MS)}
    compacted = {"cleanup.policy": "compact"}
    # Hotspot notices are read over weeks (an episode lasts a month or more).
    prevention_cfg = {"retention.ms": str(90 * DAY_MS)}
    specs = [
        TopicSpec(topics.REF_SITES, 1, compacted),
        TopicSpec(topics.REF_COMPETENCE, 1, compacted),
        TopicSpec(topics.REF_UNITS, 1, compacted),
        TopicSpec(topics.REF_RULES, 1, compacted),
        TopicSpec(topics.REF_AVAILABILITY, 1, compacted),
        TopicSpec(topics.DEADLETTER, 1, {"retention.ms": str(30 * DAY_MS)}),
        # The workers' state (vigie.workers.state), co-partitioned with the inputs. It holds
        # the encoded event of routed events (for transfers): compacted for the latest state
        # of each event, and deleted after 30 days like the acknowledgements.
        TopicSpec(topics.changelog(settings.app_id), n,
                  {"cleanup.policy": "compact,delete", "retention.ms": str(30 * DAY_MS)}),
    ]
    for partner in settings.partners:
        specs += [
            TopicSpec(topics.partner_incidents(partner), n, partner_cfg),
            TopicSpec(topics.partner_alerts(partner), n, partner_cfg),
            TopicSpec(topics.partner_acks(partner), n, ack_cfg),
            TopicSpec(topics.partner_prevention(partner), n, prevention_cfg),
            TopicSpec(topics.partner_sandbox(partner), n, event_cfg),
        ]
    for unit in sorted(set(unit_ids)):
        specs += [
            TopicSpec(topics.unit_incidents(unit), n, event_cfg),
            TopicSpec(topics.unit_alerts(unit), n, event_cfg),
            TopicSpec(topics.unit_status(unit), n, ack_cfg),
            TopicSpec(topics.unit_prevention(unit), n, prevention_cfg),
            TopicSpec(topics.unit_feedback(unit), n, ack_cfg),
        ]
    if settings.min_insync_replicas is not None:  # a cluster (settings.py says why 2 of 3)
        isr = {"min.insync.replicas": str(settings.min_insync_replicas)}
        specs = [TopicSpec(s.name, s.partitions, {**s.config, **isr}) for s in specs]
    return specs


async def ensure_topics(settings: Settings, unit_ids: Iterable[str]) -> list[str]:
    """Create the missing topics; return the names created.

    Existing topics are left alone, configuration included: an operator may have changed
    one on purpose (a larger ``max.message.bytes`` for a test, a longer retention), and a
    worker start must not undo it."""
    admin = clients.admin(settings)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(s.name, s.partitions, settings.replication_factor, topic_configs=s.config)
            for s in planned_topics(settings, unit_ids)
            if s.name not in existing
        ]
        for start in range(0, len(missing), 50):
            response = await admin.create_topics(missing[start : start + 50])
            failed = [
                (name, code, message)
                for name, code, message in response.topic_errors
                if code not in (0, TopicAlreadyExistsError.errno)
            ]
            if failed:
                raise RuntimeError(f"topic creation failed: {failed}")
        # Creation is asynchronous on the controller: wait until metadata shows every topic.
        for _ in range(100):
            if {t.name for t in missing} <= set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
        return [t.name for t in missing]
    finally:
        await admin.close()


async def partitions_of(settings: Settings, names: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the named topics that exist (for consumers outside any group,
    which must assign partitions themselves).

    A topic this login may not describe raises ``TopicAuthorizationFailedError`` rather than
    passing for a missing one: the tools must say "refused", not "nothing there"."""
    admin = clients.admin(settings)
    try:
        await admin.start()
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    refused = sorted(t["topic"] for t in described
                     if t["error_code"] == TopicAuthorizationFailedError.errno)
    if refused:
        raise TopicAuthorizationFailedError(refused)
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]

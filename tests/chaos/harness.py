"""Chaos on the real broker: publish a steady feed while workers are SIGKILLed and restarted,
a second worker joins and leaves (rebalances), the broker crashes once, and poison messages
arrive; then read every output with ``read_committed`` and check the delivery guarantee.

Invariants (nothing is deduplicated before counting: raw Kafka records are counted):

* every input record (known by its Kafka coordinates) gets exactly one terminal routing
  acknowledgement (ROUTED, REJECTED, EXPIRED or DUPLICATE), the one its kind calls for;
* every routing decision (event id, destination unit) of a ROUTED ack has exactly one
  RoutedEvent copy, and no copy exists for anything not routed;
* every poison message is rejected with its reason code; the undecodable and oversized ones
  are dead-lettered exactly once with their original bytes.

Used by ``tests/integration/test_chaos.py`` (short form, session broker) and by
``python -m tests.chaos`` (``make chaos``: full size, a broker of its own).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import RecordMetadata

from vigie.broker.local import LocalBroker
from vigie.contracts import topics
from vigie.contracts.codec import decode, encode
from vigie.contracts.enums import AckStatus
from vigie.contracts.models import Acknowledgement, DeadLetter, RoutedEvent, SiteRecord
from vigie.kafka import clients
from vigie.kafka.admin import partitions_of
from vigie.kafka.follow import assigned
from vigie.kafka.publish import publish_at_rate, publish_reference
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import FeedMessage, make_event, scripted_day
from vigie.workers.engine import key_partition
from vigie.workers.launcher import WorkerProcess
from vigie.workers.supervisor import WORKER_ID_ENV

SAMPLE_PARTNERS = ("opac-oise", "oise-habitat", "clesence", "sa-hlm-oise")
ROUTING = {AckStatus.ROUTED, AckStatus.REJECTED, AckStatus.EXPIRED, AckStatus.DUPLICATE}
#: Rejections decided by the codec: the message cannot be read, so it is also dead-lettered.
DECODE_REASONS = {"EMPTY_MESSAGE", "BAD_MARKER", "UNKNOWN_SCHEMA", "TRUNCATED", "TRAILING_BYTES",
                  "OVERSIZED", "SCHEMA_VIOLATION"}
POISON_KINDS = ("undecodable", "oversized", "wrong-key", "other-partner", "spoofed-partition",
                "near-1-mib", "control-characters")
OVERSIZE_BYTES = 70 * 1024  # > the 64 KiB limit (settings.max_message_bytes)
#: Accepted by the broker's default message.max.bytes (1,048,588) with its key and batch; the
#: partner topics of the run have their limit raised to let it through (``Chaos.run``).
NEAR_ONE_MIB = 1_048_450
RAISED_TOPIC_LIMIT = 2 << 20
MAX_READ = 1 << 22  # outputs may carry an oversized original (dead letters)

Coordinates = tuple[str, int, int]


@dataclass(frozen=True)
class ChaosConfig:
    """One chaos run. ``events`` counts the feed; poison messages come on top of it."""

    events: int = 10_000
    kills: int = 6
    rate: float = 30.0  # feed messages per second, steady
    poison_every: int = 50  # one poison message after every N feed messages
    broker_crash: bool = True  # SIGKILL the broker (else a graceful stop) before its restart
    seed: int = 1805
    ready_timeout: float = 120.0
    settle_timeout: float = 300.0  # after the last step, to see every output
    settle: float = 5.0  # extra seconds of reading once everything expected is there


@dataclass(frozen=True)
class Input:
    """One record published to a partner topic, with the outcome it must get."""

    topic: str
    key: bytes | None
    value: bytes
    partner_id: str
    event_id: str | None
    expect: str  # "route", "duplicate", "expired", "reject:<REASON>"
    kind: str  # "feed" or one of POISON_KINDS
    #: Written to this partition instead of the key's (None: the producer's murmur2).
    partition: int | None = None

    @property
    def dead_letter_expected(self) -> bool:
        return self.expect.startswith("reject:") and self.expect[7:] in DECODE_REASONS


@dataclass
class ChaosReport:
    """The figures of one run; ``problems`` lists every broken invariant."""

    inputs: int = 0
    feed: int = 0
    poison: int = 0
    publish_failures: int = 0
    #: Offsets the broker acknowledged twice: records it acked, then lost in its crash.
    offsets_reused: int = 0
    kills: int = 0
    worker_restarts: int = 0
    broker_restarts: int = 0
    rebalances: int = 0
    terminal_acks: int = 0
    unaccounted: int = 0  # inputs without any terminal acknowledgement
    duplicated_acks: int = 0  # raw extra terminal ack records
    duplicated_ack_ids: int = 0  # of which: the very same ack id again (a replay)
    wrong_outcome: int = 0
    unexpected_acks: int = 0  # acks pointing at no published input
    routing_decisions: int = 0
    copies: int = 0
    lost_copies: int = 0
    duplicated_copies: int = 0
    stray_copies: int = 0  # copies of events never routed (rejected, duplicate, expired)
    dead_letters_expected: int = 0
    dead_lettered: int = 0
    lost_dead_letters: int = 0
    duplicated_dead_letters: int = 0
    bad_dead_letters: int = 0  # wrong bytes or no reason
    poison_rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    workdir: str = ""

    @property
    def lost(self) -> int:
        return self.lost_copies + self.lost_dead_letters

    @property
    def ok(self) -> bool:
        return not self.problems

    def rows(self) -> list[tuple[str, str]]:
        poison = ", ".join(f"{k} {self.poison_rejected[k]}" for k in POISON_KINDS)
        return [
            ("events (feed + poison)", f"{self.inputs} ({self.feed} + {self.poison})"),
            ("worker kills (SIGKILL)", str(self.kills)),
            ("worker restarts", str(self.worker_restarts)),
            ("broker restarts", f"{self.broker_restarts}"),
            ("rebalances from a 2nd worker", str(self.rebalances)),
            ("terminal acks (raw records)", str(self.terminal_acks)),
            ("routing decisions / copies", f"{self.routing_decisions} / {self.copies}"),
            ("lost (copies + dead letters)", f"{self.lost} ({self.lost_copies} + "
                                             f"{self.lost_dead_letters})"),
            ("duplicated copies", str(self.duplicated_copies)),
            ("duplicated acks (same ack id)", f"{self.duplicated_acks} "
                                              f"({self.duplicated_ack_ids})"),
            ("unaccounted (no terminal ack)", str(self.unaccounted)),
            ("wrong outcome", str(self.wrong_outcome)),
            ("stray copies / unexpected acks", f"{self.stray_copies} / {self.unexpected_acks}"),
            ("dead-lettered (expected)", f"{self.dead_lettered} ({self.dead_letters_expected})"),
            ("poison rejected", poison),
            ("publish failures", str(self.publish_failures)),
            ("offsets acked twice by the broker", str(self.offsets_reused)),
            ("wall time", f"{self.seconds:.0f} s"),
        ]

    def table(self) -> str:
        rows = self.rows()
        width = max(len(k) for k, _ in rows)
        lines = [f"| {'figure':<{width}} | value", f"|{'-' * (width + 2)}|------"]
        lines += [f"| {k:<{width}} | {v}" for k, v in rows]
        if self.problems:
            lines.append("PROBLEMS:")
            lines += [f"  - {p}" for p in self.problems[:40]]
        else:
            lines.append("all invariants hold")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in self.rows()} | {"problems": self.problems},
                          ensure_ascii=False, indent=2)


# -- inputs -----------------------------------------------------------------------------------
def remapped_sites(partners: list[str]) -> list[SiteRecord]:
    """The sample sites, handed to this run's partners (site ids renamed with them)."""
    rename = dict(zip(SAMPLE_PARTNERS, partners, strict=True))
    return [s.model_copy(update={"partner_id": rename[s.partner_id],
                                 "site_id": s.site_id.replace(s.partner_id,
                                                              rename[s.partner_id])})
            for s in load_sample_sites()]


def _feed_input(message: FeedMessage) -> Input:
    return Input(message.topic, message.key, message.value, message.partner_id,
                 message.event_id, message.expect, "feed")


def poison(kind: str, site: SiteRecord, others: list[str], rng: random.Random,
           partitions: int) -> Input:
    """A message no worker may route: what a broken or hostile sender could publish."""
    from datetime import UTC, datetime

    event = make_event(site, rng, datetime.now(UTC).replace(microsecond=0))
    partner = site.partner_id
    topic = topics.partner_incidents(partner)
    if kind == "undecodable":
        if rng.random() < 0.5:
            value = b"\xff\xfe" + rng.randbytes(rng.randint(10, 300))
            return Input(topic, event.event_id.encode(), value, partner, None,
                         "reject:BAD_MARKER", kind)
        value = b"\xc3\x01" + b"\x00" * 8 + rng.randbytes(rng.randint(10, 300))
        return Input(topic, event.event_id.encode(), value, partner, None,
                     "reject:UNKNOWN_SCHEMA", kind)
    if kind == "oversized":
        value = encode(event) + b"\x00" * OVERSIZE_BYTES
        return Input(topic, event.event_id.encode(), value, partner, event.event_id,
                     "reject:OVERSIZED", kind)
    if kind == "wrong-key":
        return Input(topic, str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode(),
                     encode(event), partner, event.event_id, "reject:KEY_MISMATCH", kind)
    if kind == "other-partner":
        forged = event.model_copy(update={"partner_id": rng.choice(others)})
        return Input(topic, event.event_id.encode(), encode(forged), partner, event.event_id,
                     "reject:SENDER_MISMATCH", kind)
    if kind == "spoofed-partition":
        home = key_partition(event.event_id.encode(), partitions) or 0
        return Input(topic, event.event_id.encode(), encode(event), partner, event.event_id,
                     "reject:WRONG_PARTITION", kind, partition=(home + 1) % partitions)
    if kind == "near-1-mib":
        value = encode(event) + rng.randbytes(64) * ((NEAR_ONE_MIB - 400) // 64)
        return Input(topic, event.event_id.encode(), value, partner, event.event_id,
                     "reject:OVERSIZED", kind)
    if kind == "control-characters":
        text = rng.choice(["NUL\x00", "\x1b]8;;http://evil\x1b\\lien\x1b]8;;\x1b\\",
                           "\u202egnp.exe", "\x9b2J"])
        tricked = event.model_copy(update={"description": f"Hall B {text} fin"})
        return Input(topic, event.event_id.encode(), encode(tricked), partner, event.event_id,
                     "reject:UNSAFE_TEXT", kind)
    raise ValueError(kind)


def build_inputs(sites: list[SiteRecord], partners: list[str], config: ChaosConfig,
                 partitions: int) -> list[Input]:
    """The scripted feed (its own malformed messages, duplicates, follow-ups and expired
    events included) with one poison message after every ``poison_every`` feed messages."""
    rng = random.Random(config.seed)
    inputs: list[Input] = []
    for i, message in enumerate(scripted_day(sites, config.events, seed=config.seed), 1):
        inputs.append(_feed_input(message))
        if config.poison_every and i % config.poison_every == 0:
            kind = POISON_KINDS[(i // config.poison_every - 1) % len(POISON_KINDS)]
            site = rng.choice(sites)
            others = [p for p in partners if p != site.partner_id]
            inputs.append(poison(kind, site, others, rng, partitions))
    return inputs


# -- publishing -------------------------------------------------------------------------------
class Publisher(threading.Thread):
    """Publishes the inputs at a steady rate from a thread of its own (own event loop), so the
    chaos steps can block; records the Kafka coordinates of every record it wrote."""

    def __init__(self, settings: Settings, inputs: list[Input], rate: float) -> None:
        super().__init__(name="chaos-publisher", daemon=True)
        self.settings = settings
        self.inputs = inputs
        self.rate = rate
        self.coordinates: list[Coordinates | None] = [None] * len(inputs)
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            # Idempotent producer: its retries across the broker restart never duplicate an
            # input; requests wait out the broker's restart.
            asyncio.run(publish_at_rate(
                self.settings, self.inputs, self.rate, on_delivery=self._record,
                enable_idempotence=True, request_timeout_ms=120_000,
                max_request_size=RAISED_TOPIC_LIMIT,
            ))
        except Exception as exc:  # reported, never swallowed
            self.errors.append(f"publisher stopped: {exc!r}")

    def _record(self, index: int, outcome: RecordMetadata | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.errors.append(f"input {index} not written: {outcome!r}")
        else:
            self.coordinates[index] = (outcome.topic, outcome.partition, outcome.offset)


# -- workers ----------------------------------------------------------------------------------
def plan_steps(kills: int) -> list[str]:
    """Kills before, during and after a two-worker phase; the broker crash after it."""
    before = max(1, (kills - 1) // 2)
    during = 1 if kills < 5 else 2
    after = max(0, kills - before - during)
    return (["kill"] * before + ["start-second"] + ["kill"] * during
            + ["stop-second", "broker-restart"] + ["kill"] * after)


class Chaos:
    """Runs one configuration against one broker."""

    def __init__(self, broker: LocalBroker, config: ChaosConfig, workdir: Path,
                 say: Callable[[str], None] = print) -> None:
        self.broker = broker
        self.config = config
        self.workdir = workdir
        self.say = say
        self.rng = random.Random(config.seed)
        suffix = uuid.uuid4().hex[:6]
        self.partners = [f"{p}-{suffix}" for p in SAMPLE_PARTNERS]
        self.settings = broker.settings.model_copy(update={
            "app_id": f"vigie-chaos-{suffix}", "state_dir": workdir, "partners": self.partners,
        })
        self.workers: list[WorkerProcess] = []
        self.started = 0
        self.report = ChaosReport(workdir=str(workdir))

    def _new_worker(self) -> WorkerProcess:
        self.started += 1
        worker = WorkerProcess(
            settings=self.settings,
            log_path=self.workdir / f"worker-{self.started}.log", cwd=self.workdir,
            extra_env={# No escalation during the run: only routing outcomes are counted.
                       "VIGIE_ALERT_TAKEOVER_DELAY_SECONDS": "86400",
                       # Its transactional id, <app_id>-route-<instance>, known to the
                       # cluster faults (the coordinator to kill).
                       WORKER_ID_ENV: f"chaos-{self.started}"},
        )
        worker.start(wait=False)
        self.workers.append(worker)
        return worker

    def _ready(self, worker: WorkerProcess, what: str) -> None:
        try:
            worker.wait_ready(self.config.ready_timeout)
        except (TimeoutError, RuntimeError) as exc:
            self.report.problems.append(f"{what}: worker not ready "
                                        f"({type(exc).__name__}, log {worker.log_path})")

    def _alive(self) -> list[WorkerProcess]:
        return [w for w in self.workers if w.alive()]

    def step(self, name: str) -> None:
        alive = self._alive()
        if name == "kill":
            if not alive:
                self.report.problems.append("no worker left to kill")
                return
            victim = self.rng.choice(alive)
            victim.kill()
            self.report.kills += 1
            self.workers.remove(victim)
            self.say(f"  SIGKILL worker {victim.log_path.name} ({len(alive)} running)")
            self._ready(self._new_worker(), "restart after kill")
            self.report.worker_restarts += 1
        elif name == "start-second":
            self.say("  second worker joins")
            self._ready(self._new_worker(), "second worker")
            self.report.rebalances += 1
        elif name == "stop-second":
            if len(alive) > 1:
                leaving = alive[-1]
                leaving.stop()
                self.workers.remove(leaving)
                self.report.rebalances += 1
                self.say("  second worker leaves (SIGTERM)")
        elif name == "broker-restart":
            how = "SIGKILL" if self.config.broker_crash else "stop"
            self.say(f"  broker {how} and restart")
            if self.config.broker_crash:
                self.broker.kill()
            else:
                self.broker.stop()
            time.sleep(2.0)
            self.broker.start()
            self.report.broker_restarts += 1

    def _plan_inputs(self) -> tuple[list[SiteRecord], list[Input]]:
        """The run's sites and inputs (feed and poison), counted in the report."""
        sites = remapped_sites(self.partners)
        inputs = build_inputs(sites, self.partners, self.config, self.settings.partitions)
        self.report.inputs = len(inputs)
        self.report.poison = sum(i.kind != "feed" for i in inputs)
        self.report.feed = len(inputs) - self.report.poison
        return sites, inputs

    def run(self) -> ChaosReport:
        started = time.monotonic()
        config = self.config
        sites, inputs = self._plan_inputs()
        self.say(f"chaos: {len(inputs)} inputs, "
                 f"workdir {self.workdir}")
        first = self._new_worker()  # creates the topics
        self._ready(first, "first worker")
        asyncio.run(raise_partner_topic_limits(self.settings))
        asyncio.run(publish_reference(self.settings, sites=sites))
        time.sleep(2.0)  # the loader of the running worker takes the sites in
        publisher = Publisher(self.settings, inputs, config.rate)
        publisher.start()
        steps = plan_steps(config.kills)
        duration = len(inputs) / config.rate
        try:
            for index, name in enumerate(steps):
                due = started + duration * (index + 1) / (len(steps) + 1)
                due += self.rng.uniform(-0.3, 0.3) * duration / (len(steps) + 1)
                time.sleep(max(0.0, due - time.monotonic()))
                self.step(name)
            publisher.join()
            self.report.publish_failures = len(publisher.errors)
            self.report.problems += publisher.errors[:10]
            exited = [w for w in self.workers if w.process and w.process.poll() is not None]
            if exited:
                self.report.problems.append(f"{len(exited)} worker(s) exited on their own")
            self.say("  feed published; reading every output (read_committed)")
            outputs = asyncio.run(collect(self.settings, inputs,
                                          publisher.coordinates, config))
        finally:
            for worker in self.workers:
                worker.stop()
        check(self.report, inputs, publisher.coordinates, outputs)
        if self.report.unaccounted:
            missing = missing_inputs(publisher.coordinates, outputs)
            keys = {c: i.key for i, c in zip(inputs, publisher.coordinates, strict=True) if c}
            self.report.problems += asyncio.run(
                diagnose(self.settings, missing[:5], keys))
        if self.report.duplicated_acks:
            self.report.problems += duplicate_diagnosis(outputs)
        self.report.seconds = time.monotonic() - started
        return self.report


async def raise_partner_topic_limits(settings: Settings) -> None:
    """Partner topics as an operator may have left them (a limit raised by hand, or topics
    created before Vigie set one): near-1 MiB values then reach the worker, which must
    answer them without ever stalling (issue 12)."""
    admin = clients.admin(settings)
    await admin.start()
    try:
        await admin.alter_configs([
            ConfigResource(ConfigResourceType.TOPIC, topic,
                           configs={"max.message.bytes": str(RAISED_TOPIC_LIMIT)})
            for partner in settings.partners
            for topic in (topics.partner_incidents(partner), topics.partner_alerts(partner))])
    finally:
        await admin.close()


def _keeps(letter: DeadLetter, value: bytes) -> bool:
    """The letter holds the original bytes: all of them, or a prefix with size and digest."""
    if not letter.payload_truncated:
        return letter.payload == value
    return (value.startswith(letter.payload) and letter.payload_size == len(value)
            and letter.payload_sha256 == hashlib.sha256(value).hexdigest())


# -- reading and checking ---------------------------------------------------------------------
@dataclass
class Outputs:
    acks: list[Acknowledgement] = field(default_factory=list)
    copies: list[RoutedEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: Where each ack record sits in the log (partition, offset, broker timestamp), by ack id:
    #: a duplicate is diagnosed from these (which transaction wrote each copy, and when).
    ack_records: dict[str, list[tuple[int, int, int]]] = field(
        default_factory=lambda: defaultdict(list))


async def collect(settings: Settings, inputs: list[Input],
                  coordinates: list[Coordinates | None], config: ChaosConfig) -> Outputs:
    """Every ack, routed copy and dead letter about this run's partners, read_committed,
    until what is expected is there (or the timeout), then ``settle`` seconds more."""
    partners = settings.partners
    units = sorted(ReferenceStore.with_defaults().snapshot().units)
    names = [topics.partner_acks(p) for p in partners] + [topics.DEADLETTER]
    names += [t for u in units for t in (topics.unit_incidents(u), topics.unit_alerts(u))]
    ours = set(partners)
    expected_acks = sum(c is not None for c in coordinates)
    expected_letters = sum(i.dead_letter_expected for i, c in zip(inputs, coordinates,
                                                                  strict=True) if c)
    out = Outputs()
    routed_units: dict[Coordinates, int] = {}
    terminal: set[Coordinates] = set()
    async with assigned(settings, names, from_beginning=True, allow_missing=True,
                        max_partition_fetch_bytes=1 << 20) as consumer:
        deadline = time.monotonic() + config.settle_timeout
        done_at: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    if record.topic == topics.DEADLETTER:
                        letter = decode(record.value, DeadLetter, max_bytes=MAX_READ)
                        if topics.owner_of(letter.source.topic) in ours:
                            out.dead_letters.append(letter)
                    elif record.topic.startswith("partner."):
                        ack = decode(record.value, Acknowledgement, max_bytes=MAX_READ)
                        out.acks.append(ack)
                        out.ack_records[ack.ack_id].append(
                            (record.partition, record.offset, record.timestamp))
                        if ack.status in ROUTING and ack.source is not None:
                            src = (ack.source.topic, ack.source.partition, ack.source.offset)
                            terminal.add(src)
                            if ack.status is AckStatus.ROUTED:
                                routed_units[src] = len(ack.units)
                    else:
                        copy = decode(record.value, RoutedEvent, max_bytes=MAX_READ)
                        if copy.event.partner_id in ours:
                            out.copies.append(copy)
            complete = (len(terminal) >= expected_acks
                        and len(out.copies) >= sum(routed_units.values())
                        and len(out.dead_letters) >= expected_letters)
            if complete and done_at is None:
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at >= config.settle:
                break
    return out


def duplicate_diagnosis(outputs: Outputs) -> list[str]:
    """For each ack id written more than once: where and when each copy was written, to set
    beside the workers' and the broker's logs (which process committed which)."""
    lines = []
    for ack in outputs.acks:
        found = outputs.ack_records.get(ack.ack_id, [])
        if len(found) > 1 and ack.source is not None:
            where = ", ".join(f"p{p}@{o} t={t}" for p, o, t in found)
            lines.append(f"  duplicated ack {ack.ack_id} {ack.status.value} for "
                         f"{ack.source.topic}/{ack.source.partition}/{ack.source.offset}: "
                         f"{where}")
    return sorted(set(lines))[:10]


def missing_inputs(coordinates: list[Coordinates | None], outputs: Outputs) -> list[Coordinates]:
    seen = {(a.source.topic, a.source.partition, a.source.offset)
            for a in outputs.acks if a.status in ROUTING and a.source is not None}
    return [c for c in coordinates if c is not None and c not in seen]


async def diagnose(settings: Settings, missing: list[Coordinates],
                   keys: dict[Coordinates, bytes | None]) -> list[str]:
    """Where inputs without an outcome stand: still in their topic? behind or ahead of the
    group's committed offset? and is an open transaction holding the acks back (LSO < HW)?"""
    lines: list[str] = []
    reader = clients.consumer(settings, group_id=settings.app_id, enable_auto_commit=False,
                              max_partition_fetch_bytes=MAX_READ)
    await reader.start()
    try:
        for topic, partition, offset in missing:
            tp = TopicPartition(topic, partition)
            committed = await reader.committed(tp)
            reader.assign([tp])
            reader.seek(tp, offset)
            batch = await reader.getmany(tp, timeout_ms=3000, max_records=1)
            found = [r for r in batch.get(tp, []) if r.offset == offset]
            same = bool(found) and found[0].key == keys.get((topic, partition, offset))
            lines.append(f"  {topic}/{partition}/{offset}: in topic={bool(found)}, "
                         f"same key as published={same}, group committed={committed}")
    finally:
        await reader.stop()
    names = [topics.partner_acks(p) for p in settings.partners]
    tps = await partitions_of(settings, names)
    # Any ack about the missing inputs in the log, committed or not?
    wanted = {f"{t}/{p}/{o}" for t, p, o in missing}
    raw: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for level in ("read_uncommitted", "read_committed"):
        scan = clients.consumer(settings, group_id=None, isolation_level=level,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=MAX_READ)
        await scan.start()
        try:
            scan.assign(tps)
            await scan.seek_to_beginning(*tps)
            while True:
                batch = await scan.getmany(timeout_ms=2000, max_records=5000)
                if not batch:
                    break
                for records in batch.values():
                    for record in records:
                        ack = decode(record.value, Acknowledgement, max_bytes=MAX_READ)
                        if ack.source is None:
                            continue
                        src = f"{ack.source.topic}/{ack.source.partition}/{ack.source.offset}"
                        if src in wanted:
                            raw[src].append((level, record.partition, record.offset))
        finally:
            await scan.stop()
    for src in sorted(wanted):
        lines.append(f"  acks in the log for {src}: {raw.get(src) or 'none'}")
    ends: dict[str, dict[TopicPartition, int]] = {}
    for level in ("read_committed", "read_uncommitted"):
        probe = clients.consumer(settings, group_id=None, isolation_level=level)
        await probe.start()
        try:
            ends[level] = await probe.end_offsets(tps)
        finally:
            await probe.stop()
    held = [f"{tp.topic}/{tp.partition} LSO {ends['read_committed'][tp]} < HW "
            f"{ends['read_uncommitted'][tp]}" for tp in tps
            if ends["read_committed"][tp] < ends["read_uncommitted"][tp]]
    lines.append(f"  ack partitions held by an open transaction: {held or 'none'}")
    return lines


def _expected_status(expect: str) -> AckStatus:
    if expect.startswith("reject:"):
        return AckStatus.REJECTED
    return {"route": AckStatus.ROUTED, "duplicate": AckStatus.DUPLICATE,
            "expired": AckStatus.EXPIRED}[expect]


def check(report: ChaosReport, inputs: list[Input], coordinates: list[Coordinates | None],
          outputs: Outputs) -> None:
    """Fill the report's figures and problems from the raw outputs (nothing deduplicated)."""
    known = [c for c in coordinates if c is not None]
    report.offsets_reused = len(known) - len(set(known))
    by_source: dict[Coordinates, Input] = {c: i for i, c in zip(inputs, coordinates,
                                                                strict=True) if c}
    acks_by_source: dict[Coordinates, list[Acknowledgement]] = defaultdict(list)
    for ack in outputs.acks:
        if ack.status not in ROUTING:
            continue
        report.terminal_acks += 1
        src = (ack.source.topic, ack.source.partition, ack.source.offset) if ack.source else None
        if src is None or src not in by_source:
            report.unexpected_acks += 1
            continue
        acks_by_source[src].append(ack)

    decisions: set[tuple[str, str]] = set()
    for src, item in by_source.items():
        got = acks_by_source.get(src, [])
        if not got:
            report.unaccounted += 1
            if report.unaccounted <= 5:
                report.problems.append(f"no terminal ack: {item.kind} {item.expect} at {src}")
            continue
        if len(got) > 1:
            report.duplicated_acks += len(got) - 1
            report.duplicated_ack_ids += len(got) - len({a.ack_id for a in got})
        first = got[0]
        status_ok = first.status is _expected_status(item.expect)
        reason_ok = (not item.expect.startswith("reject:")
                     or (first.reason_code == item.expect[7:] and bool(first.reason_message)))
        if not (status_ok and reason_ok):
            report.wrong_outcome += 1
            if report.wrong_outcome <= 5:
                report.problems.append(f"{item.kind} {item.expect} at {src}: got "
                                       f"{first.status.value} {first.reason_code}")
        elif item.kind != "feed":
            report.poison_rejected[item.kind] += 1
        if first.status is AckStatus.ROUTED and first.event_id:
            decisions.update((first.event_id, unit) for unit in first.units)

    report.routing_decisions = len(decisions)
    report.copies = len(outputs.copies)
    pairs = Counter((c.event.event_id, c.unit_id) for c in outputs.copies)
    report.lost_copies = sum(1 for d in decisions if pairs[d] == 0)
    report.duplicated_copies = sum(n - 1 for d, n in pairs.items() if n > 1 and d in decisions)
    report.stray_copies = sum(n for d, n in pairs.items() if d not in decisions)

    letters: dict[Coordinates, list[DeadLetter]] = defaultdict(list)
    for letter in outputs.dead_letters:
        letters[(letter.source.topic, letter.source.partition, letter.source.offset)].append(
            letter)
    report.dead_lettered = len(outputs.dead_letters)
    for src, item in by_source.items():
        if not item.dead_letter_expected:
            if src in letters:
                report.problems.append(f"unexpected dead letter for {item.expect} at {src}")
            continue
        report.dead_letters_expected += 1
        found = letters.get(src, [])
        if not found:
            report.lost_dead_letters += 1
            continue
        report.duplicated_dead_letters += len(found) - 1
        if any(not _keeps(d, item.value) or d.reason_code != item.expect[7:] or not d.reason
               for d in found):
            report.bad_dead_letters += 1

    poisons = Counter(i.kind for i in by_source.values() if i.kind != "feed")
    for name, value in [
        ("inputs without a terminal acknowledgement (unaccounted)", report.unaccounted),
        ("duplicated terminal acknowledgements", report.duplicated_acks),
        ("inputs with the wrong outcome", report.wrong_outcome),
        ("acknowledgements pointing at no input", report.unexpected_acks),
        ("routing decisions without their copy (lost)", report.lost_copies),
        ("duplicated routed copies", report.duplicated_copies),
        ("copies of events that were not routed", report.stray_copies),
        ("dead letters missing", report.lost_dead_letters),
        ("duplicated dead letters", report.duplicated_dead_letters),
        ("dead letters without the original bytes or reason", report.bad_dead_letters),
    ]:
        if value:
            report.problems.append(f"{name}: {value}")
    for kind in POISON_KINDS:
        if report.poison_rejected[kind] != poisons[kind]:
            report.problems.append(f"poison {kind}: {report.poison_rejected[kind]} of "
                                   f"{poisons[kind]} rejected with their reason")
    if report.kills < 1 or report.broker_restarts < 1:
        report.problems.append("the chaos plan did not run in full")


def run_chaos(broker: LocalBroker, config: ChaosConfig, workdir: Path,
              say: Callable[[str], None] = print) -> ChaosReport:
    """One chaos run on ``broker`` (it is crashed and restarted once); ``workdir`` keeps the
    worker logs."""
    workdir.mkdir(parents=True, exist_ok=True)
    return Chaos(broker, config, workdir, say).run()


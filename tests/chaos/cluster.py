"""Chaos on a three-node KRaft cluster (``make chaos-cluster``): the feed, the poison and the
invariants of ``tests.chaos.harness`` (its ``check()`` unchanged), with the faults a
production cluster meets, each aimed at its target looked up first:

* ``leader-kill``: SIGKILL of the broker leading the most input and output partitions;
* ``coordinator-kill``: SIGKILL of the broker that coordinates the most of the workers'
  transactional ids (FindCoordinator on each running worker's
  ``<app_id>-route-<instance>``), transactions open;
* ``controller-kill``: SIGKILL of the active KRaft controller (DescribeQuorum);
* ``rolling-restart``: every node stopped (controlled shutdown) and started in turn, the
  active controller last, each waited for until no partition is under-replicated (an
  upgrade, as Strimzi rolls it);
* ``two-down``: two brokers (the controller among them) SIGKILLed at once and kept down:
  below ``min.insync.replicas`` and without a quorum, writes must stop, not be lost, and
  resume;
* the worker SIGKILLs and the second worker's join and leave (rebalances) of the harness.

What the workers do meanwhile is measured per fault, from the start of the fault to the
start of the next one: the longest time an input partition went without a committed routing
acknowledgement, the p99 of the urgent alerts' latency (publish to a unit's read_committed
reader), and how often a worker's supervisor had to restart it.

``python -m tests.chaos.cluster`` runs it on a cluster of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import RecordMetadata
from bench.latency_stats import percentiles

from tests.chaos.harness import (
    MAX_READ,
    ROUTING,
    Chaos,
    ChaosConfig,
    ChaosReport,
    Input,
    Publisher,
    check,
    collect,
    diagnose,
    missing_inputs,
    raise_partner_topic_limits,
)
from vigie.broker.cluster import LocalCluster
from vigie.broker.local import BrokerError
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.kafka import clients
from vigie.kafka.cluster import ClusterView, describe, transaction_coordinators
from vigie.kafka.follow import assigned
from vigie.kafka.publish import publish_reference
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.supervisor import WORKER_ID_ENV
from vigie.workers.transactions import transactional_id

BROKER_FAULTS = ("leader-kill", "coordinator-kill", "controller-kill", "rolling-restart",
                 "two-down")
#: What the supervisor prints when the worker it runs exited on its own (a fail-stop).
RESTART_LINE = re.compile(r"worker exited with (-?\d+); restarting")
INTERNAL_TOPICS = ("__consumer_offsets", "__transaction_state")


@dataclass(frozen=True)
class ClusterFaults:
    """How long the broker faults last."""

    down_seconds: float = 10.0  # a SIGKILLed broker stays down this long
    two_down_seconds: float = 20.0  # both brokers of ``two-down`` stay down this long
    pause_seconds: float = 6.0  # at least this long between the end of a fault and the next
    baseline_seconds: float = 20.0  # quiet feed before the first fault (the reference figures)
    healthy_timeout: float = 240.0  # a restarted node back in every ISR within this
    kinds: tuple[str, ...] = BROKER_FAULTS  # the broker faults applied


def plan_cluster_steps(kills: int, broker_faults: tuple[str, ...] = BROKER_FAULTS) -> list[str]:
    """Each broker fault once, in ``BROKER_FAULTS`` order, the worker kills spread among them
    (one while two workers share the partitions, just before the coordinator kill when it is
    planned), the second worker's join and leave around the second fault."""
    if kills < 2:
        raise ValueError("the cluster plan needs at least two worker kills")
    unknown = set(broker_faults) - set(BROKER_FAULTS)
    if unknown:
        raise ValueError(f"unknown broker faults: {sorted(unknown)}")
    faults = [f for f in BROKER_FAULTS if f in broker_faults]
    steps = ["kill", *faults[:1], "start-second", "kill", *faults[1:2], "stop-second"]
    extra = kills - 2
    for index, fault in enumerate(faults[2:]):
        if index < extra:
            steps.append("kill")
        steps.append(fault)
    return steps + ["kill"] * max(0, extra - len(faults[2:]))


@dataclass
class Fault:
    """One step of the plan and what it did to the routing."""

    kind: str
    start: float  # wall clock (time.time())
    target: str = ""
    recovered: float | None = None  # the cluster healthy again (broker faults)
    until: float = 0.0  # the next fault's start: the window measured
    worker_restarts: int = 0  # fail-stops the supervisors restarted
    worker_exit_codes: list[int] = field(default_factory=list)
    max_gap_s: float = 0.0  # longest stretch of an input partition without routing
    alerts: int = 0  # urgent alerts published in the window
    alert_p99_ms: float = math.nan
    alert_max_ms: float = math.nan
    acks_while_down: int | None = None  # two-down: acks committed while both were down


@dataclass
class Seen:
    """What a unit's and a partner's read_committed readers saw, as it happened."""

    #: input partition number -> CreateTime (s) of each committed terminal ack.
    ack_times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: (input coordinates) -> [(ack partition, ack offset, CreateTime ms, received at)].
    ack_records: dict[tuple[str, int, int], list[tuple[int, int, int, float]]] = field(
        default_factory=lambda: defaultdict(list))
    #: event id -> when its first copy on a unit's alerts topic was read.
    alert_seen: dict[str, float] = field(default_factory=dict)


class Observer(threading.Thread):
    """Reads the acknowledgements and the units' alert copies read_committed while the run
    goes on (own thread, own loop), noting when each became visible."""

    def __init__(self, settings: Settings, units: list[str]) -> None:
        super().__init__(name="chaos-observer", daemon=True)
        self.settings = settings
        self.names = ([topics.partner_acks(p) for p in settings.partners]
                      + [topics.unit_alerts(u) for u in units])
        self.alert_topics = {topics.unit_alerts(u) for u in units}
        self.ours = set(settings.partners)
        self.seen = Seen()
        self.stopping = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            asyncio.run(self._follow())
        except Exception as exc:
            self.errors.append(f"observer stopped: {exc!r}")

    async def _follow(self) -> None:
        async with assigned(self.settings, self.names, from_beginning=True, allow_missing=True,
                            max_partition_fetch_bytes=1 << 20) as consumer:
            while not self.stopping.is_set():
                batch = await consumer.getmany(timeout_ms=300, max_records=2000)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        self._note(record, now)

    def _note(self, record: Any, now: float) -> None:
        if record.topic in self.alert_topics:
            copy = decode(record.value, RoutedEvent, max_bytes=MAX_READ)
            if copy.event.partner_id in self.ours:
                self.seen.alert_seen.setdefault(copy.event.event_id, now)
            return
        ack = decode(record.value, Acknowledgement, max_bytes=MAX_READ)
        if ack.status not in ROUTING or ack.source is None:
            return
        src = (ack.source.topic, ack.source.partition, ack.source.offset)
        self.seen.ack_records[src].append((record.partition, record.offset, record.timestamp,
                                           now))
        self.seen.ack_times[ack.source.partition].append(record.timestamp / 1000)


class TimedPublisher(Publisher):
    """The harness's publisher, also keeping each record's CreateTime (seconds)."""

    def __init__(self, settings: Settings, inputs: list[Input], rate: float) -> None:
        super().__init__(settings, inputs, rate)
        self.published_at: list[float | None] = [None] * len(inputs)

    def _record(self, index: int, outcome: RecordMetadata | BaseException) -> None:
        super()._record(index, outcome)
        if not isinstance(outcome, BaseException):
            self.published_at[index] = outcome.timestamp / 1000


@dataclass
class ClusterReport:
    """The harness's report, plus the faults and what the cluster looked like."""

    chaos: ChaosReport
    faults: list[Fault] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    replication: dict[str, str] = field(default_factory=dict)
    rss_mb_max: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    t0: float = 0.0  # the run's start (wall clock): timeline and fault starts count from it

    @property
    def ok(self) -> bool:
        return self.chaos.ok

    def fault_rows(self) -> list[dict[str, Any]]:
        rows = []
        for f in self.faults:
            rows.append({
                "fault": f.kind, "target": f.target,
                "start_s": round(f.start - self.t0, 1),
                "recovered_after_s": (round(f.recovered - f.start, 1)
                                      if f.recovered is not None else None),
                "window_s": round(f.until - f.start, 1),
                "max_seconds_without_routing": round(f.max_gap_s, 1),
                "urgent_alerts": f.alerts,
                "alert_p99_ms": None if math.isnan(f.alert_p99_ms) else round(f.alert_p99_ms),
                "alert_max_ms": None if math.isnan(f.alert_max_ms) else round(f.alert_max_ms),
                "worker_restarts": f.worker_restarts,
                "worker_exit_codes": f.worker_exit_codes,
                **({"acks_while_two_down": f.acks_while_down}
                   if f.acks_while_down is not None else {}),
            })
        return rows

    def by_kind(self) -> list[tuple[str, int, float, float, int]]:
        """Per fault kind: times applied, worst seconds without routing, worst alert p99
        (ms), worker restarts."""
        kinds: dict[str, list[Fault]] = defaultdict(list)
        for f in self.faults:
            kinds[f.kind].append(f)
        return [(kind, len(fs), max(f.max_gap_s for f in fs),
                 max((f.alert_p99_ms for f in fs if not math.isnan(f.alert_p99_ms)),
                     default=math.nan),
                 sum(f.worker_restarts for f in fs))
                for kind, fs in kinds.items()]

    def table(self) -> str:
        lines = [self.chaos.table(), "", "| fault | n | max s without routing | "
                 "urgent alert p99 | worker restarts |", "|---|---|---|---|---|"]
        for kind, n, gap, p99, restarts in self.by_kind():
            p99_text = "-" if math.isnan(p99) else f"{p99 / 1000:.1f} s"
            lines.append(f"| {kind} | {n} | {gap:.1f} | {p99_text} | {restarts} |")
        lines += ["", "timeline:"] + [f"  {t:7.1f} s  {text}" for t, text in self.timeline]
        lines.append(f"replication: {self.replication}")
        lines.append(f"cluster memory (RSS of the three nodes, max): {self.rss_mb_max:.0f} MB")
        lines += self.duplicates
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({
            "config": self.config,
            "figures": dict(self.chaos.rows()),
            "problems": self.chaos.problems,
            "per_kind": [{"fault": k, "applied": n, "max_seconds_without_routing": round(g, 1),
                          "alert_p99_ms": None if math.isnan(p) else round(p),
                          "worker_restarts": r} for k, n, g, p, r in self.by_kind()],
            "faults": self.fault_rows(),
            "timeline": [{"t_s": round(t, 1), "event": e} for t, e in self.timeline],
            "replication": self.replication,
            "cluster_rss_mb_max": round(self.rss_mb_max),
            "duplicates": self.duplicates,
        }, ensure_ascii=False, indent=2)


class ClusterChaos(Chaos):
    """The harness's run on a cluster: its workers, kills and rebalances (``Chaos.step``),
    the broker faults here."""

    def __init__(self, cluster: LocalCluster, config: ChaosConfig, faults: ClusterFaults,
                 workdir: Path, say: Callable[[str], None] = print) -> None:
        super().__init__(cluster.nodes[0], config, workdir, say)
        self.cluster = cluster
        self.faults_config = faults
        client = cluster.client_settings()
        self.settings = self.settings.model_copy(update={
            "bootstrap_servers": client.bootstrap_servers,
            "replication_factor": client.replication_factor,
            "min_insync_replicas": client.min_insync_replicas,
        })
        self.units = sorted(ReferenceStore.with_defaults().snapshot().units)
        self.result = ClusterReport(self.report, config={
            **asdict(config), **{f"fault_{k}": v for k, v in asdict(faults).items()}})
        self.t0 = time.time()
        self.result.t0 = self.t0
        self._marks: list[tuple[float, dict[Path, int]]] = []
        self.observer = Observer(self.settings, self.units)

    # -- the cluster ---------------------------------------------------------------------------
    def note(self, text: str) -> None:
        at = time.time() - self.t0
        self.result.timeline.append((at, text))
        self.say(f"  [{at:6.1f} s] {text}")

    def view(self) -> ClusterView | None:
        try:
            return asyncio.run(describe(self.settings, request_timeout_ms=3000))
        except Exception:
            return None

    def wait_healthy(self, what: str) -> float | None:
        """Until every node is registered, a controller leads and no partition lacks a
        replica; returns when (wall clock), or None (a problem) after the timeout."""
        deadline = time.monotonic() + self.faults_config.healthy_timeout
        while time.monotonic() < deadline:
            view = self.view()
            if (view is not None and len(view.brokers) == self.cluster.size
                    and view.controller is not None and not view.under_replicated
                    and not view.offline):
                return time.time()
            time.sleep(1.0)
        self.report.problems.append(f"{what}: the cluster was not healthy within "
                                    f"{self.faults_config.healthy_timeout:.0f} s")
        return None

    def _io_topics(self) -> list[str]:
        names = [topics.DEADLETTER, topics.changelog(self.settings.app_id)]
        for p in self.partners:
            names += [topics.partner_incidents(p), topics.partner_alerts(p),
                      topics.partner_acks(p)]
        return names + [t for u in self.units for t in (topics.unit_incidents(u),
                                                        topics.unit_alerts(u))]

    def _restart(self, node_ids: list[int]) -> None:
        """Start these nodes together (two down: neither answers before the other is up)."""
        nodes = [self.cluster.node(i) for i in node_ids]
        launched = [(n, n.launch()) for n in nodes]
        for node, process in launched:
            node.wait_answering(process, timeout=self.faults_config.healthy_timeout)
        self.report.broker_restarts += len(nodes)
        self._sample_memory()

    def _kill(self, node_ids: list[int]) -> None:
        for i in node_ids:
            self.cluster.node(i).kill()

    def _down_and_up(self, fault: Fault, node_ids: list[int], seconds: float) -> None:
        self._kill(node_ids)
        self.note(f"{fault.kind}: SIGKILL node(s) {node_ids} ({fault.target})")
        time.sleep(seconds)
        self._restart(node_ids)
        self.note(f"{fault.kind}: node(s) {node_ids} restarted")
        fault.recovered = self.wait_healthy(fault.kind)
        if fault.recovered is not None:
            self.note(f"{fault.kind}: cluster healthy (all in sync)")

    def broker_fault(self, fault: Fault) -> None:
        view = self.view()
        if view is None or view.controller is None:
            self.report.problems.append(f"{fault.kind}: could not look the target up")
            return
        down = self.faults_config.down_seconds
        if fault.kind == "leader-kill":
            leaders = view.leaders(self._io_topics())
            target, count = leaders.most_common(1)[0]
            fault.target = (f"node {target} led {count} of {sum(leaders.values())} input and "
                            "output partitions")
            self._down_and_up(fault, [target], down)
        elif fault.kind == "coordinator-kill":
            ids = [transactional_id(self.settings, w.extra_env[WORKER_ID_ENV])
                   for w in self._alive()]
            coordinators = asyncio.run(transaction_coordinators(self.settings, ids))
            target, count = Counter(coordinators.values()).most_common(1)[0]
            fault.target = (f"node {target} coordinated {count} of {len(ids)} transactional "
                            f"ids ({', '.join(t for t, n in coordinators.items() if n == target)})")
            self._down_and_up(fault, [target], down)
        elif fault.kind == "controller-kill":
            fault.target = f"node {view.controller} was the active controller"
            self._down_and_up(fault, [view.controller], down)
        elif fault.kind == "rolling-restart":
            order = [n for n in sorted(view.brokers) if n != view.controller] + [view.controller]
            fault.target = f"nodes {order}, active controller {view.controller} last"
            for node_id in order:
                self.cluster.node(node_id).stop()
                self.note(f"rolling-restart: node {node_id} stopped (controlled shutdown)")
                self._restart([node_id])
                if self.wait_healthy(f"rolling-restart of node {node_id}") is None:
                    return
                self.note(f"rolling-restart: node {node_id} back, all in sync")
            fault.recovered = time.time()
        elif fault.kind == "two-down":
            leaders = view.leaders(self._io_topics())
            other = max((n for n in view.brokers if n != view.controller),
                        key=lambda n: leaders.get(n, 0))
            pair = [view.controller, other]
            fault.target = (f"nodes {pair}: the active controller and node {other} "
                            f"(leading {leaders.get(other, 0)} partitions)")
            self._kill(pair)
            killed = time.time()
            self.note(f"two-down: SIGKILL nodes {pair} (no quorum, under min ISR)")
            time.sleep(self.faults_config.two_down_seconds)
            restarting = time.time()
            # Acks committed (CreateTime) from 3 s after the kill until the restart: writes
            # in flight at the kill may still land, none after.
            fault.acks_while_down = sum(
                1 for times in self.observer.seen.ack_times.values() for t in times
                if killed + 3 < t < restarting)
            self._restart(pair)
            self.note(f"two-down: nodes {pair} restarted")
            fault.recovered = self.wait_healthy("two-down")
            if fault.recovered is not None:
                self.note("two-down: cluster healthy (all in sync)")

    # -- the run -------------------------------------------------------------------------------
    def _mark_logs(self) -> None:
        sizes = {p: p.stat().st_size for p in sorted(self.workdir.glob("worker-*.log"))}
        self._marks.append((time.time(), sizes))

    def _sample_memory(self) -> None:
        pids = [p for p in self.cluster.pids().values() if p]
        if len(pids) < self.cluster.size:
            return
        out = subprocess.run(["ps", "-o", "rss=", "-p", ",".join(map(str, pids))],
                             capture_output=True, text=True, check=False).stdout
        total = sum(int(x) for x in out.split()) / 1024
        self.result.rss_mb_max = max(self.result.rss_mb_max, total)

    def apply(self, name: str) -> Fault:
        kind = {"kill": "worker-kill", "start-second": "rebalance",
                "stop-second": "rebalance"}.get(name, name)
        fault = Fault(kind, time.time())
        self._mark_logs()
        if name in BROKER_FAULTS:
            try:
                self.broker_fault(fault)
            except BrokerError as exc:  # a node that cannot come back: say so, go on
                self.report.problems.append(f"{fault.kind}: {exc}")
                self.note(f"{fault.kind}: a node did not come back ({exc})")
                with contextlib.suppress(BrokerError):
                    self.cluster.start(timeout=self.faults_config.healthy_timeout)
        else:
            self.note(f"{kind}: {name}")
            self.step(name)  # the harness's worker kill, join or leave
        self._sample_memory()
        return fault

    def check_replication(self) -> None:
        """Every Vigie topic of the run and the internal ones: 3 replicas, min ISR 2."""
        view = self.view()
        names = [*self._io_topics(), *INTERNAL_TOPICS]
        replicas = Counter(len(p.replicas) for p in view.partitions
                           if p.topic in names) if view else Counter()
        configs = asyncio.run(_min_isr(self.settings, names))
        self.result.replication = {
            "replicas per partition": ", ".join(f"{k}: {v} partitions"
                                                for k, v in sorted(replicas.items())),
            "min.insync.replicas": ", ".join(f"{k}: {v} topics"
                                             for k, v in sorted(Counter(configs.values()).items())),
        }
        if set(replicas) != {3} or set(configs.values()) != {"2"}:
            self.report.problems.append(f"replication not as planned: {self.result.replication}")

    def run(self) -> ChaosReport:  # the report's figures; ``self.result`` holds the rest
        started = time.monotonic()
        config = self.config
        sites, inputs = self._plan_inputs()
        self.note(f"cluster chaos: {len(inputs)} inputs at {config.rate}/s, "
                  f"workdir {self.workdir}")
        first = self._new_worker()  # creates the topics: 3 replicas, min ISR 2
        self._ready(first, "first worker")
        asyncio.run(raise_partner_topic_limits(self.settings))
        asyncio.run(publish_reference(self.settings, sites=sites))
        self.check_replication()
        time.sleep(2.0)
        self.observer.start()
        publisher = TimedPublisher(self.settings, inputs, config.rate)
        publisher.start()
        feed_start = time.time()
        self.note("feed started (baseline, no fault)")
        baseline = Fault("baseline", feed_start)
        self.result.faults.append(baseline)
        self._mark_logs()
        steps = plan_cluster_steps(config.kills, self.faults_config.kinds)
        duration = len(inputs) / config.rate
        quiet = self.faults_config.baseline_seconds
        outputs = None
        try:
            time.sleep(quiet)
            for index, name in enumerate(steps):
                due = feed_start + quiet + (duration - quiet) * index / (len(steps) + 0.5)
                time.sleep(max(self.faults_config.pause_seconds if index else 0.0,
                               due - time.time()))
                if not publisher.is_alive():
                    self.report.problems.append(f"{name} ran after the feed ended (not under "
                                                "load): lower the rate or shorten the faults")
                self.result.faults.append(self.apply(name))
            publisher.join()
            self.note("feed published")
            self.result.faults.append(Fault("after", time.time()))
            self._mark_logs()
            self.report.publish_failures = len(publisher.errors)
            self.report.problems += publisher.errors[:10]
            exited = [w for w in self.workers if w.process and w.process.poll() is not None]
            if exited:
                self.report.problems.append(f"{len(exited)} worker(s) exited on their own")
            self.say("  reading every output (read_committed)")
            outputs = asyncio.run(collect(self.settings, inputs, publisher.coordinates, config))
            self._mark_logs()
        finally:
            for worker in self.workers:
                worker.stop()
            self.observer.stopping.set()
            self.observer.join(30)
        self.report.problems += self.observer.errors
        check(self.report, inputs, publisher.coordinates, outputs)
        if self.report.unaccounted:
            missing = missing_inputs(publisher.coordinates, outputs)
            keys = {c: i.key for i, c in zip(inputs, publisher.coordinates, strict=True) if c}
            self.report.problems += asyncio.run(diagnose(self.settings, missing[:5], keys))
        self.measure(inputs, publisher)
        if self.report.duplicated_acks:
            self.result.duplicates = self.duplicates()
        self.report.seconds = time.monotonic() - started
        return self.report

    # -- measuring -----------------------------------------------------------------------------
    def measure(self, inputs: list[Input], publisher: TimedPublisher) -> None:
        faults = self.result.faults
        end = self._marks[-1][0]
        for fault, after in zip(faults, [*faults[1:], None], strict=True):
            fault.until = after.start if after is not None else end
        seen = self.observer.seen
        for fault in faults:
            fault.max_gap_s = _max_gap(seen.ack_times, fault.start, fault.until)
            latencies = [
                ((seen.alert_seen[i.event_id] - at) * 1000
                 if i.event_id in seen.alert_seen else math.inf)
                for i, at in zip(inputs, publisher.published_at, strict=True)
                if at is not None and fault.start <= at < fault.until and i.expect == "route"
                and i.topic == topics.partner_alerts(i.partner_id) and i.event_id is not None
            ]
            fault.alerts = len(latencies)
            if latencies:
                fault.alert_p99_ms = percentiles(latencies)[99]
                fault.alert_max_ms = max(latencies)
        # Supervisor restarts: the log lines written between one mark and the next.
        for (_, before), (_, after_sizes), fault in zip(self._marks, self._marks[1:],
                                                        faults, strict=False):
            for path, size in after_sizes.items():
                with path.open("rb") as handle:
                    handle.seek(before.get(path, 0))
                    text = handle.read(size - before.get(path, 0)).decode(errors="replace")
                codes = [int(c) for c in RESTART_LINE.findall(text)]
                fault.worker_restarts += len(codes)
                fault.worker_exit_codes += codes

    def duplicates(self) -> list[str]:
        """Each input acked more than once: where each ack was written and when, and the
        fault whose window it fell in (to set beside the worker logs)."""
        lines = ["duplicated acknowledgements:"]
        for src, records in sorted(self.observer.seen.ack_records.items()):
            if len(records) < 2:
                continue
            parts = []
            for partition, offset, created_ms, seen_at in records:
                fault = next((f for f in reversed(self.result.faults)
                              if f.start <= created_ms / 1000), None)
                parts.append(f"p{partition}@{offset} t+{created_ms / 1000 - self.t0:.1f}s "
                             f"(seen t+{seen_at - self.t0:.1f}s, during "
                             f"{fault.kind if fault else '-'})")
            lines.append(f"  {src[0]}/{src[1]}/{src[2]}: " + "; ".join(parts))
        return lines[:21]


def _max_gap(times_by_partition: dict[int, list[float]], start: float, until: float) -> float:
    """The longest stretch inside [start, until) during which one input partition number had
    no committed routing acknowledgement (a stretch between two acks, cut to the window: a
    stall that began before the fault counts from the fault's start)."""
    worst = 0.0
    for times in times_by_partition.values():
        for earlier, later in itertools.pairwise(sorted(times)):
            if later > start and earlier < until:
                worst = max(worst, min(later, until) - max(earlier, start))
    return worst


async def _min_isr(settings: Settings, names: list[str]) -> dict[str, str]:
    admin = clients.admin(settings)
    await admin.start()
    try:
        found: dict[str, str] = {}
        for start in range(0, len(names), 50):
            response = await admin.describe_configs([
                ConfigResource(ConfigResourceType.TOPIC, n) for n in names[start:start + 50]])
            for item in response:
                for _, _, _, name, entries in item.resources:
                    for entry in entries:
                        if entry[0] == "min.insync.replicas":
                            found[name] = entry[1]
        return found
    finally:
        await admin.close()


def run_cluster_chaos(cluster: LocalCluster, config: ChaosConfig, faults: ClusterFaults,
                      workdir: Path, say: Callable[[str], None] = print) -> ClusterReport:
    """One run on ``cluster`` (its nodes are killed and restarted); ``workdir`` keeps the
    worker logs, the nodes' logs stay in the cluster's state folder."""
    workdir.mkdir(parents=True, exist_ok=True)
    chaos = ClusterChaos(cluster, config, faults, workdir, say)
    chaos.run()
    return chaos.result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="feed messages")
    parser.add_argument("--kills", type=int, default=6, help="worker SIGKILLs (>= 2)")
    parser.add_argument("--rate", type=float, default=14.0,
                        help="feed messages per second (low enough that the feed outlasts "
                        "the faults: a node restart takes 30-60 s on a small machine)")
    parser.add_argument("--poison-every", type=int, default=50)
    parser.add_argument("--down", type=float, default=10.0,
                        help="seconds a SIGKILLed broker stays down")
    parser.add_argument("--two-down", type=float, default=20.0,
                        help="seconds two brokers stay down together")
    parser.add_argument("--baseline", type=float, default=20.0,
                        help="seconds of feed before the first fault")
    parser.add_argument("--faults", default=",".join(BROKER_FAULTS),
                        help="broker faults to apply, comma-separated (default: all)")
    parser.add_argument("--seed", type=int, default=1805)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # dead nodes, on purpose

    config = ChaosConfig(events=args.events, kills=args.kills, rate=args.rate,
                         poison_every=args.poison_every, seed=args.seed,
                         ready_timeout=180.0, settle_timeout=420.0)
    faults = ClusterFaults(down_seconds=args.down, two_down_seconds=args.two_down,
                           baseline_seconds=args.baseline,
                           kinds=tuple(f for f in args.faults.split(",") if f))
    tmp = Path(tempfile.mkdtemp(prefix="vigie-chaos-cluster-"))
    cluster = LocalCluster(Settings(state_dir=tmp / "kafka-state", partitions=4))
    try:
        cluster.start(timeout=240.0)
    except BrokerError as exc:
        print(f"the cluster did not start: {exc}", file=sys.stderr)
        return 2
    print(f"three-node cluster on {cluster.bootstrap} (state in {tmp})", flush=True)
    try:
        report = run_cluster_chaos(cluster, config, faults, tmp / "run",
                                   say=lambda line: print(line, flush=True))
    finally:
        cluster.stop()
    print(report.table())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(report.to_json() + "\n")
    if not args.keep and report.ok:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"logs kept in {tmp}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())

"""What each pass of the routing engine takes, in which order, and when it stops: the lanes,
the per-partner shares, the alert-first passes and the time budget. Pure: no Kafka client,
no event loop; the engine (``vigie.workers.engine``) does the fetching and the commits.

A pass is planned in two steps, because whether incidents come depends on what was fetched:

1. ``PassScheduler.next_pass(owned)`` rotates the partners (so no partner is always first)
   and gives the urgent takes: each partner's alert partitions (``ALERT_SHARE`` records
   each), then the units' statuses (``STATUS_SHARE`` in all).
2. ``PassPlan.incident_takes(alerts_found)``: a pass that found alerts commits them alone,
   before any incident, but never twice in a row (a partner flooding its alert topic must
   not stop every incident); otherwise each partner's incident partitions
   (``INCIDENT_SHARE`` records each).

Then ``PassScheduler.admit`` runs the fetched records through the engine's processing in
that order and stops taking incidents once the pass has used ``PASS_BUDGET_SECONDS``, or as
soon as the engine says alerts arrived: the engine then takes them into the same pass, so an
alert waits for the commit in progress, not for a pass to end.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from aiokafka import TopicPartition

from vigie.contracts import topics
from vigie.contracts.enums import Lane

#: Records taken per partner and pass. A pass costs about (shares x partners) x 150 µs of
#: processing plus one transaction commit (tens of ms, whatever its size): large passes
#: share the commit among more events. An alert does not wait for a pass to end: one
#: arriving meanwhile stops its incidents and joins its commit (``PassScheduler.admit``).
ALERT_SHARE = 16
INCIDENT_SHARE = 256
STATUS_SHARE = 400
#: Processing time after which a pass takes no more incidents: bounds how long a pass
#: keeps its records uncommitted (and so invisible to read_committed readers).
PASS_BUDGET_SECONDS = 0.25
#: Longest idle wait for input; a due alert deadline shortens it.
IDLE_WAIT_MS = 500


class Lanes:
    """Which input topic belongs to which lane and partner."""

    def __init__(self, partners: Sequence[str], units: Sequence[str]) -> None:
        self.alerts = {topics.partner_alerts(p): p for p in partners}
        self.incidents = {topics.partner_incidents(p): p for p in partners}
        self.statuses = {topics.unit_status(u) for u in units}
        self.partners = list(partners)

    @property
    def inputs(self) -> list[str]:
        return sorted({*self.alerts, *self.incidents, *self.statuses})

    def lane_of(self, topic: str) -> Lane | None:
        if topic in self.alerts:
            return Lane.ALERT
        if topic in self.incidents:
            return Lane.INCIDENT
        return None

    def split(self, owned: set[TopicPartition]) -> Owned:
        """The owned partitions as each pass takes them, worked out once per assignment."""
        alerts: dict[str, list[TopicPartition]] = defaultdict(list)
        incidents: dict[str, list[TopicPartition]] = defaultdict(list)
        statuses: list[TopicPartition] = []
        for tp in sorted(owned):
            if tp.topic in self.alerts:
                alerts[self.alerts[tp.topic]].append(tp)
            elif tp.topic in self.incidents:
                incidents[self.incidents[tp.topic]].append(tp)
            else:
                statuses.append(tp)
        return Owned(frozenset(owned), dict(alerts), dict(incidents), statuses)


@dataclass(frozen=True)
class Owned:
    """The partitions this worker owns, by lane and partner (empty during a rebalance)."""

    all: frozenset[TopicPartition] = frozenset()
    alerts_by_partner: dict[str, list[TopicPartition]] = field(default_factory=dict)
    incidents_by_partner: dict[str, list[TopicPartition]] = field(default_factory=dict)
    statuses: list[TopicPartition] = field(default_factory=list)
    #: Partition count of each input topic, for the partitioning contract (``key_partition``).
    partition_counts: dict[str, int] = field(default_factory=dict)

    @property
    def alerts(self) -> list[TopicPartition]:
        return [tp for tps in self.alerts_by_partner.values() for tp in tps]


@dataclass(frozen=True)
class Take:
    """One fetch of a pass: up to ``share`` records from these partitions (one lane, one
    reader: alert partitions go to the urgent lane's own fetcher)."""

    partitions: list[TopicPartition]
    share: int


class _Positioned(Protocol):
    @property
    def offset(self) -> int: ...


R = TypeVar("R", bound=_Positioned)


@dataclass
class Admitted(Generic[R]):
    """What ``admit`` did with a batch: the offset to commit per partition (past the last
    record processed) and where to read again the records the budget left for later."""

    commit: dict[TopicPartition, int] = field(default_factory=dict)
    rewind: dict[TopicPartition, int] = field(default_factory=dict)
    processed: int = 0
    #: Incidents were cut short because alerts arrived (``admit``'s ``interrupt``).
    interrupted: bool = False


@dataclass
class PassPlan:
    """The takes of one pass; ``incident_takes`` is asked once the urgent ones are fetched."""

    scheduler: PassScheduler
    order: list[str]
    urgent: list[Take]
    owned: Owned

    def incident_takes(self, alerts_found: bool) -> list[Take] | None:
        """None when this pass commits its alerts alone (never two such passes in a row)."""
        return self.scheduler._incidents(self, alerts_found)


class PassScheduler:
    """The lane and share policy of the engine's passes (see the module doc)."""

    def __init__(
        self,
        lanes: Lanes,
        *,
        alert_share: int = ALERT_SHARE,
        incident_share: int = INCIDENT_SHARE,
        status_share: int = STATUS_SHARE,
        budget_seconds: float = PASS_BUDGET_SECONDS,
        idle_wait_ms: int = IDLE_WAIT_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lanes = lanes
        self.alert_share = alert_share
        self.incident_share = incident_share
        self.status_share = status_share
        self.budget_seconds = budget_seconds
        self.idle_ms = idle_wait_ms
        self.clock = clock
        self._rotation = itertools.count()
        self._last_pass_alerts_only = False

    def next_pass(self, owned: Owned) -> PassPlan:
        partners = self.lanes.partners
        start = next(self._rotation) % max(len(partners), 1)
        order = partners[start:] + partners[:start]
        urgent = [Take(tps, self.alert_share) for p in order
                  if (tps := owned.alerts_by_partner.get(p, []))]
        if owned.statuses:
            urgent.append(Take(owned.statuses, self.status_share))
        return PassPlan(self, order, urgent, owned)

    def _incidents(self, plan: PassPlan, alerts_found: bool) -> list[Take] | None:
        # An alert pass commits alone, but never twice in a row: a partner flooding its alert
        # topic must not stop every incident.
        if alerts_found and not self._last_pass_alerts_only:
            self._last_pass_alerts_only = True
            return None
        self._last_pass_alerts_only = False
        return [Take(tps, self.incident_share) for p in plan.order
                if (tps := plan.owned.incidents_by_partner.get(p, []))]

    def is_alert_partition(self, tp: TopicPartition) -> bool:
        return tp.topic in self.lanes.alerts

    def admit(
        self,
        batch: Mapping[TopicPartition, Sequence[R]],
        owned: Owned,
        process: Callable[[R], None],
        interrupt: Callable[[], bool] | None = None,
    ) -> Admitted[R]:
        """Process ``batch`` in its order (urgent partitions first, as fetched); once the
        pass has used its time budget, or as soon as ``interrupt()`` says alerts arrived,
        stop taking incidents: the rest is read again by the next pass
        (``Admitted.rewind``), and an interrupted pass takes the new alerts before its
        commit. Records of partitions no longer owned are skipped (a rebalance in
        between)."""
        admitted: Admitted[R] = Admitted()
        started = self.clock()
        for tp, records in batch.items():
            if tp not in owned.all:
                continue
            incidents = tp.topic in self.lanes.incidents
            done = 0
            for record in records:
                if incidents:
                    if admitted.interrupted or self.clock() - started > self.budget_seconds:
                        break
                    if interrupt is not None and interrupt():
                        admitted.interrupted = True
                        break
                process(record)
                done += 1
            if done:
                admitted.commit[tp] = records[done - 1].offset + 1
            if done < len(records):
                admitted.rewind[tp] = records[done].offset
            admitted.processed += done
        return admitted

    def idle_wait_ms(self, next_deadline: float | None, now: float) -> int:
        """How long an idle pass waits for input: ``IDLE_WAIT_MS``, or until the next alert
        deadline (epoch seconds) if sooner, so that a timer is never late by a wait."""
        if next_deadline is None:
            return self.idle_ms
        return max(0, min(self.idle_ms, int((next_deadline - now) * 1000) + 1))

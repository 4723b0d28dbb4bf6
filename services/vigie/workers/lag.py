"""The worker's periodic self-observation: consumer lag, reference versions, series at zero.

Why in the worker and not a kafka_exporter: the worker knows exactly which partitions it owns
and how far it has committed, so its own lag needs no broker-wide admin rights (partners'
topics are ACL-isolated) and stays correct during rebalances. Every ``interval`` seconds:

* ``vigie_consumer_lag{topic,partition}``: end offset (last stable offset: the worker reads
  committed records only) minus the committed offset for each partition this worker is
  assigned, the same definition as kafka_exporter's ``kafka_consumergroup_lag``.
  Partitions revoked by a rebalance lose their series, so a stale value never keeps an
  alert firing. The state changelog is written, not read: it has no lag.
* ``vigie_reference_version_info{part,version}``: the versions of the reference snapshot.
* series created at zero (per unit for alerts, per reason for dead letters, per category,
  QPV and commune for the partnership counters), so that ``increase()`` sees their first
  event; redone only when the reference snapshot changes.

Topic names are bounded by configuration (partners) and reference data (units).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from vigie import metrics
from vigie.contracts.enums import Category
from vigie.contracts.reasons import ReasonCode
from vigie.reference.snapshot import ReferenceStore

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0


def partition_lag(
    highwaters: Mapping[Any, int | None],
    committed: Mapping[Any, int | None],
    positions: Mapping[Any, int | None],
) -> dict[Any, int]:
    """Lag per topic-partition: high watermark minus committed offset (else position).

    Pure, so the arithmetic is unit-tested without a broker. A partition with no high
    watermark yet is skipped; lag is never negative (a commit can race the watermark read).
    """
    lag: dict[Any, int] = {}
    for tp, high in highwaters.items():
        if high is None:
            continue
        done = committed.get(tp)
        if done is None:
            done = positions.get(tp)
        if done is None:
            continue
        lag[tp] = max(int(high) - int(done), 0)
    return lag


class PositionSource(Protocol):
    """What the observer needs of the routing engine (``RoutingEngine.partition_positions``)."""

    async def partition_positions(
        self,
    ) -> tuple[Mapping[Any, int | None], Mapping[Any, int | None]]: ...


class WorkerObserver:
    """Runs as a task of the worker (``vigie.workers.service``) for its whole life."""

    def __init__(
        self,
        engine: PositionSource,
        store: ReferenceStore,
        partners: Iterable[str],
        interval: float = INTERVAL_SECONDS,
        rules_time: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        #: The time the routing rules read (``Settings.routing_time``), for the gauges that
        #: follow them (a unit's declared unavailability ends without a new record).
        self.rules_time = rules_time
        self.store = store
        self.partners = list(partners)
        self.interval = interval
        self._exported: set[tuple[str, str]] = set()
        self._initialised_generation = -1

    async def run(self) -> None:
        metrics.init_partner_series(self.partners, time.time())
        while True:
            try:
                await self.observe_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # observing must never stop the worker: log, try again later
                log.warning("observation failed", exc_info=True)
            await asyncio.sleep(self.interval)

    async def observe_once(self) -> None:
        snapshot = self.store.snapshot()
        metrics.set_reference_versions(snapshot.versions)
        at = self.rules_time()
        metrics.set_unavailable_units(
            (unit for unit, declared in snapshot.availability.items()
             if declared.unavailable_until is not None and at < declared.unavailable_until),
            snapshot.units)
        if snapshot.generation != self._initialised_generation:
            metrics.init_unit_series(snapshot.units)
            metrics.init_dead_letter_series("intake", (r.value for r in ReasonCode))
            metrics.init_place_series(
                (c.value for c in Category),
                sorted({s.qpv_name for s in snapshot.sites.values() if s.qpv_name}),
                (commune.insee for commune in snapshot.communes),
            )
            self._initialised_generation = snapshot.generation
        await self.observe_lag()

    async def observe_lag(self) -> None:
        ends, committed = await self.engine.partition_positions()
        self.export(partition_lag(ends, committed, {}))

    def export(self, lags: Mapping[Any, int]) -> None:
        """Set the gauges and drop the series of partitions no longer assigned here."""
        current: set[tuple[str, str]] = set()
        for tp, value in lags.items():
            labels = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(value)
            current.add(labels)
        for labels in self._exported - current:
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(*labels)
        self._exported = current

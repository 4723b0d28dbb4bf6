"""The worker's periodic self-observation: consumer lag, reference versions, series at zero.

Why in the worker and not a kafka_exporter: the worker knows exactly which partitions it owns
and how far it has committed, so its own lag needs no broker-wide admin rights (partners'
topics are ACL-isolated) and stays correct during rebalances. Every ``interval`` seconds:

* ``vigie_consumer_lag{topic,partition}``: high watermark minus the committed offset (the
  position before the first commit) for each partition this worker is assigned, the same
  definition as kafka_exporter's ``kafka_consumergroup_lag``. Partitions revoked by a
  rebalance lose their series, so a stale value never keeps an alert firing. Faust's own
  internal topics (table changelogs, the leader topic) are left out: the worker writes its
  active changelogs without reading them, so their "lag" would grow for no reason.
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
from collections.abc import Iterable, Mapping
from typing import Any

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


class WorkerObserver:
    """Runs as a faust task (``app.task(observer.run)``) for the life of the worker."""

    def __init__(
        self,
        app: Any,
        store: ReferenceStore,
        partners: Iterable[str],
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self.app = app
        self.store = store
        self.partners = list(partners)
        self.interval = interval
        self._exported: set[tuple[str, str]] = set()
        self._internal_prefix = f"{app.conf.id}-"
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

    def _watched(self, topic: str) -> bool:
        return not topic.startswith(self._internal_prefix) and not topic.endswith("-changelog")

    async def observe_lag(self) -> None:
        consumer = self.app.consumer
        assigned = [tp for tp in consumer.assignment() if self._watched(tp.topic)]
        lags: dict[Any, int] = {}
        if assigned:
            highwaters = await consumer.highwaters(*assigned)
            # Faust's record of what it committed (next offset to read, Kafka's convention);
            # a private attribute, hence the fallback to the public position().
            committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})
            known = {tp: committed.get(tp) for tp in assigned}
            positions: dict[Any, int | None] = {}
            for tp in assigned:
                if known[tp] is None:
                    with contextlib.suppress(Exception):
                        positions[tp] = await consumer.position(tp)
            lags = partition_lag(highwaters, known, positions)
        self.export(lags)

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

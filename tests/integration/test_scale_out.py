"""Scale-out: two workers of the same app split the partitions and never duplicate an event.

Both workers share one app id (one consumer group, one set of table changelogs). The test
waits until the group has settled — each worker's ``vigie_consumer_lag`` series (one per
partition it owns, refreshed every 5 s) cover the partner input partitions between them,
without overlap — then publishes 400 incidents of two partners and checks every outcome.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict

import pytest

from tests.factories import partner_event, record_for
from tests.integration.kafka_tools import WorkerProcess, consume, produce, run
from tests.integration.scenarios import COMMUNES
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.policy import decide

pytestmark = pytest.mark.integration

EVENTS = 400
SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of every sample of one metric in Prometheus text format."""
    found = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and match["name"] == name:
            found.append((dict(LABEL.findall(match["labels"] or "")), float(match["value"])))
    return found


def _owned(worker: WorkerProcess, inputs: set[str]) -> set[tuple[str, int]]:
    """Input (topic, partition) pairs the worker reports lag for, i.e. currently owns."""
    return {
        (labels["topic"], int(labels["partition"]))
        for labels, _ in _samples(worker.metrics_text(), "vigie_consumer_lag")
        if labels.get("topic") in inputs
    }


def _received(worker: WorkerProcess) -> float:
    return sum(v for _, v in _samples(worker.metrics_text(), "vigie_events_received_total"))


def _wait_for_split(workers: list[WorkerProcess], inputs: set[str], partitions: int,
                    timeout: float = 45.0) -> list[set[tuple[str, int]]]:
    """Until each worker owns some inputs, no input twice, and every input partition once.
    Two consecutive identical readings (5 s refresh) so a split in flux is not taken."""
    expected = {(t, p) for t in inputs for p in range(partitions)}
    deadline = time.monotonic() + timeout
    previous: list[set[tuple[str, int]]] | None = None
    owned: list[set[tuple[str, int]]] = []
    while time.monotonic() < deadline:
        owned = [_owned(w, inputs) for w in workers]
        settled = (all(owned) and not set.intersection(*owned)
                   and set.union(*owned) == expected)
        if settled and owned == previous:
            return owned
        previous = owned if settled else None
        time.sleep(1.0)
    raise AssertionError(f"partitions never split cleanly: {owned}")


def test_two_workers_split_partitions_without_duplicates(  # type: ignore[no-untyped-def]
    start_worker, kafka_settings, partners
) -> None:
    t0 = time.monotonic()
    worker_a = start_worker()
    worker_b = start_worker()
    workers = [worker_a, worker_b]
    inputs = {t for p in partners for t in (topics.partner_incidents(p), topics.partner_alerts(p))}
    owned = _wait_for_split(workers, inputs, kafka_settings.partitions)
    split_at = time.monotonic() - t0
    for name, worker, mine in zip("AB", workers, owned, strict=True):
        by_partition = sorted({p for _, p in mine})
        print(f"worker {name} (metrics :{worker.metrics_port}, {worker.log_path.name}): "
              f"partitions {by_partition} of {len(inputs)} input topics "
              f"({len(mine)} topic-partitions)")

    events = [partner_event(partners[i % 2], COMMUNES[i % len(COMMUNES)], fresh=True)
              for i in range(EVENTS)]
    assert run(produce(kafka_settings, [record_for(e) for e in events])) == EVENTS

    snapshot = ReferenceStore.with_defaults().snapshot()
    acks_topics = {topics.partner_acks(p) for p in partners}
    unit_topics = [t for u in snapshot.units
                   for t in (topics.unit_incidents(u), topics.unit_alerts(u))]
    found = run(consume(
        kafka_settings, [*acks_topics, *unit_topics],
        until=lambda rs: sum(r.topic in acks_topics for r in rs) >= EVENTS
        and sum(r.topic not in acks_topics for r in rs) >= EVENTS,
        timeout=150, settle=3.0,
    ))
    done_at = time.monotonic() - t0
    ids = {e.event_id for e in events}
    acks = [decode(r.value, Acknowledgement) for r in found if r.topic in acks_topics]
    routed = [(r.topic, decode(r.value, RoutedEvent)) for r in found if r.topic not in acks_topics]
    routed = [(t, r) for t, r in routed if r.event.partner_id in partners]

    # Exactly one ROUTED acknowledgement per event, nothing else.
    assert len(acks) == EVENTS
    assert Counter(a.status for a in acks) == {AckStatus.ROUTED: EVENTS}
    assert {a.event_id for a in acks} == ids
    # Each event exactly once on each of its competent units' topics.
    copies = Counter((r.event.event_id, r.unit_id) for _, r in routed)
    assert max(copies.values()) == 1, [k for k, n in copies.items() if n > 1][:5]
    expected = {e.event_id: decide(e, snapshot).decision.units for e in events}
    assert {k for k in copies} == {(i, u) for i, units in expected.items() for u in units}
    assert all(t == topics.unit_incidents(r.unit_id) for t, r in routed)

    # Both workers did part of the work, and together exactly all of it.
    received = [_received(w) for w in workers]
    per_unit: dict[str, int] = defaultdict(int)
    for _, r in routed:
        per_unit[r.unit_id] += 1
    print(f"events received: A={received[0]:.0f} B={received[1]:.0f}; "
          f"split after {split_at:.1f} s, all outcomes after {done_at:.1f} s; "
          f"{len(routed)} routed copies to {len(per_unit)} units")
    assert all(n > 0 for n in received), received
    assert sum(received) == EVENTS
    assert all(w.process is not None and w.process.poll() is None for w in workers)

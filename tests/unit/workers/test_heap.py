"""The heap keeper settles between passes: what it freezes leaves later collections, and
cyclic garbage is collected first, never frozen."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigie import metrics
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.simulation.feed import scripted_day
from vigie.workers.engine import RoutingEngine
from vigie.workers.fetcher import Fetched
from vigie.workers.heap import HeapKeeper, observe_gc_pauses
from vigie.workers.transactions import Pass


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_settle_collects_cycles_then_freezes_the_survivors() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    garbage = weakref.ref(a)
    del a, b
    kept = [Node() for _ in range(100)]
    frozen_before = gc.get_freeze_count()

    HeapKeeper(5.0).settle()

    assert garbage() is None  # the cycle was collected, not frozen
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    collected = {id(o) for o in gc.get_objects()}  # generations 0-2, not the frozen ones
    assert not any(id(k) in collected for k in kept)


def test_settles_only_once_the_interval_passed() -> None:
    clock = Clock()
    keeper = HeapKeeper(5.0, clock=clock)
    assert not keeper.maybe_settle()
    clock.now += 4.9
    assert not keeper.maybe_settle()
    clock.now += 0.2
    assert keeper.maybe_settle()
    assert gc.get_freeze_count() > 0
    assert not keeper.maybe_settle()  # the interval counts from the last settle


def test_zero_interval_leaves_the_collector_alone() -> None:
    clock = Clock()
    keeper = HeapKeeper(0.0, clock=clock)
    frozen_before = gc.get_freeze_count()
    keeper.settle()
    clock.now += 1e6
    assert not keeper.maybe_settle()
    assert gc.get_freeze_count() == frozen_before


def test_collections_are_timed_by_generation() -> None:
    observe_gc_pauses()
    observe_gc_pauses()  # once per process, whoever calls it
    before = _count("2")
    gc.collect()
    assert _count("2") == before + 1


def _count(generation: str) -> float:
    for metric in metrics.GC_PAUSE.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count") and sample.labels["generation"] == generation:
                return sample.value
    return 0.0


def test_settling_between_passes_leaks_no_cycle() -> None:
    """The engine over the realistic mix (malformed, duplicates, follow-ups, expired: the
    rejections raise and catch), settled after every pass: once everything is unfrozen, a
    full collection finds no cyclic garbage the freezes kept. In a fresh interpreter, so
    that no thread left by another test adds garbage of its own."""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", "from tests.unit.workers.test_heap import cycles_left_by_settling;"
         " print(cycles_left_by_settling())"],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "services"), str(root)])})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "0", done.stdout


def cycles_left_by_settling(inputs: int = 1500) -> int:
    sites = load_sample_sites()
    engine = RoutingEngine(Settings(), ReferenceStore.with_defaults(sites=sites))
    feed = [Fetched(m.topic, 0, i, m.key, m.value)
            for i, m in enumerate(scripted_day(sites, inputs, seed=11))]
    keeper = HeapKeeper(1e-9)
    gc.collect()
    for start in range(0, len(feed), 256):
        work = Pass()
        for record in feed[start:start + 256]:
            engine._process(record, work)
        for count in work.counted:
            count()
        del work
        assert keeper.maybe_settle()
    assert engine.state.last_inputs()  # the passes did keep state
    keeper.settle()
    gc.unfreeze()
    return gc.collect()

"""The heap keeper settles between passes: what it freezes leaves later collections, and
cyclic garbage is collected first, never frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from vigie import metrics
from vigie.workers.heap import HeapKeeper, observe_gc_pauses


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

"""The worker's heap and Python's cyclic garbage collector.

The event state (``vigie.workers.state``) keeps one record per event for days: hundreds of
thousands of long-lived objects. CPython's full collection walks every tracked object, so
its pause grows with the state: measured in-process (``python -m bench.gc_pauses``, the
engine over 150,000 events), full collections of 171 ms median and 297 ms at worst, which
is what an urgent alert caught behind one waits (docs/performance.md, "GC pauses").

The state's records hold no reference cycles: they are freed by their reference counts
whatever the collector does. So the worker *settles* its heap from time to time, between
two passes, after a commit (``Settings.gc_settle_interval_seconds``, 1 s): a full collection
of the objects not yet settled (what the last second kept: a short pause), then
``gc.freeze()``, which moves the survivors out of every later collection. CPython's own full
collections then walk only what is new too (``python -m bench.gc_pauses``).

The cost: a cycle formed among objects already settled is never collected. The worker's
objects do not form new cycles once built (records are replaced, not mutated into
cycles), and each settle collects before it freezes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from vigie import metrics


class HeapKeeper:
    """Settles the heap after a take-over and then every ``interval_s`` (0: never; the
    collector's own policy applies)."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._last = clock()

    def settle(self) -> None:
        """Full collection of the unsettled objects, then freeze the survivors."""
        if self.interval_s <= 0:
            return
        gc.collect()
        gc.freeze()
        self._last = self.clock()

    def maybe_settle(self) -> bool:
        """Settle if ``interval_s`` passed since the last settle (called between passes)."""
        if self.interval_s <= 0 or self.clock() - self._last < self.interval_s:
            return False
        self.settle()
        return True


_started: dict[int, float] = {}


def _observe_pause(phase: str, info: dict[str, Any]) -> None:
    generation = int(info.get("generation", 0))
    if phase == "start":
        _started[generation] = time.perf_counter()
    elif (began := _started.pop(generation, None)) is not None:
        metrics.GC_PAUSE.labels(str(generation)).observe(time.perf_counter() - began)


def observe_gc_pauses() -> None:
    """Time every collection into ``vigie_gc_pause_seconds`` (once per process; the three
    generations' series exist from the start)."""
    for generation in range(3):
        metrics.GC_PAUSE.labels(str(generation))
    if _observe_pause not in gc.callbacks:
        gc.callbacks.append(_observe_pause)

"""The delivery guarantee under chaos, short form (the full run is ``make chaos``).

1,500 feed messages (+30 poison messages) at a steady rate from four partners while three
workers are SIGKILLed (one while two workers share the partitions), a second worker joins
and leaves, and the broker is SIGKILLed and restarted. Then, read_committed: exactly one
terminal acknowledgement per input, exactly one routed copy per routing decision, no copy of
anything not routed, every poison rejected with its reason and the unreadable ones
dead-lettered with their bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.harness import ChaosConfig, run_chaos
from vigie.broker.local import LocalBroker

pytestmark = pytest.mark.integration


def test_chaos_short(broker: LocalBroker, tmp_path: Path) -> None:
    config = ChaosConfig(events=1500, kills=3, rate=30.0, poison_every=50,
                         settle_timeout=120.0, settle=3.0)
    report = run_chaos(broker, config, tmp_path)
    print("\n" + report.table())
    assert report.kills >= 3 and report.broker_restarts == 1 and report.rebalances >= 2
    assert report.ok, report.table()

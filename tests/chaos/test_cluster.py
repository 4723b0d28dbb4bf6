"""The cluster chaos plan and its measure, without a broker (the run itself:
``make chaos-cluster``, and its short form in CI)."""

from __future__ import annotations

import pytest

from tests.chaos.cluster import BROKER_FAULTS, _max_gap, plan_cluster_steps


def test_every_fault_once_and_the_kills_spread_among_them() -> None:
    steps = plan_cluster_steps(6)
    assert [s for s in steps if s in BROKER_FAULTS] == list(BROKER_FAULTS)
    assert steps.count("kill") == 6
    # One kill while two workers share the partitions, right before the coordinator's kill.
    second, leaves = steps.index("start-second"), steps.index("stop-second")
    assert "kill" in steps[second:leaves] and "coordinator-kill" in steps[second:leaves]


def test_a_shorter_plan_keeps_its_order_and_refuses_unknown_faults() -> None:
    steps = plan_cluster_steps(2, ("two-down", "leader-kill"))
    assert [s for s in steps if s in BROKER_FAULTS] == ["leader-kill", "two-down"]
    assert steps.count("kill") == 2 and {"start-second", "stop-second"} <= set(steps)
    with pytest.raises(ValueError):
        plan_cluster_steps(2, ("broker-reboot",))
    with pytest.raises(ValueError):
        plan_cluster_steps(1)


def test_a_stall_counts_inside_the_window_only() -> None:
    acks = {0: [0.0, 1.0, 2.0, 14.0, 15.0], 1: [0.5, 1.5, 2.5, 3.5, 4.5, 16.0]}
    # Partition 0 stalls from 2 to 14, partition 1 from 4.5 to 16.
    assert _max_gap(acks, 3.0, 20.0) == pytest.approx(11.5)  # 4.5 .. 16 on partition 1
    assert _max_gap(acks, 10.0, 12.0) == pytest.approx(2.0)  # a stall cut to the window
    assert _max_gap(acks, 0.0, 3.0) == pytest.approx(1.0)  # before the stall: 1 s steps
    assert _max_gap(acks, 20.0, 30.0) == 0.0  # nothing after the last ack is counted

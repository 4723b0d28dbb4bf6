"""When the quixstreams peer counts as ready for the ``quix_alerts`` run: its first output,
i.e. an end offset past where it was before the peer started (bench/runs/peers.py)."""

from __future__ import annotations

from aiokafka import TopicPartition
from bench.runs.peers import outputs_moved

A0 = TopicPartition("vigie.opac-oise.acks.v1", 0)
A1 = TopicPartition("vigie.opac-oise.acks.v1", 1)


def test_nothing_produced_yet() -> None:
    assert not outputs_moved({A0: 10, A1: 0}, {A0: 10, A1: 0})


def test_one_partition_past_its_end_is_a_first_output() -> None:
    assert outputs_moved({A0: 10, A1: 0}, {A0: 10, A1: 1})


def test_a_partition_unknown_before_counts_from_zero() -> None:
    assert outputs_moved({A0: 10}, {A0: 10, A1: 2})
    assert not outputs_moved({A0: 10}, {A0: 10, A1: 0})

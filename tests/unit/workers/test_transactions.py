"""How a pass's records are grouped for the producer: one batch per (topic, partition), each
in the pass's order, a record without a partition where the producers' partitioner would put
it (murmur2 of its key), so that batching changes no record's place nor its order."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from vigie.pipeline.messages import Outbound
from vigie.workers.transactions import batches


def test_records_are_grouped_by_topic_and_partition_in_their_order() -> None:
    outbound = [Outbound("force.a.alerts.v1", b"e1", b"copy-1"),
                Outbound("acks", b"e1", b"ack-1"),
                Outbound("changelog", b"e1", b"state-1", partition=2),
                Outbound("force.a.alerts.v1", b"e1", b"copy-2"),
                Outbound("changelog", b"e9", b"state-9", partition=2)]
    grouped = batches(outbound, {"force.a.alerts.v1": 6, "acks": 4})
    home6 = DefaultPartitioner()(b"e1", list(range(6)), list(range(6)))
    home4 = DefaultPartitioner()(b"e1", list(range(4)), list(range(4)))
    assert grouped == {
        ("force.a.alerts.v1", home6): [(b"e1", b"copy-1"), (b"e1", b"copy-2")],
        ("acks", home4): [(b"e1", b"ack-1")],
        ("changelog", 2): [(b"e1", b"state-1"), (b"e9", b"state-9")],
    }


def test_every_key_lands_where_the_producers_partitioner_puts_it() -> None:
    keys = [f"evt-{i}".encode() for i in range(200)]
    grouped = batches([Outbound("t", k, b"v") for k in keys], {"t": 7})
    partitioner = DefaultPartitioner()
    for (_topic, p), records in grouped.items():
        assert all(partitioner(k, list(range(7)), list(range(7))) == p for k, _ in records)
    assert sum(len(r) for r in grouped.values()) == 200


def test_a_record_without_key_or_partition_goes_to_partition_0() -> None:
    assert batches([Outbound("vigie.deadletter.v1", None, b"x")],
                   {"vigie.deadletter.v1": 4}) == {("vigie.deadletter.v1", 0): [(None, b"x")]}

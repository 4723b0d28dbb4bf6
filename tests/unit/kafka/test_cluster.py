"""Reading a cluster: the DescribeQuorum answer (encoded as a broker sends it) names the
active controller; under-replicated and offline partitions and leader counts."""

from __future__ import annotations

import pytest
from aiokafka.errors import NotControllerError

from vigie.kafka.cluster import (
    METADATA_TOPIC,
    ClusterView,
    DescribeQuorumRequest,
    DescribeQuorumRequest_v0,
    DescribeQuorumResponse_v0,
    PartitionState,
    parse_quorum,
)


def _wire(error: int, leader: int, voters: list[tuple[int, int]]) -> DescribeQuorumResponse_v0:
    """A response as it comes off the wire: encoded, then decoded by aiokafka's types."""
    response = DescribeQuorumResponse_v0(0, [(METADATA_TOPIC, [
        (0, error, leader, 7, 120, [(v, end, {}) for v, end in voters], [(9, 50, {})], {}),
    ], {})], {})
    return DescribeQuorumResponse_v0.decode(response.encode())


def test_the_quorum_leader_is_the_active_controller() -> None:
    quorum = parse_quorum(_wire(0, 2, [(1, 120), (2, 120), (3, 95)]))
    assert quorum.leader_id == 2 and quorum.leader_epoch == 7 and quorum.high_watermark == 120
    assert quorum.voters == {1: 120, 2: 120, 3: 95}
    assert quorum.observers == {9: 50}
    assert quorum.lagging() == {3: 25}


def test_a_quorum_error_is_raised_not_taken_for_a_leader() -> None:
    with pytest.raises(NotControllerError):
        parse_quorum(_wire(NotControllerError.errno, -1, []))


def test_the_request_asks_for_the_metadata_partition() -> None:
    struct = DescribeQuorumRequest().prepare({55: (0, 2)})
    assert isinstance(struct, DescribeQuorumRequest_v0)
    decoded = DescribeQuorumRequest_v0.decode(struct.encode())
    assert decoded.topics == [(METADATA_TOPIC, [(0, {})], {})]


def test_view_counts_leaders_and_finds_partitions_short_of_replicas() -> None:
    view = ClusterView({1: "a", 2: "b"}, None, [
        PartitionState("t", 0, 1, (1, 2, 3), (1, 2, 3)),
        PartitionState("t", 1, 2, (2, 3, 1), (2, 1)),
        PartitionState("u", 0, -1, (3, 1, 2), (3,)),
        PartitionState("u", 1, 1, (1, 2, 3), (1, 2, 3)),
    ])
    assert view.controller is None
    assert [(p.topic, p.partition) for p in view.under_replicated] == [("t", 1), ("u", 0)]
    assert [(p.topic, p.partition) for p in view.offline] == [("u", 0)]
    assert view.leaders() == {1: 2, 2: 1}
    assert view.leaders(["t"]) == {1: 1, 2: 1}

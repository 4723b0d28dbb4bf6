"""What a multi-broker Kafka cluster looks like right now: its brokers, the active KRaft
controller, who leads which partition, the in-sync replicas, the transaction coordinators.

Why here: ``vigie broker status`` shows it for the local three-node cluster, and the chaos
harness aims its faults with it (kill the broker that leads the most partitions, the one
coordinating a worker's transactions, the active controller) instead of guessing.

The active controller is asked with DescribeQuorum (KIP-595), which a broker forwards to the
controllers: under KRaft, the "controller" of a metadata response is any live broker (clients
cannot reach controllers), so it cannot name the quorum's leader. aiokafka has no
DescribeQuorum request; its version 0 is declared below with aiokafka's own protocol types.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from aiokafka.errors import (
    CoordinatorNotAvailableError,
    KafkaConnectionError,
    NodeNotReadyError,
    NotCoordinatorError,
    RequestTimedOutError,
    for_code,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactString, Int16, Int32, Int64, Schema
from aiokafka.protocol.types import TaggedFields as Tags

from vigie.kafka import clients
from vigie.settings import Settings

T = TypeVar("T")

#: The KRaft metadata log: its leader is the active controller.
METADATA_TOPIC = "__cluster_metadata"
#: FindCoordinator's key type for transactional ids.
TRANSACTION_COORDINATOR = 1

_REPLICA_STATE = CompactArray(("replica_id", Int32), ("log_end_offset", Int64), ("tags", Tags))


class DescribeQuorumResponse_v0(Response):  # aiokafka's naming
    API_KEY = 55
    API_VERSION = 0
    SCHEMA = Schema(
        ("error_code", Int16),
        ("topics", CompactArray(
            ("topic_name", CompactString("utf-8")),
            ("partitions", CompactArray(
                ("partition_index", Int32),
                ("error_code", Int16),
                ("leader_id", Int32),
                ("leader_epoch", Int32),
                ("high_watermark", Int64),
                ("current_voters", _REPLICA_STATE),
                ("observers", _REPLICA_STATE),
                ("tags", Tags),
            )),
            ("tags", Tags),
        )),
        ("tags", Tags),
    )


class DescribeQuorumRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 55
    API_VERSION = 0
    RESPONSE_TYPE = DescribeQuorumResponse_v0
    SCHEMA = Schema(
        ("topics", CompactArray(
            ("topic_name", CompactString("utf-8")),
            ("partitions", CompactArray(("partition_index", Int32), ("tags", Tags))),
            ("tags", Tags),
        )),
        ("tags", Tags),
    )


DescribeQuorumRequestStruct: TypeAlias = DescribeQuorumRequest_v0


class DescribeQuorumRequest(Request[DescribeQuorumRequestStruct]):
    """The metadata quorum's state (``__cluster_metadata`` partition 0)."""

    API_KEY = 55

    def build(
        self, request_struct_class: type[DescribeQuorumRequestStruct]
    ) -> DescribeQuorumRequestStruct:
        return request_struct_class([(METADATA_TOPIC, [(0, {})], {})], {})


@dataclass(frozen=True)
class Quorum:
    """The KRaft quorum: its leader (the active controller) and how far each voter got."""

    leader_id: int
    leader_epoch: int
    high_watermark: int
    #: Voter id -> end offset of its copy of the metadata log.
    voters: dict[int, int]
    observers: dict[int, int] = field(default_factory=dict)

    def lagging(self) -> dict[int, int]:
        """Voters behind the high watermark, by how many metadata records."""
        return {v: self.high_watermark - end for v, end in self.voters.items()
                if end < self.high_watermark}


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    leader: int  # -1: no leader (offline)
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)

    @property
    def offline(self) -> bool:
        return self.leader < 0


@dataclass(frozen=True)
class ClusterView:
    """One look at the cluster, from whichever broker answered."""

    brokers: dict[int, str]  # registered, unfenced brokers: id -> host:port
    quorum: Quorum | None  # None when no controller answered (no quorum)
    partitions: list[PartitionState]

    @property
    def controller(self) -> int | None:
        return self.quorum.leader_id if self.quorum is not None else None

    @property
    def under_replicated(self) -> list[PartitionState]:
        return [p for p in self.partitions if p.under_replicated]

    @property
    def offline(self) -> list[PartitionState]:
        return [p for p in self.partitions if p.offline]

    def leaders(self, topics: Iterable[str] | None = None) -> Counter[int]:
        """How many partitions (of ``topics``, or all) each broker leads."""
        wanted = set(topics) if topics is not None else None
        return Counter(p.leader for p in self.partitions
                       if not p.offline and (wanted is None or p.topic in wanted))


def parse_quorum(response: Any) -> Quorum:
    """The quorum from a DescribeQuorum v0 response; raises the Kafka error it carries."""
    if response.error_code:
        raise for_code(response.error_code)()
    for topic, partitions, _ in response.topics:
        for index, error, leader, epoch, high_watermark, voters, observers, _ in partitions:
            if topic != METADATA_TOPIC or index != 0:
                continue
            if error:
                raise for_code(error)()
            return Quorum(leader, epoch, high_watermark,
                          voters={v: end for v, end, _ in voters},
                          observers={o: end for o, end, _ in observers})
    raise ValueError("DescribeQuorum answered without the metadata partition")


async def describe(settings: Settings, request_timeout_ms: int = 5000) -> ClusterView:
    """Brokers, active controller and every partition's leader and ISR (internal topics
    included: the offsets and transaction logs matter as much as Vigie's own topics)."""
    admin = clients.admin(settings, request_timeout_ms=request_timeout_ms)
    await admin.start()
    try:
        cluster = await _retrying(admin.describe_cluster)
        brokers = {b["node_id"]: f"{b['host']}:{b['port']}" for b in cluster["brokers"]}
        partitions = [
            PartitionState(t["topic"], p["partition"], p["leader"], tuple(p["replicas"]),
                           tuple(p["isr"]))
            for t in await _retrying(admin.describe_topics)
            if t["error_code"] == 0
            for p in t["partitions"]
        ]
        quorum: Quorum | None = None
        with contextlib.suppress(Exception):  # no quorum: nobody can answer
            quorum = parse_quorum(
                await _retrying(lambda: admin._send_request(DescribeQuorumRequest())))
    finally:
        await admin.close()
    return ClusterView(brokers, quorum, sorted(partitions,
                                               key=lambda p: (p.topic, p.partition)))


async def _retrying(ask: Callable[[], Awaitable[T]], attempts: int = 6) -> T:
    """Ask again when the broker asked is down: the admin client picks one at random among
    those the last metadata named, and a node just killed stays named until it is fenced."""
    for attempt in range(attempts):
        try:
            return await ask()
        except (NodeNotReadyError, KafkaConnectionError, RequestTimedOutError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


async def transaction_coordinators(settings: Settings,
                                   transactional_ids: Iterable[str]) -> dict[str, int]:
    """The broker coordinating each transactional id (FindCoordinator): the one whose loss
    moves a worker's open transactions to another broker."""
    admin = clients.admin(settings)
    await admin.start()
    found: dict[str, int] = {}
    try:
        for tid in transactional_ids:
            for attempt in range(60):  # the transaction log is created on the first lookup
                try:
                    found[tid] = await admin.find_coordinator(tid, TRANSACTION_COORDINATOR)
                    break
                except (CoordinatorNotAvailableError, NotCoordinatorError, NodeNotReadyError,
                        KafkaConnectionError):
                    if attempt == 59:
                        raise
                    await asyncio.sleep(0.5)
    finally:
        await admin.close()
    return found

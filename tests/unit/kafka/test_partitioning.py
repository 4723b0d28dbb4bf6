"""Kafka's murmur2 partitioner as Vigie computes it: the same hash as aiokafka's (and so the
Java client's) for every key, the partition the partitioning contract checks, and the
producers' partitioner built on it."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from vigie.kafka import clients
from vigie.kafka.partitioning import key_partition, murmur2, partitioner
from vigie.settings import Settings


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_murmur2_is_aiokafkas_for_every_key(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


def test_murmur2_of_known_keys() -> None:
    # Values of the Java client's Utils.murmur2 (signed), as unsigned 32-bit values.
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_the_partitioner_and_the_check_agree_with_aiokafkas_default(key: bytes,
                                                                    count: int) -> None:
    partitions = list(range(count))
    expected = DefaultPartitioner()(key, partitions, partitions)
    assert partitioner(key, partitions, partitions) == expected
    assert key_partition(key, count) == expected


def test_no_key_or_no_count_has_no_expected_partition() -> None:
    assert key_partition(None, 4) is None and key_partition(b"x", None) is None
    assert key_partition(b"x", 0) is None


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    assert partitioner(None, [0, 1, 2, 3], [2]) == 2
    assert partitioner(None, [0, 1], []) in (0, 1)


async def test_every_producer_partitions_with_it() -> None:
    producer = clients.producer(Settings())  # not started: no broker needed
    assert producer._partitioner is partitioner

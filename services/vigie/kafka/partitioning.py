"""Kafka's default key partitioner (murmur2, as the Java client, aiokafka and librdkafka's
``murmur2_random``), computed once per key.

The partitioning contract (docs/security.md) needs the partition of every input record's key
(the worker checks it, ``Inbound.expected_partition``), and the worker's outputs are keyed by
the same root event id, so the producers hash the same keys again. aiokafka's ``murmur2`` is
pure Python, byte by byte (about a tenth of the intake's CPU before this module); here the
4-byte words are unpacked at once and each key's hash is kept in a small LRU cache that the
check and the producers' partitioner (``clients.producer``) share.
"""

from __future__ import annotations

import functools
import random
import struct
from collections.abc import Sequence

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF
#: Keys whose hash is kept: a pass's inputs and their outputs hit it; far more than a pass.
CACHED_KEYS = 8192


def murmur2(data: bytes) -> int:
    """MurmurHash2 of ``data`` as Kafka's Java ``Utils.murmur2`` (as an unsigned 32-bit
    value, like aiokafka's): the same for every input, tested against aiokafka's."""
    length = len(data)
    h = _SEED ^ length
    words = length >> 2
    for k in struct.unpack_from(f"<{words}I", data) if words else ():
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    extra = length & 3
    if extra:
        tail = length & ~3
        if extra >= 3:
            h ^= data[tail + 2] << 16
        if extra >= 2:
            h ^= data[tail + 1] << 8
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


@functools.lru_cache(maxsize=CACHED_KEYS)
def key_hash(key: bytes) -> int:
    """``murmur2(key)`` made positive, as the partitioners use it; cached per key."""
    return murmur2(key) & 0x7FFFFFFF


def key_partition(key: bytes | None, count: int | None) -> int | None:
    """The partition Kafka's default partitioner gives ``key`` among ``count``; None when
    unknown (no key, or no partition count)."""
    if key is None or not count:
        return None
    return key_hash(key) % count


def partitioner(key: bytes | None, all_partitions: Sequence[int],
                available: Sequence[int]) -> int:
    """aiokafka's ``DefaultPartitioner``, with the cached hash: murmur2 of the key over all
    partitions; without a key, a random available one."""
    if key is None:
        return random.choice(list(available) or list(all_partitions))
    return all_partitions[key_hash(key) % len(all_partitions)]

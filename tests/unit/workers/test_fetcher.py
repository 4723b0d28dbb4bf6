"""The engine's per-partition buffers over a librdkafka consumer: takes by partition and
share, records given back first, bounded memory by pausing full partitions, no record twice
after a resume."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import TopicPartition

from vigie.workers.fetcher import Fetcher

A0, A1 = TopicPartition("a", 0), TopicPartition("a", 1)


@dataclass
class Message:
    _topic: str
    _partition: int
    _offset: int

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return f"k{self._offset}".encode()

    def value(self) -> bytes:
        return f"v{self._offset}".encode()


@dataclass
class Consumer:
    """librdkafka's queue: whatever was fetched, every partition mixed."""

    queue: list[Message] = field(default_factory=list)
    paused: set[tuple[str, int]] = field(default_factory=set)

    def consume(self, num_messages: int = 1, timeout: float = 0.0) -> list[Message]:
        out = [m for m in self.queue if (m.topic(), m.partition()) not in self.paused]
        out = out[:num_messages]
        for m in out:
            self.queue.remove(m)
        return out

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused.update((tp.topic, tp.partition) for tp in partitions)

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused.difference_update((tp.topic, tp.partition) for tp in partitions)


def fetcher(consumer: Consumer, buffer: int = 100) -> Fetcher:
    return Fetcher(consumer, partition_buffer=buffer, to_consumer_partition=lambda tp: tp)


def feed(consumer: Consumer, tp: TopicPartition, offsets: range) -> None:
    consumer.queue.extend(Message(tp.topic, tp.partition, o) for o in offsets)


def test_a_take_serves_only_its_partitions_in_order_up_to_its_share() -> None:
    consumer = Consumer()
    feed(consumer, A0, range(5))
    feed(consumer, A1, range(10, 13))
    f = fetcher(consumer)
    assert f.fill() == 8
    got = f.take([A1, A0], 4)
    assert [r.offset for r in got[A1]] == [10, 11, 12]
    assert [r.offset for r in got[A0]] == [0]
    assert (got[A0][0].key, got[A0][0].value) == (b"k0", b"v0")
    assert [r.offset for r in f.take([A0], 10)[A0]] == [1, 2, 3, 4]
    assert f.buffered() == 0


def test_records_given_back_come_first_in_their_order() -> None:
    consumer = Consumer()
    feed(consumer, A0, range(6))
    f = fetcher(consumer)
    f.fill()
    taken = f.take([A0], 6)[A0]
    f.unread(A0, taken[3:])
    assert [r.offset for r in f.take([A0], 10)[A0]] == [3, 4, 5]


def test_a_full_partition_is_paused_and_resumed_once_drained() -> None:
    consumer = Consumer()
    feed(consumer, A0, range(25))
    f = fetcher(consumer, buffer=10)
    f.fill()
    assert ("a", 0) in consumer.paused
    f.take([A0], 16)
    assert ("a", 0) in consumer.paused  # 9 left: above half the buffer
    f.take([A0], 5)
    assert ("a", 0) not in consumer.paused


def test_a_record_fetched_again_after_a_resume_is_not_buffered_twice() -> None:
    consumer = Consumer()
    feed(consumer, A0, range(3))
    f = fetcher(consumer)
    f.fill()
    feed(consumer, A0, range(1, 5))  # librdkafka refetching from an older position
    assert f.fill() == 2
    assert [r.offset for r in f.take([A0], 10)[A0]] == [0, 1, 2, 3, 4]


def test_a_rebalance_forgets_every_buffered_record() -> None:
    consumer = Consumer()
    feed(consumer, A0, range(3))
    f = fetcher(consumer)
    f.fill()
    f.reset({A0: 1})
    assert f.buffered() == 0
    feed(consumer, A0, range(1, 3))
    f.fill()
    assert [r.offset for r in f.take([A0], 10)[A0]] == [1, 2]

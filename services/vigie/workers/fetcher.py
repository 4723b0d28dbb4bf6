"""The engine's read side over a librdkafka consumer: records buffered per partition, so
that a pass can take "up to N records of these partitions" (the scheduler's takes) and give
back what its time budget left, without a seek.

librdkafka's ``consume()`` returns whatever its fetchers queued, every partition mixed. The
engine's lanes and per-partner shares (``vigie.workers.scheduler``) need per-partition
reads, so ``Fetcher.fill`` moves what is queued into a deque per partition and
``Fetcher.take`` serves the takes from there. A partition whose deque is full is paused on
the consumer (librdkafka then stops fetching it) and resumed once the engine has drained it,
so memory stays bounded whatever a partner floods. Records the budget left for later go
back to the front of their deque (``unread``). Records are copied out of librdkafka's
messages once (``Fetched``), so the processors read plain attributes.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from aiokafka import TopicPartition

if TYPE_CHECKING:
    from confluent_kafka import Message

log = logging.getLogger("vigie.worker")

#: Records buffered per partition before it is paused on the consumer.
PARTITION_BUFFER = 2_000
#: Records moved from librdkafka's queue per ``consume()`` call.
CONSUME_BATCH = 1_000


class Fetched(NamedTuple):
    """One input record, as the processors and the scheduler read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Source(Protocol):
    """What the fetcher uses of a confluent-kafka ``Consumer``."""

    def consume(self, num_messages: int = ..., timeout: float = ...) -> list[Message]: ...
    def pause(self, partitions: list[object]) -> None: ...
    def resume(self, partitions: list[object]) -> None: ...


class Fetcher:
    """Per-partition buffers over one consumer (see the module doc)."""

    def __init__(self, consumer: Source, *, partition_buffer: int = PARTITION_BUFFER,
                 to_consumer_partition: type | None = None) -> None:
        self.consumer = consumer
        self.partition_buffer = partition_buffer
        self._buffers: dict[TopicPartition, deque[Fetched]] = {}
        #: Next offset expected per partition: a record below it was already buffered (a
        #: refetch after a resume) and is dropped.
        self._next: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._tp = to_consumer_partition or _confluent_partition

    def reset(self, positions: dict[TopicPartition, int] | None = None) -> None:
        """Forget every buffered record (a rebalance); ``positions`` are where the consumer
        now reads each partition from."""
        self._buffers.clear()
        self._paused.clear()
        self._next = dict(positions or {})

    def buffered(self, partitions: Iterable[TopicPartition] | None = None) -> int:
        if partitions is None:
            return sum(len(b) for b in self._buffers.values())
        return sum(len(self._buffers.get(tp, ())) for tp in partitions)

    def fill(self, timeout: float = 0.0) -> int:
        """Move what librdkafka has queued into the buffers (waiting up to ``timeout``
        seconds for the first record); return how many records came. Rebalance callbacks
        run inside this call (the group consumer's).

        The wait asks for one record: librdkafka's ``consume(n, timeout)`` returns only
        when it has ``n`` records or the timeout is over, so a batch wait would hold the
        first record back for the whole timeout."""
        came = 0
        if timeout > 0:
            for message in self.consumer.consume(num_messages=1, timeout=timeout):
                came += self._take_in(message)
        while True:
            messages = self.consumer.consume(num_messages=CONSUME_BATCH, timeout=0)
            for message in messages:
                came += self._take_in(message)
            if len(messages) < CONSUME_BATCH:
                break
        self._pause_full()
        return came

    def _take_in(self, message: Message) -> int:
        if message.error() is not None:
            self._on_error(message)
            return 0
        return self._buffer(message)

    def _buffer(self, message: Message) -> int:
        tp = TopicPartition(message.topic() or "", message.partition() or 0)
        offset = message.offset() or 0
        if offset < self._next.get(tp, -1):
            return 0  # already buffered (fetched again after a resume)
        self._next[tp] = offset + 1
        buffer = self._buffers.get(tp)
        if buffer is None:
            buffer = self._buffers[tp] = deque()
        buffer.append(Fetched(tp.topic, tp.partition, offset, message.key(), message.value()))
        return 1

    def _on_error(self, message: Message) -> None:
        error = message.error()
        if error is not None and error.fatal():
            raise RuntimeError(f"fatal consumer error: {error}")
        log.warning("consumer error", extra={"error": str(error), "topic": message.topic(),
                                             "partition": message.partition()})

    def take(self, partitions: Iterable[TopicPartition], max_records: int
             ) -> dict[TopicPartition, list[Fetched]]:
        """Up to ``max_records`` buffered records of these partitions, in partition order."""
        got: dict[TopicPartition, list[Fetched]] = {}
        left = max_records
        for tp in partitions:
            buffer = self._buffers.get(tp)
            if not buffer or left <= 0:
                continue
            n = min(left, len(buffer))
            got[tp] = [buffer.popleft() for _ in range(n)]
            left -= n
        self._resume_drained(got)
        return got

    def unread(self, tp: TopicPartition, records: list[Fetched]) -> None:
        """Give records back: they come first at the next ``take``."""
        buffer = self._buffers.setdefault(tp, deque())
        buffer.extendleft(reversed(records))

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            self._buffers.pop(tp, None)
            self._next.pop(tp, None)
            self._paused.discard(tp)

    def _pause_full(self) -> None:
        full = [tp for tp, b in self._buffers.items()
                if len(b) >= self.partition_buffer and tp not in self._paused]
        if full:
            self.consumer.pause([self._tp(tp) for tp in full])
            self._paused.update(full)

    def _resume_drained(self, taken: Iterable[TopicPartition]) -> None:
        drained = [tp for tp in taken if tp in self._paused
                   and len(self._buffers.get(tp, ())) < self.partition_buffer // 2]
        if drained:
            self.consumer.resume([self._tp(tp) for tp in drained])
            self._paused.difference_update(drained)


def _confluent_partition(tp: TopicPartition) -> object:
    from confluent_kafka import TopicPartition as RdTopicPartition

    return RdTopicPartition(tp.topic, tp.partition)

"""The routing engine's transactional producer and the commit of a pass: **one Kafka
transaction per pass**, whatever partitions it touched (KIP-447).

One librdkafka producer per worker. Its input offsets go into the transaction with the group
consumer's metadata (``send_offsets_to_transaction(offsets, group_metadata)``): the group
coordinator refuses them from a member of an older generation, so a zombie that lost its
partitions in a rebalance can no longer commit, and its open transaction is aborted. The
worker that takes the partitions over asks for *stable* offsets (librdkafka sets
``require_stable`` on OffsetFetch when ``isolation.level=read_committed``): while a
transaction with offsets of those partitions is pending, the broker makes it wait.
docs/reliability.md (the decision record) says why this replaced aiokafka's one producer and
one transaction per partition number, and what was measured.

The transactional id is the worker's own (``transactional_id``): a supervised worker
restarted after a crash keeps it, so its first ``init_transactions`` aborts what the crash
left open at once instead of after ``TRANSACTION_TIMEOUT_MS``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition

from vigie import metrics
from vigie.kafka import clients
from vigie.pipeline.messages import Outbound
from vigie.settings import Settings
from vigie.workers.supervisor import WORKER_ID_ENV

if TYPE_CHECKING:
    from confluent_kafka import Producer

log = logging.getLogger("vigie.worker")

#: A transaction open longer than this is aborted by the broker. It also bounds how long a
#: crashed worker's open transaction holds its partitions back (read_committed readers and
#: the next owner's stable offset fetch wait for it) when no restart reuses its id.
TRANSACTION_TIMEOUT_MS = 10_000
#: Seconds a transactional call may take before the worker gives up (and fail-stops).
CALL_TIMEOUT_S = 10.0
#: librdkafka errors after which the producer is made anew before the next transaction.
CONNECTION_LOST = frozenset({"_ALL_BROKERS_DOWN", "_TRANSPORT"})


@dataclass
class Pass:
    """The work of one pass for one partition number: records to send (produced as they
    come, ``Transactions.send``), which offsets to commit, and the results to count once
    the transaction is committed."""

    outbound: list[Outbound] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    counted: list[Callable[[], None]] = field(default_factory=list)


def worker_instance() -> str:
    """This worker's name: the supervisor's (stable across restarts), else host and pid."""
    return os.environ.get(WORKER_ID_ENV) or f"{socket.gethostname()}-{os.getpid()}-" \
        f"{uuid.uuid4().hex[:6]}"


def transactional_id(settings: Settings, instance: str) -> str:
    return f"{settings.app_id}-route-{instance}"


class Watchdog:
    """Calls ``on_hang`` if a call it watches outlives its time.

    librdkafka's ``send_offsets_to_transaction`` may block past its own timeout when its
    cached group coordinator went away (confluentinc/librdkafka#5456 and #5511, open; seen
    here after a broker restart): a worker blocked there would hold its partitions forever.
    The engine's ``on_hang`` fail-stops, and the restarted worker's ``init_transactions``
    aborts the transaction the hang left open."""

    def __init__(self, on_hang: Callable[[str], None]) -> None:
        self.on_hang = on_hang
        self._deadline: float | None = None
        self._what = ""
        self._wake = threading.Event()
        threading.Thread(target=self._watch, name="vigie-txn-watchdog", daemon=True).start()

    def arm(self, seconds: float, what: str) -> None:
        self._what = what
        self._deadline = time.monotonic() + seconds

    def disarm(self) -> None:
        self._deadline = None

    def _watch(self) -> None:
        while not self._wake.wait(1.0):
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                self.on_hang(f"{self._what} blocked past its timeout: stopping the worker, "
                             "its inputs will be processed again")
                return


class Transactions:
    """The worker's transactional producer (see the module doc)."""

    def __init__(self, settings: Settings, instance: str | None = None,
                 on_hang: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.transactional_id = transactional_id(settings, instance or worker_instance())
        self._producer: Producer | None = None
        self._watchdog = Watchdog(on_hang) if on_hang is not None else None
        self._connection_lost = False
        self._open = False

    def start(self) -> None:
        """``init_transactions``: aborts what a previous incarnation of this id left open."""
        self._connection_lost = False
        producer = clients.rd_producer(
            self.settings,
            **{
                "error_cb": self._on_error,
                "transactional.id": self.transactional_id,
                "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                "acks": "all",
                "linger.ms": 2,
                "retry.backoff.ms": 5,
                # Above every record the worker lets through (``RoutingEngine._publishable``),
                # with room for the batch header; the broker's own limit is
                # ``message.max.bytes``.
                "message.max.bytes": self.settings.max_output_bytes + 64 * 1024,
            },
        )
        producer.init_transactions(CALL_TIMEOUT_S)
        self._producer = producer

    def _on_error(self, error: Any) -> None:
        if error.name() in CONNECTION_LOST:
            self._connection_lost = True
        log.warning("transactional producer error", extra={"error": str(error)})

    def _renew_if_disconnected(self) -> None:
        """A producer that lost its brokers is made anew (same transactional id) before its
        next transaction: after a broker restart librdkafka may keep a stale group
        coordinator and block in ``send_offsets_to_transaction`` (librdkafka#5511)."""
        assert self._producer is not None
        self._producer.poll(0)  # serves the error callbacks
        if self._connection_lost:
            log.info("the brokers were lost: renewing the transactional producer")
            self.close()
            self.start()

    def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(5)

    def send(self, outbound: list[Outbound]) -> None:
        """Produce these records in the pass's transaction (begun with the first of them).

        Records go out as the pass makes them, so librdkafka registers their partitions
        and sends them while the pass goes on processing: the commit then waits for little
        more than its own round trips (the pass's records all sent at its end took longer
        to commit than to process, docs/performance.md)."""
        if not outbound:
            return
        producer = self._producer if self._open and self._producer else self._begin()
        for out in outbound:
            if out.partition is None:
                producer.produce(out.topic, out.value, out.key)
            else:
                producer.produce(out.topic, out.value, out.key, partition=out.partition)

    def _begin(self) -> Producer:
        self._renew_if_disconnected()
        producer = self._producer
        assert producer is not None, "Transactions.start() first"
        producer.begin_transaction()
        self._open = True
        return producer

    def commit(self, offsets: dict[TopicPartition, int], group_metadata: Any) -> None:
        """Commit the pass's transaction with these input offsets; raises if it failed
        (the caller fail-stops: whatever was not committed is read again)."""
        if not self._open and not offsets:
            return
        started = time.monotonic()
        if self._watchdog is not None:
            # Past every call's own timeout: only a call that ignored it trips this.
            self._watchdog.arm(3 * CALL_TIMEOUT_S, "a transaction commit")
        try:
            producer = self._producer if self._open and self._producer else self._begin()
            if offsets:
                producer.send_offsets_to_transaction(_offsets(offsets), group_metadata,
                                                     CALL_TIMEOUT_S)
            producer.commit_transaction(CALL_TIMEOUT_S)
        except BaseException:
            self.abort()
            raise
        finally:
            self._open = False
            if self._watchdog is not None:
                self._watchdog.disarm()
        metrics.PASS_COMMIT.observe(time.monotonic() - started)

    def abort(self) -> None:
        """Abort the open transaction if the producer still can (best effort: fencing or
        the broker's timeout aborts it otherwise)."""
        producer = self._producer
        if producer is None:
            return
        try:
            producer.abort_transaction(5)
        except Exception as exc:  # a failed abort is resolved by the broker
            log.warning("could not abort the transaction", extra={"error": str(exc)})


def _offsets(offsets: dict[TopicPartition, int]) -> list[Any]:
    from confluent_kafka import TopicPartition as RdTopicPartition

    return [RdTopicPartition(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]

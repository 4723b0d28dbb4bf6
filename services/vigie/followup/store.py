"""The follow-up store in PostgreSQL: facts and consumed offsets in one transaction.

The classic exactly-once sink: a batch's rows and the offsets after it commit together, so a
crash anywhere leaves either both or neither, and the sink resumes from the offsets in the
database (never Kafka's committed offsets). Every row is also keyed so that writing it twice
changes nothing, which covers a partition moving between two sinks mid-batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass, field
from typing import Any

import psycopg

from vigie.followup.facts import AckRow, FollowUpRow, RoutedEventRow

Offsets = dict[tuple[str, int], int]

_ROUTED = """
INSERT INTO routed_events (event_id, partner_id, site_id, insee_code, qpv_name, zsp, category,
    lane, urgency, severity, event_status, force, units, method, rule, outcome, occurred_at,
    sent_at, routed_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (event_id) DO UPDATE SET
    site_id = excluded.site_id, insee_code = excluded.insee_code,
    qpv_name = excluded.qpv_name, zsp = excluded.zsp, lane = excluded.lane,
    force = excluded.force, units = excluded.units, method = excluded.method,
    rule = excluded.rule, outcome = excluded.outcome, routed_at = excluded.routed_at
WHERE excluded.routed_at < routed_events.routed_at"""
_FOLLOW_UP = """
INSERT INTO follow_ups (event_id, root_id, kind, sent_at) VALUES (%s, %s, %s, %s)
ON CONFLICT (event_id) DO NOTHING"""
_ACK = """
INSERT INTO event_acks (ack_id, event_id, partner_id, status, units, issued_at)
VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (ack_id) DO NOTHING"""
#: The instants of an incident's course, from its acknowledgements, on its row (migration
#: 0003): refreshed for the events a batch touches (``{which}``: a condition on event_id),
#: so that a copy arriving after its acknowledgements, or before, ends the same.
REFRESH_INSTANTS = """
UPDATE routed_events e SET
    received_at = s.received_at, first_status_at = s.first_status_at,
    taken_in_charge_at = s.taken_in_charge_at, closed_at = s.closed_at,
    escalated = s.escalated, transferred = s.transferred
FROM (
    SELECT event_id,
           min(issued_at) FILTER (WHERE status = 'ROUTED') AS received_at,
           min(issued_at) FILTER (WHERE status IN ('TAKEN_IN_CHARGE', 'PATROL_DISPATCHED',
                                  'CLOSED', 'TRANSFER_REQUESTED')) AS first_status_at,
           min(issued_at) FILTER (WHERE status IN ('TAKEN_IN_CHARGE', 'PATROL_DISPATCHED'))
               AS taken_in_charge_at,
           max(issued_at) FILTER (WHERE status = 'CLOSED') AS closed_at,
           coalesce(bool_or(status = 'ESCALATED'), false) AS escalated,
           coalesce(bool_or(status = 'TRANSFERRED'), false) AS transferred
    FROM event_acks WHERE {which}
    GROUP BY event_id) s
WHERE e.event_id = s.event_id"""
_REFRESH_BATCH = REFRESH_INSTANTS.format(which="event_id = ANY(%s)")
_OFFSET = """
INSERT INTO sink_offsets (consumer, topic, partition, next_offset) VALUES (%s, %s, %s, %s)
ON CONFLICT (consumer, topic, partition) DO UPDATE
SET next_offset = greatest(sink_offsets.next_offset, excluded.next_offset)"""


@dataclass
class Batch:
    """What one pass of the sink writes."""

    routed: list[RoutedEventRow] = field(default_factory=list)
    follow_ups: list[FollowUpRow] = field(default_factory=list)
    acks: list[AckRow] = field(default_factory=list)
    offsets: Offsets = field(default_factory=dict)

    def add(self, row: RoutedEventRow | FollowUpRow | AckRow | None) -> None:
        if isinstance(row, RoutedEventRow):
            self.routed.append(row)
        elif isinstance(row, FollowUpRow):
            self.follow_ups.append(row)
        elif isinstance(row, AckRow):
            self.acks.append(row)

    @property
    def rows(self) -> int:
        return len(self.routed) + len(self.follow_ups) + len(self.acks)


def _params(rows: Iterable[object]) -> list[tuple[object, ...]]:
    out = []
    for row in rows:
        values = astuple(row)  # type: ignore[call-overload]
        out.append(tuple(list(v) if isinstance(v, tuple) else v for v in values))
    return out


class FollowUpStore:
    """One connection of one sink (``consumer`` names it in ``sink_offsets``)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], consumer: str) -> None:
        self.conn = conn
        self.consumer = consumer

    @classmethod
    async def connect(cls, url: str, consumer: str) -> FollowUpStore:
        return cls(await psycopg.AsyncConnection.connect(url), consumer)

    async def close(self) -> None:
        await self.conn.close()

    async def offsets(self) -> Offsets:
        cursor = await self.conn.execute(
            "SELECT topic, partition, next_offset FROM sink_offsets WHERE consumer = %s",
            (self.consumer,))
        rows = await cursor.fetchall()
        await self.conn.commit()
        return {(topic, partition): offset for topic, partition, offset in rows}

    async def write(self, batch: Batch) -> None:
        """Rows and offsets, all or nothing."""
        async with self.conn.transaction(), self.conn.cursor() as cursor:
            if batch.routed:
                await cursor.executemany(_ROUTED, _params(batch.routed))
            if batch.follow_ups:
                await cursor.executemany(_FOLLOW_UP, _params(batch.follow_ups))
            if batch.acks:
                await cursor.executemany(_ACK, _params(batch.acks))
            touched = {r.event_id for r in batch.routed} | {a.event_id for a in batch.acks}
            if touched:
                await cursor.execute(_REFRESH_BATCH, (sorted(touched),))
            await cursor.executemany(_OFFSET, [
                (self.consumer, topic, partition, offset)
                for (topic, partition), offset in batch.offsets.items()])



async def holds_facts(url: str) -> bool:
    """Whether any incident is stored yet (``vigie run`` backfills a history otherwise)."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute("SELECT EXISTS (SELECT 1 FROM routed_events)")
        row = await cursor.fetchone()
    return bool(row and row[0])

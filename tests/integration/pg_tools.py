"""PostgreSQL helpers for the follow-up tests: a scratch database of its own per test, and
facts written straight into the store (through ``FollowUpStore.write``, as the sink does).

A scratch database keeps what a test counts apart from what other tests' sinks leave in
the session's ``vigie`` database, and lets a test stop at an older migration.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg

from vigie.db.migrate import upgrade
from vigie.followup.facts import AckRow, FollowUpRow, RoutedEventRow
from vigie.followup.store import Batch, FollowUpStore


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def scratch_database(url: str, revision: str = "head") -> Iterator[str]:
    """A new database on the session's server, migrated to ``revision``; dropped after."""
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    admin = with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    scratch = with_database(url, name)
    try:
        upgrade(scratch, revision)
        yield scratch
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def without_notices(url: str) -> None:
    """The store as a deployment that never ran a hotspot pass may have it: no notices
    table (what the report and the purge must cope with)."""
    with psycopg.connect(url) as conn:
        conn.execute("DROP VIEW open_episodes")
        conn.execute("DROP TABLE prevention_notices, prevention_passes")


def fact(partner: str, occurred_at: datetime, *, site: str | None = None,
         insee: str = "60175", qpv: str | None = None, zsp: bool = False,
         category: str = "DAMAGE", lane: str = "INCIDENT",
         units: Sequence[str] = ("pn-csp-creil",), outcome: str = "ROUTED",
         event_id: str | None = None) -> RoutedEventRow:
    """One routed incident as the sink would have stored it."""
    alert = lane == "ALERT"
    return RoutedEventRow(
        event_id=event_id or str(uuid.uuid4()), partner_id=partner, site_id=site,
        insee_code=insee, qpv_name=qpv, zsp=zsp, category=category, lane=lane,
        urgency="IMMEDIATE" if alert else "EXPECTED", severity="SEVERE" if alert else "MINOR",
        event_status="ACTUAL", force="PN" if units[0].startswith("pn-") else "GN",
        units=tuple(units), method="COMPETENCE", rule=None, outcome=outcome,
        occurred_at=occurred_at, sent_at=occurred_at + timedelta(minutes=2),
        routed_at=occurred_at + timedelta(minutes=2, seconds=1))


def ack(row: RoutedEventRow, status: str, after: timedelta) -> AckRow:
    return AckRow(str(uuid.uuid4()), row.event_id, row.partner_id, status, row.units,
                  row.routed_at + after)


def write(url: str, rows: Sequence[RoutedEventRow | AckRow | FollowUpRow]) -> None:
    """All rows in one store transaction (no offsets: they come from no topic)."""
    async def main() -> None:
        store = await FollowUpStore.connect(url, f"test-{uuid.uuid4().hex[:6]}")
        try:
            batch = Batch()
            for row in rows:
                batch.add(row)
            await store.write(batch)
        finally:
            await store.close()

    asyncio.run(main())

"""How long the follow-up store keeps its facts, and the purge that enforces it.

Why a limit although the store holds no free text: an event id with a residence, a time and
a category ("staff aggression at site X on the 3rd at 21:10") can still point at a person
(the caretaker, a tenant). The store is therefore treated as pseudonymous personal data, and
the GDPR's storage limitation (art. 5(1)(e)) applies: keep it no longer than the purposes of
the convention need. Those are the committee's periodic report, which compares a period with
the one before (a year with the previous year: two years of facts), answering questions
about a report already sent (a margin of one year), and the hotspot baseline (26 weeks).
Hence three years (``Settings.followup_retention_days``, docs/reliability.md); what the
committee keeps after that is its reports, which hold counts, not events.

The purge removes, in one transaction, the incidents that occurred before the cut-off with
their acknowledgements and follow-ups, the acknowledgements and follow-ups older than the
cut-off whose incident is not in the store (expired events, messages routed before the
sink started), and the hotspot notices issued before it when the store has them. The sink
does not bring purged facts back: it resumes from the offsets stored beside them, and Kafka
keeps these topics for 7 to 30 days, far less than the retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from vigie.followup.report_queries import NOTICES_TABLE, TIMEZONE


def cutoff(today: date, retention_days: int) -> date:
    """The first day kept: facts that occurred before it are purged."""
    return today - timedelta(days=retention_days)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(TIMEZONE))


@dataclass(frozen=True)
class Purged:
    """Rows deleted (or that would be, in a dry run) per table; notices None without the
    notices table."""

    before: datetime
    routed_events: int
    event_acks: int
    follow_ups: int
    prevention_notices: int | None
    dry_run: bool = False


_GONE = """
CREATE TEMP TABLE purged_events ON COMMIT DROP AS
SELECT event_id FROM routed_events WHERE occurred_at < %(before)s"""
_ACKS = """
DELETE FROM event_acks a
WHERE a.event_id IN (SELECT event_id FROM purged_events)
   OR (a.issued_at < %(before)s
       AND NOT EXISTS (SELECT 1 FROM routed_events r WHERE r.event_id = a.event_id))"""
_FOLLOW_UPS = """
DELETE FROM follow_ups f
WHERE f.root_id IN (SELECT event_id FROM purged_events)
   OR (f.sent_at < %(before)s
       AND NOT EXISTS (SELECT 1 FROM routed_events r WHERE r.event_id = f.root_id))"""
_EVENTS = "DELETE FROM routed_events WHERE event_id IN (SELECT event_id FROM purged_events)"
_NOTICES = f"DELETE FROM {NOTICES_TABLE} WHERE issued_at < %(before)s"


def purge(conn: psycopg.Connection[Any], before: date, *, dry_run: bool = False) -> Purged:
    """Delete the facts older than ``before`` (Paris midnight), all or nothing; a dry run
    counts the same rows and rolls back."""
    params = {"before": start_of(before)}
    with conn.transaction(force_rollback=dry_run), conn.cursor() as cursor:
        cursor.execute(_GONE, params)
        acks = cursor.execute(_ACKS, params).rowcount
        follow_ups = cursor.execute(_FOLLOW_UPS, params).rowcount
        events = cursor.execute(_EVENTS, params).rowcount
        notices = None
        exists = cursor.execute("SELECT to_regclass(%s) IS NOT NULL",
                                (NOTICES_TABLE,)).fetchone()
        if exists and exists[0]:
            notices = cursor.execute(_NOTICES, params).rowcount
    return Purged(params["before"], events, acks, follow_ups, notices, dry_run)


def purge_url(url: str, before: date, *, dry_run: bool = False) -> Purged:
    with psycopg.connect(url) as conn:
        return purge(conn, before, dry_run=dry_run)

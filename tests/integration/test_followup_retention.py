"""The retention purge on a real PostgreSQL: what goes, what stays, and all or nothing.

Each test works in a scratch database of its own, so the counts are exact whatever the
other tests' sinks store in the session database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.integration.pg_tools import ack, fact, scratch_database, without_notices, write
from vigie.followup.facts import FollowUpRow
from vigie.followup.retention import cutoff, purge_url

pytestmark = pytest.mark.integration

BEFORE = date(2023, 1, 1)
OLD = datetime(2022, 6, 1, 10, tzinfo=UTC)
NEW = datetime(2025, 6, 1, 10, tzinfo=UTC)


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _fill(url: str) -> dict[str, set[str]]:
    """Old and recent incidents with their acks and follow-ups, and acks and follow-ups of
    incidents the store never held (old and recent). Returns the ids that must survive."""
    old = [fact("p", OLD + timedelta(days=i)) for i in range(5)]
    new = [fact("p", NEW + timedelta(days=i)) for i in range(3)]
    # An old incident taken in charge only after the cut-off: its late ack goes with it.
    late = ack(old[0], "CLOSED", timedelta(days=400))
    acks = [ack(r, "ROUTED", timedelta(seconds=1)) for r in old + new] + [late]
    orphan_old = ack(fact("p", OLD), "EXPIRED", timedelta(0))
    orphan_new = ack(fact("p", NEW), "EXPIRED", timedelta(0))
    follow_ups = [FollowUpRow(f"fu-{r.event_id}", r.event_id, "UPDATE", r.sent_at)
                  for r in old[:2] + new[:1]]
    follow_ups += [FollowUpRow("fu-orphan-old", "gone", "CANCEL", OLD),
                   FollowUpRow("fu-orphan-new", "unknown", "CANCEL", NEW)]
    write(url, [*old, *new, *acks, orphan_old, orphan_new, *follow_ups])
    return {
        "events": {r.event_id for r in new},
        "acks": {a.ack_id for a in acks if a.event_id in {r.event_id for r in new}}
                | {orphan_new.ack_id},
        "follow_ups": {f"fu-{new[0].event_id}", "fu-orphan-new"},
    }


def _ids(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as conn:
        return {
            "events": {r[0] for r in conn.execute("SELECT event_id FROM routed_events")},
            "acks": {r[0] for r in conn.execute("SELECT ack_id FROM event_acks")},
            "follow_ups": {r[0] for r in conn.execute("SELECT event_id FROM follow_ups")},
        }


def test_purge_deletes_old_facts_with_their_acks_and_follow_ups(postgres: str) -> None:
    with scratch_database(postgres) as url:
        without_notices(url)
        kept = _fill(url)
        before = _ids(url)

        dry = purge_url(url, BEFORE, dry_run=True)
        assert (dry.routed_events, dry.event_acks, dry.follow_ups) == (5, 7, 3)
        assert dry.prevention_notices is None  # no notices table
        assert _ids(url) == before  # a dry run deletes nothing

        done = purge_url(url, BEFORE)
        assert (done.routed_events, done.event_acks, done.follow_ups) == (5, 7, 3)
        assert _ids(url) == kept
        assert purge_url(url, BEFORE).routed_events == 0  # idempotent


def test_purge_is_all_or_nothing(postgres: str) -> None:
    """A failure on the last delete (here a trigger refusing it) leaves every table as it
    was: the acks and follow-ups deleted first come back."""
    with scratch_database(postgres) as url:
        without_notices(url)
        _fill(url)
        before = _ids(url)
        with psycopg.connect(url) as conn:
            conn.execute("""
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$""")
            conn.execute("CREATE TRIGGER refuse BEFORE DELETE ON routed_events "
                         "FOR EACH ROW EXECUTE FUNCTION refuse()")
        with pytest.raises(psycopg.errors.RaiseException):
            purge_url(url, BEFORE)
        assert _ids(url) == before


def test_purge_covers_hotspot_notices_when_the_store_has_them(postgres: str) -> None:
    with scratch_database(postgres) as url:
        without_notices(url)
        with psycopg.connect(url) as conn:
            conn.execute("""CREATE TABLE prevention_notices (
                notice_id text PRIMARY KEY, issued_at timestamptz NOT NULL)""")
            conn.execute("INSERT INTO prevention_notices VALUES ('old', %s), ('new', %s)",
                         (OLD, NEW))
        assert purge_url(url, BEFORE).prevention_notices == 1
        assert _count(url, "prevention_notices") == 1


def test_vigie_db_purge_command(postgres: str, tmp_path: Path) -> None:
    """The command's default is the retention setting; ``--before`` overrides it."""
    assert cutoff(date(2026, 12, 31), 1096) == date(2023, 12, 31)
    with scratch_database(postgres) as url:
        _fill(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
        env["VIGIE_DATABASE_URL"] = url

        def purge(*args: str) -> str:
            result = subprocess.run([sys.executable, "-m", "vigie", "db", "purge", *args],
                                    env=env, cwd=tmp_path, capture_output=True, text=True,
                                    timeout=60, check=False)
            assert result.returncode == 0, result.stdout + result.stderr
            return result.stdout

        # Three years back from today: the 2022 facts go, the 2025 ones stay.
        assert "supprimés 5 incidents" in purge()
        assert _count(url, "routed_events") == 3
        assert "seraient supprimés 3 incidents" in purge("--before", date.today().isoformat(),
                                                   "--dry-run")
        assert _count(url, "routed_events") == 3

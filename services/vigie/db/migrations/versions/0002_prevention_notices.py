"""Hotspot notices: each episode's opening and closing notice, kept and then published.

The daily pass (``vigie.followup.prevention``) decides from the facts and writes its notices
here first, keyed by (episode, kind): a pass run twice for one day decides nothing twice.
``published_at`` is set once the notice is on the landlord's and the unit's topics; a notice
decided but not yet published (a crash in between) is published by the next pass, with the
same ``notice_id`` for the readers to recognise it (an outbox).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE prevention_notices (
            notice_id      text PRIMARY KEY,
            episode_id     text NOT NULL,
            kind           text NOT NULL,
            trigger        text NOT NULL,
            site_id        text NOT NULL,
            partner_id     text NOT NULL,
            unit_id        text NOT NULL,
            category_group text NOT NULL,
            window_start   timestamptz NOT NULL,
            window_end     timestamptz NOT NULL,
            observed       integer NOT NULL,
            expected       double precision NOT NULL,
            issued_at      timestamptz NOT NULL,
            payload        bytea NOT NULL,
            published_at   timestamptz,
            UNIQUE (episode_id, kind)
        )""")
    op.execute("CREATE INDEX prevention_notices_site ON prevention_notices "
               "(site_id, category_group)")
    op.execute("""
        CREATE VIEW open_episodes AS
        SELECT o.* FROM prevention_notices o
        WHERE o.kind = 'OPEN' AND NOT EXISTS (
            SELECT 1 FROM prevention_notices c
            WHERE c.episode_id = o.episode_id AND c.kind = 'CLOSE')""")
    op.execute("""
        CREATE TABLE prevention_passes (
            day                date PRIMARY KEY,
            thresholds_version text NOT NULL,
            ran_at             timestamptz NOT NULL
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE prevention_passes")
    op.execute("DROP VIEW open_episodes")
    op.execute("DROP TABLE prevention_notices")

"""The instants of an incident's course kept on its row, for reports at national scale.

``event_facts`` computed received / first status / taken in charge / closed / escalated /
transferred per event from ``event_acks`` at every read: at a million facts a year the
committee's quarter took 15 s, most of it in those lookups (docs/performance.md). The sink
now keeps them as columns of ``routed_events``, refreshed from ``event_acks`` in the same
transaction as the rows that change them (``vigie.followup.store.REFRESH_INSTANTS``), so
the order in which a copy and its acknowledgements arrive still does not matter. The view keeps its
columns, so its readers (report, Grafana) change nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

# The rule has one home, the store that applies it at every write; applied here once to the
# rows that were there before.
from vigie.followup.store import REFRESH_INSTANTS

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP VIEW event_facts")
    op.execute("""
        ALTER TABLE routed_events
            ADD COLUMN received_at        timestamptz,
            ADD COLUMN first_status_at    timestamptz,
            ADD COLUMN taken_in_charge_at timestamptz,
            ADD COLUMN closed_at          timestamptz,
            ADD COLUMN escalated          boolean NOT NULL DEFAULT false,
            ADD COLUMN transferred        boolean NOT NULL DEFAULT false""")
    op.execute(REFRESH_INSTANTS.format(which="true"))
    op.execute("CREATE INDEX routed_events_occurred_at ON routed_events (occurred_at)")
    op.execute("""
        CREATE VIEW event_facts AS
        SELECT e.event_id, e.partner_id, e.site_id, e.insee_code, e.qpv_name, e.zsp,
               e.category, e.lane, e.urgency, e.severity, e.event_status, e.force, e.units,
               e.method, e.rule, e.outcome, e.occurred_at, e.sent_at, e.routed_at,
               e.received_at, e.first_status_at, e.taken_in_charge_at, e.closed_at,
               e.escalated, e.transferred, c.cancelled_at
        FROM routed_events e
        LEFT JOIN LATERAL (
            SELECT min(sent_at) AS cancelled_at FROM follow_ups f
            WHERE f.root_id = e.event_id AND f.kind = 'CANCEL') c ON true""")


def downgrade() -> None:
    op.execute("DROP VIEW event_facts")
    op.execute("DROP INDEX routed_events_occurred_at")
    for column in ("received_at", "first_status_at", "taken_in_charge_at", "closed_at",
                   "escalated", "transferred"):
        op.execute(f"ALTER TABLE routed_events DROP COLUMN {column}")
    op.execute("""
        CREATE VIEW event_facts AS
        SELECT e.*, r.received_at, s.first_status_at, s.taken_in_charge_at, s.closed_at,
               s.escalated, s.transferred, c.cancelled_at
        FROM routed_events e
        LEFT JOIN LATERAL (
            SELECT min(issued_at) AS received_at FROM event_acks a
            WHERE a.event_id = e.event_id AND a.status = 'ROUTED') r ON true
        LEFT JOIN LATERAL (
            SELECT min(issued_at) FILTER (WHERE status IN ('TAKEN_IN_CHARGE', 'PATROL_DISPATCHED',
                                         'CLOSED', 'TRANSFER_REQUESTED')) AS first_status_at,
                   min(issued_at) FILTER (WHERE status IN ('TAKEN_IN_CHARGE', 'PATROL_DISPATCHED'))
                       AS taken_in_charge_at,
                   max(issued_at) FILTER (WHERE status = 'CLOSED') AS closed_at,
                   coalesce(bool_or(status = 'ESCALATED'), false) AS escalated,
                   coalesce(bool_or(status = 'TRANSFERRED'), false) AS transferred
            FROM event_acks a WHERE a.event_id = e.event_id) s ON true
        LEFT JOIN LATERAL (
            SELECT min(sent_at) AS cancelled_at FROM follow_ups f
            WHERE f.root_id = e.event_id AND f.kind = 'CANCEL') c ON true""")

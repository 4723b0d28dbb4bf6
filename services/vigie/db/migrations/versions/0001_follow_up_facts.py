"""Follow-up facts: routed events, their acknowledgements, follow-ups, the sink's offsets.

Facts only (docs/reliability.md, data protection): ids, places, categories, force and unit,
how and by which rule an event was routed, and timestamps. Never the description, the
address text a partner typed, nor the reporter's role.

Three append-or-keep tables, each keyed so that writing a record twice changes nothing (the
sink may see a record again after a crash; the offsets in ``sink_offsets``, written in the
same transaction, make that rare, the keys make it harmless), and a view that the report,
the hotspot pass and Grafana read.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE routed_events (
            event_id     text PRIMARY KEY,
            partner_id   text NOT NULL,
            site_id      text,
            insee_code   text,
            qpv_name     text,
            zsp          boolean NOT NULL DEFAULT false,
            category     text NOT NULL,
            lane         text NOT NULL,
            urgency      text NOT NULL,
            severity     text NOT NULL,
            event_status text NOT NULL,
            force        text,
            units        text[] NOT NULL,
            method       text NOT NULL,
            rule         text,
            outcome      text NOT NULL,
            occurred_at  timestamptz NOT NULL,
            sent_at      timestamptz NOT NULL,
            routed_at    timestamptz NOT NULL
        )""")
    op.execute("CREATE INDEX routed_events_routed_at ON routed_events (routed_at)")
    op.execute("CREATE INDEX routed_events_site ON routed_events (site_id, category, occurred_at)")
    op.execute("""
        CREATE TABLE event_acks (
            ack_id     text PRIMARY KEY,
            event_id   text NOT NULL,
            partner_id text NOT NULL,
            status     text NOT NULL,
            units      text[] NOT NULL,
            issued_at  timestamptz NOT NULL
        )""")
    op.execute("CREATE INDEX event_acks_event ON event_acks (event_id, status)")
    op.execute("""
        CREATE TABLE follow_ups (
            event_id    text PRIMARY KEY,
            root_id     text NOT NULL,
            kind        text NOT NULL,
            sent_at     timestamptz NOT NULL
        )""")
    op.execute("CREATE INDEX follow_ups_root ON follow_ups (root_id)")
    op.execute("""
        CREATE TABLE sink_offsets (
            consumer    text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            next_offset bigint NOT NULL,
            PRIMARY KEY (consumer, topic, partition)
        )""")
    op.execute("""
        CREATE VIEW event_facts AS
        SELECT e.*,
               r.received_at,
               s.first_status_at,
               s.taken_in_charge_at,
               s.closed_at,
               s.escalated,
               s.transferred,
               c.cancelled_at
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


def downgrade() -> None:
    op.execute("DROP VIEW event_facts")
    for table in ("sink_offsets", "follow_ups", "event_acks", "routed_events"):
        op.execute(f"DROP TABLE {table}")

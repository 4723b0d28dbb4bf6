"""The faust application: one place that builds it from settings."""

from __future__ import annotations

import faust

from vigie.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> faust.App:
    settings = settings or get_settings()
    return faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap_servers.split(",")],
        # Tables live in memory and are rebuilt from their compacted changelog topics on start.
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        processing_guarantee=settings.processing_guarantee,
        web_enabled=False,
        producer_acks=-1,
        producer_max_request_size=settings.max_message_bytes * 4,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=500,
        broker_commit_interval=0.5,
        stream_buffer_maxsize=2048,
        table_cleanup_interval=30.0,
        # A new worker takes partitions quickly; a crashed one is noticed within 10 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
    )

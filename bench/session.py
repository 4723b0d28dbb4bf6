"""The benchmark session: one broker of its own, its topics, and the backlog every
throughput run reads, published once so that each run measures processing, not publishing.

Two segments of the partner topics: A, a scripted day (the throughput runs, each with a fresh
consumer group pointed at its start), then B, incidents only (the backlog that urgent alerts
must overtake in the alerts run).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import NewTopic
from rich.console import Console

from bench import ROOT
from bench.feeds import avg_size
from bench.inproc import PASSTHROUGH_TOPIC
from bench.kafka_io import Offsets, end_offsets, publish_bulk
from vigie.contracts import topics
from vigie.kafka import clients
from vigie.kafka.admin import ensure_topics
from vigie.kafka.publish import publish_reference
from vigie.reference.sites import load_sample_sites
from vigie.settings import Settings
from vigie.simulation.feed import scripted_day

# Unattended (make bench > log), rich would cut the tables to 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=160)
RESULTS = ROOT / "bench" / "results"
PARTNERS = ["opac-oise", "oise-habitat", "clesence", "sa-hlm-oise"]


@dataclass
class Bench:
    settings: Settings
    workdir: Path
    args: argparse.Namespace
    unit_ids: list[str]
    segment_a: Offsets = field(default_factory=dict)  # throughput backlog (all partner topics)
    segment_b: Offsets = field(default_factory=dict)  # alert-scenario backlog (incidents)
    events: int = 0
    backlog_b: int = 0
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap_servers

    def input_topics(self) -> list[str]:
        return [t for p in PARTNERS for t in (topics.partner_incidents(p),
                                              topics.partner_alerts(p))]

    def ack_topics(self) -> list[str]:
        return [topics.partner_acks(p) for p in PARTNERS]

    def unit_topics(self, *, alerts_only: bool = False) -> list[str]:
        names = [topics.unit_alerts(u) for u in self.unit_ids]
        if not alerts_only:
            names += [topics.unit_incidents(u) for u in self.unit_ids]
        return names

    def worker_settings(self, app_id: str) -> Settings:
        state = self.workdir / app_id
        state.mkdir(parents=True, exist_ok=True)
        return self.settings.model_copy(update={"app_id": app_id, "state_dir": state})

    async def setup(self) -> None:
        await ensure_topics(self.settings, self.unit_ids)
        admin = clients.admin(self.settings)
        await admin.start()
        try:
            if PASSTHROUGH_TOPIC not in await admin.list_topics():
                await admin.create_topics([NewTopic(PASSTHROUGH_TOPIC, 4, 1)])
        finally:
            await admin.close()
        await publish_reference(self.settings, sites=load_sample_sites())

        t0 = time.perf_counter()
        feed = list(scripted_day(load_sample_sites(), self.args.events, seed=2018))
        incidents = [m for m in feed if not m.urgent]
        while len(incidents) < self.args.alert_backlog:
            incidents += incidents
        backlog_b = incidents[: self.args.alert_backlog]
        console.print(f"generated {len(feed):,} feed messages in "
                      f"{time.perf_counter() - t0:.1f}s (avg {avg_size(feed):.0f} bytes)")
        self.segment_a = await end_offsets(self.settings, self.input_topics())
        t0 = time.perf_counter()
        await publish_bulk(self.settings, feed)
        self.segment_b = await end_offsets(self.settings, self.input_topics())
        await publish_bulk(self.settings, backlog_b)
        console.print(f"published {len(feed) + len(backlog_b):,} records in "
                      f"{time.perf_counter() - t0:.1f}s")
        self.events, self.backlog_b = len(feed), len(backlog_b)
        self.results["events"] = self.events
        self.results["avg_message_bytes"] = round(avg_size(feed))
        self.results["urgent_share_in_backlog"] = round(
            sum(m.urgent for m in feed) / len(feed), 3)

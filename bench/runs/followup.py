"""The follow-up store: the sink's rate against a plain reader of the same records, and a
year of national-scale facts (the quarter's report, the daily hotspot pass).

``sink``: ``--followup-events`` incidents' routed copies and acknowledgements are written to
the bench broker, then read by a plain ``read_committed`` consumer (the baseline) and by the
real sink (``vigie.followup.sink``) into a real PostgreSQL; both as records per second.

``national``: ``--national-events`` facts over ``--national-sites`` residences spread over a
year, written with COPY; then the quarter's report (queries, tables, charts, HTML) and one
daily hotspot pass over every residence, each timed. The goals (< 10 s, < 5 s) are reported,
never asserted.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.ports import listen_port
from bench.session import Bench, console
from vigie.contracts import topics
from vigie.contracts.codec import encode
from vigie.contracts.enums import AckStatus, Category
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.db.local import LocalPostgres
from vigie.db.migrate import upgrade
from vigie.followup.prevention import decide_day
from vigie.followup.report import build_charts, build_tables, render_html
from vigie.followup.report_queries import Period, load
from vigie.followup.sink import FollowUpSink
from vigie.followup.store import REFRESH_INSTANTS, FollowUpStore
from vigie.kafka.follow import assigned
from vigie.kafka.publish import publish_records
from vigie.pipeline.outputs import deterministic_id
from vigie.reference.prevention import default_thresholds
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.policy import decide
from vigie.settings import Settings
from vigie.simulation.feed import make_event

CATEGORIES = [c.value for c in Category if c is not Category.OTHER]


class Postgres:
    """A throw-away local PostgreSQL for one run (under /tmp: the server's user reaches it)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="vigie-bench-pg-"))
        self.folder.chmod(0o755)
        self.local = LocalPostgres(Settings(state_dir=self.folder / "state",
                                            db_dir=self.folder / "pg", db_port=listen_port()))

    def __enter__(self) -> str:
        self.local.start()
        upgrade(self.local.url())
        return self.local.url()

    def __exit__(self, *_exc: object) -> None:
        self.local.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


# -- sink ---------------------------------------------------------------------------------
def _sink_records(count: int, partner: str, unit: str) -> list[tuple[str, bytes, bytes]]:
    """The records a worker would have written for ``count`` incidents: the routed copy on
    the unit's topic and the ROUTED acknowledgement on the partner's (the demo's events,
    routed by the real policy)."""
    rng = random.Random(5)
    sites = [s.model_copy(update={"partner_id": partner}) for s in load_sample_sites()]
    ref = ReferenceStore.with_sample_sites().snapshot()
    now = datetime.now(UTC)
    records: list[tuple[str, bytes, bytes]] = []
    for _ in range(count):
        event = make_event(rng.choice(sites), rng, now).model_copy(update={"site_id": None})
        routing = decide(event, ref)
        copy = RoutedEvent(unit_id=unit, routed_at=now, event=event,
                           enrichment=routing.enrichment, decision=routing.decision)
        answer = Acknowledgement(ack_id=str(uuid.uuid4()), partner_id=partner,
                                 event_id=event.event_id, status=AckStatus.ROUTED,
                                 issued_at=now, units=[unit])
        key = event.event_id.encode()
        records.append((topics.unit_incidents(unit), key, encode(copy)))
        records.append((topics.partner_acks(partner), key, encode(answer)))
    return records


async def _plain_read(settings: Settings, ends: dict[Any, int], timeout: float
                      ) -> tuple[float, int, bool]:
    """A plain ``read_committed`` reader from the beginning to ``ends``: (seconds, records,
    reached). Done when its position reaches every end (a position also steps over
    transaction markers, which a record count never reaches), or at ``timeout``."""
    started = time.perf_counter()
    seen = 0
    deadline = time.monotonic() + timeout
    async with assigned(settings, {tp.topic for tp in ends}, from_beginning=True) as consumer:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            seen += sum(len(r) for r in batch.values())
            if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                return time.perf_counter() - started, seen, True
    return time.perf_counter() - started, seen, False


async def _sink_read(settings: Settings, url: str, ends: dict[Any, int], timeout: float
                     ) -> tuple[float, int, bool]:
    """The real sink over the run's topics: (seconds from its first write, rows written
    since, reached). Done when the offsets it stored with its rows reach every end; ``timeout``
    bounds the whole read (a sink that never writes or never reaches the end included)."""
    consumer = f"bench-{uuid.uuid4().hex[:6]}"
    store = await FollowUpStore.connect(url, consumer)
    watch = await FollowUpStore.connect(url, consumer)  # its own connection: no lock shared
    # Only this run's topics: the default pattern would also read every other run's outputs.
    only = "^(" + "|".join(sorted({tp.topic.replace(".", r"\.") for tp in ends})) + ")$"
    sink = FollowUpSink(settings.model_copy(update={"app_id": consumer}), store, pattern=only)
    task = asyncio.create_task(sink.run())
    deadline = time.monotonic() + timeout
    wanted = {(tp.topic, tp.partition): end for tp, end in ends.items()}
    try:
        # From its first write: the group join (the broker's initial rebalance delay, 3 s)
        # is start-up, not throughput.
        while sink.rows_written == 0 and time.monotonic() < deadline:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        started, first = time.perf_counter(), sink.rows_written
        while time.monotonic() < deadline:
            if task.done():
                task.result()
            stored = await watch.offsets()
            if all(stored.get(key, 0) >= end for key, end in wanted.items()):
                return time.perf_counter() - started, sink.rows_written - first, True
            await asyncio.sleep(0.1)
        return time.perf_counter() - started, sink.rows_written - first, False
    finally:
        sink.stop()
        await asyncio.wait_for(task, 30)
        await watch.close()
        await store.close()


async def sink(bench: Bench) -> dict[str, Any]:
    """Fresh topics of their own (a partner and a unit id made up for the run): nothing but
    this run's records, published without a transaction, so that both readers have a known
    end to reach; each read is bounded by ``--timeout`` (``complete: false`` then)."""
    events = bench.args.followup_events
    tag = uuid.uuid4().hex[:6]
    partner, unit = f"bench-fu-{tag}", f"bench-fu-{tag}"
    settings = bench.settings
    names = [topics.unit_incidents(unit), topics.partner_acks(partner)]
    from vigie.kafka.admin import ensure_topics

    await ensure_topics(settings.model_copy(update={"partners": [partner]}), [unit])
    await publish_records(settings, _sink_records(events, partner, unit))
    ends = await _ends(settings, names)
    total = sum(ends.values())
    plain_s, plain_seen, plain_done = await _plain_read(settings, ends, bench.args.timeout)
    with Postgres() as url:
        sink_s, rows, sink_done = await _sink_read(settings, url, ends, bench.args.timeout)
    plain_rps = plain_seen / plain_s if plain_s > 0 else 0.0
    sink_rps = rows / sink_s if sink_s > 0 else 0.0
    return {"records": total, "complete": plain_done and sink_done,
            "plain_reader_rps": round(plain_rps),
            "sink_rows_per_s": round(sink_rps),
            "sink_vs_plain": round(sink_rps / plain_rps, 2) if plain_rps else None}


async def _ends(settings: Settings, names: list[str]) -> dict[Any, int]:
    async with assigned(settings, names, from_beginning=True, allow_missing=True) as consumer:
        return dict(await consumer.end_offsets(list(consumer.assignment())))


# -- national scale -----------------------------------------------------------------------
def _national_facts(conn: psycopg.Connection[Any], events: int, sites: int, year_end: date,
                    rng: random.Random) -> None:
    insee = sorted(c.insee for c in ReferenceStore.with_defaults().snapshot().communes)
    site_insee = [rng.choice(insee) for _ in range(sites)]
    start = datetime.combine(year_end - timedelta(days=365), datetime.min.time(), UTC)
    columns = ("event_id, partner_id, site_id, insee_code, qpv_name, zsp, category, lane, "
               "urgency, severity, event_status, force, units, method, rule, outcome, "
               "occurred_at, sent_at, routed_at")
    with conn.cursor() as cur:
        with cur.copy(f"COPY routed_events ({columns}) FROM STDIN") as copy:
            acks = []
            for n in range(events):
                site = rng.randrange(sites)
                at = start + timedelta(seconds=rng.randrange(365 * 86400))
                event_id = deterministic_id("national", str(n))
                unit = f"unit-{site % 500}"
                copy.write_row((event_id, f"partner-{site % 40}", f"site-{site}",
                                site_insee[site], None, False, rng.choice(CATEGORIES),
                                "INCIDENT", "EXPECTED", "MINOR", "ACTUAL", "PN", [unit], "SITE",
                                None, "ROUTED", at, at, at))
                acks.append((event_id, f"partner-{site % 40}", unit, at))
        with cur.copy("COPY event_acks (ack_id, event_id, partner_id, status, units, issued_at) "
                      "FROM STDIN") as copy:
            for event_id, partner, unit, at in acks:
                copy.write_row((event_id + "-r", event_id, partner, "ROUTED", [unit], at))
                copy.write_row((event_id + "-t", event_id, partner, "TAKEN_IN_CHARGE", [unit],
                                at + timedelta(minutes=rng.randint(2, 600))))
        # COPY bypasses the store: set the instants as the sink would have.
        cur.execute(REFRESH_INSTANTS.format(which="true"))
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()


async def national(bench: Bench) -> dict[str, Any]:
    events, sites = bench.args.national_events, bench.args.national_sites
    year_end = date(2026, 12, 31)
    quarter = Period(date(2026, 10, 1), year_end)
    with Postgres() as url:
        t0 = time.perf_counter()
        with psycopg.connect(url) as conn:
            _national_facts(conn, events, sites, year_end, random.Random(2026))
        loaded = time.perf_counter() - t0
        console.print(f"  national: {events:,} facts over {sites:,} residences in {loaded:.0f}s")
        t0 = time.perf_counter()
        data = load(url, quarter)
        tables = build_tables(data)
        html = render_html(data, tables, build_charts(data, tables), datetime.now(UTC))
        report_s = time.perf_counter() - t0
        ref = ReferenceStore.with_defaults().snapshot()
        async with await psycopg.AsyncConnection.connect(url) as aconn:
            t0 = time.perf_counter()
            notices = await decide_day(aconn, date(2026, 12, 15), default_thresholds(), ref)
            pass_s = time.perf_counter() - t0
    return {
        "events": events, "residences": sites, "load_s": round(loaded, 1),
        "quarter_report_s": round(report_s, 2), "report_html_bytes": len(html),
        "hotspot_pass_s": round(pass_s, 2), "notices": len(notices),
        "goals": {"quarter_report_lt_10s": report_s < 10, "hotspot_pass_lt_5s": pass_s < 5},
    }


"""The committee's report, end to end: real broker, worker, sink, PostgreSQL and Chromium.

300 incidents at this test's residences go through a worker; units take some in charge;
untaken urgent alerts escalate; the sink stores it all. The previous period, which Kafka
no longer holds in real life, is written straight into the store. ``vigie report`` then
writes the page, which Debian's Chromium renders headless (driven over the DevTools protocol
by playwright, never a browser of its own): no console error, nothing loaded from outside
the file, a screenshot kept, and the page's totals equal to an independent count of the
acknowledgements on the partners' Kafka topics.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from pydantic import SecretStr

from tests.integration.debian_tools import debian_command
from tests.integration.kafka_tools import consume, produce, run
from tests.integration.pg_tools import fact, scratch_database, without_notices, write
from vigie.clients.force import status_record
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category, ForceStatus, Lane
from vigie.contracts.models import Acknowledgement, SiteRecord
from vigie.followup.report import french_number
from vigie.followup.report_queries import TIMEZONE, Filters, Period, load
from vigie.kafka.admin import ensure_topics
from vigie.kafka.follow import assigned
from vigie.kafka.publish import publish_reference
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.routing.policy import lane_for
from vigie.settings import Settings
from vigie.simulation.feed import make_event, to_message
from vigie.workers.launcher import FollowUpProcess, WorkerProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ARTEFACT = ROOT / ".vigie" / "artefacts" / "report.png"
EVENTS = 300
PREVIOUS = 120
TAKEN = 60
ALERT_DELAY = 5.0  # seconds before an untaken urgent alert escalates (300 s in production)
#: Debian's chromium on a machine with no network but the registries (docs: machine notes).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    found = debian_command("chromium", "chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is missing (pip install -e '.[dev]')")
    return found


def _sites_for(partners: list[str]) -> list[SiteRecord]:
    """The sample residences, handed to this test's partners under ids of their own."""
    return [site.model_copy(update={"partner_id": partners[i % len(partners)],
                                    "site_id": f"{partners[i % len(partners)]}-{i:04d}"})
            for i, site in enumerate(load_sample_sites())]


def _acks(records: list[Any], ids: set[str]) -> list[Acknowledgement]:
    found = [decode(r.value, Acknowledgement) for r in records]
    return [a for a in found if a.event_id in ids]


def _event_ids(acks: list[Acknowledgement], status: AckStatus) -> dict[str, Acknowledgement]:
    return {a.event_id: a for a in acks if a.status is status and a.event_id}


async def _read_to_end(settings: Settings, names: list[str]) -> list[Any]:
    """Every committed record of ``names``, up to their end now."""
    found: list[Any] = []
    async with assigned(settings, names, from_beginning=True, allow_missing=True) as consumer:
        ends = await consumer.end_offsets(list(consumer.assignment()))
        pending = {tp for tp, end in ends.items() if end > await consumer.position(tp)}
        while pending:
            for records in (await consumer.getmany(*pending, timeout_ms=500)).values():
                found.extend(records)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    return found


def _wait_for(what: str, check: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_report_page_renders_and_agrees_with_the_topics(
        kafka_settings: Settings, partners: list[str], postgres: str, tmp_path: Path) -> None:
    chromium = _chromium()
    settings = kafka_settings.model_copy(update={
        "partners": partners, "database_url": SecretStr(postgres),
        "alert_takeover_delay_seconds": ALERT_DELAY})
    sites = _sites_for(partners)
    run(ensure_topics(settings, ReferenceStore.with_defaults().snapshot().units))
    run(publish_reference(settings, sites=sites))
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    sink = FollowUpProcess(settings, tmp_path / "sink.log").start()
    try:
        today = datetime.now(ZoneInfo(TIMEZONE)).date()
        period = Period(today - timedelta(days=6), today)

        # The previous period, straight into the store (Kafka keeps 7 to 30 days only).
        rng = random.Random(14)
        start, _ = period.previous().bounds()
        previous = [fact(partners[i % 2], start + timedelta(hours=rng.uniform(1, 160)),
                         site=rng.choice(sites).site_id if i % 2 == 0 else sites[1].site_id,
                         category=rng.choice(["DAMAGE", "NOISE", "GRAFFITI"]))
                    for i in range(PREVIOUS)]
        write(postgres, previous)

        # This period through the real path: 300 incidents over the last five days, one in
        # fifteen an urgent alert.
        now = datetime.now(UTC)
        events = [make_event(sites[i % len(sites)], rng,
                             now - timedelta(seconds=rng.uniform(60, 5 * 86400)),
                             category=Category.STAFF_AGGRESSION if i % 15 == 0 else None)
                  for i in range(EVENTS)]
        ids = {e.event_id for e in events}
        run(produce(settings, [(m.topic, m.key, m.value) for m in map(to_message, events)]))
        ack_topics = [topics.partner_acks(p) for p in partners]
        records = asyncio.run(consume(settings, ack_topics, timeout=180, until=lambda found: len(
            _event_ids(_acks(found, ids), AckStatus.ROUTED)) >= EVENTS))
        routed = _event_ids(_acks(records, ids), AckStatus.ROUTED)
        assert len(routed) == EVENTS

        # Units take 60 incidents in charge; the alerts are left to escalate.
        incidents = sorted(e.event_id for e in events if lane_for(e) is Lane.INCIDENT)
        taken = incidents[:TAKEN]
        run(produce(settings, [status_record(routed[i].units[0], i, ForceStatus.TAKEN_IN_CHARGE)
                               for i in taken]))
        asyncio.run(consume(settings, ack_topics, timeout=120, until=lambda found: len(
            _event_ids(_acks(found, ids), AckStatus.TAKEN_IN_CHARGE)) >= TAKEN))
        time.sleep(ALERT_DELAY + 8)  # every untaken alert's deadline passed, and a pass ran
        worker.stop()  # nothing more is acknowledged: the topics below are final

        # The independent count: what the partners' acknowledgement topics say.
        acks = _acks(asyncio.run(_read_to_end(settings, ack_topics)), ids)
        on_topics = {status: _event_ids(acks, status) for status in AckStatus}
        per_partner = Counter(a.partner_id for a in on_topics[AckStatus.ROUTED].values())
        escalated = set(on_topics[AckStatus.ESCALATED])
        assert len(on_topics[AckStatus.ROUTED]) == EVENTS
        assert escalated, "no alert escalated: the test would check nothing about escalations"

        def stored(status: str) -> int:
            with psycopg.connect(postgres) as conn:
                row = conn.execute("SELECT count(DISTINCT event_id) FROM event_acks "
                                   "WHERE event_id = ANY(%s) AND status = %s",
                                   (sorted(ids), status)).fetchone()
            return int(row[0]) if row else 0

        _wait_for("the sink to store every acknowledgement", lambda: all(
            stored(s.value) == len(on_topics[s]) for s in
            (AckStatus.ROUTED, AckStatus.TAKEN_IN_CHARGE, AckStatus.ESCALATED)))
        sink.stop()
        assert sink.process is not None and sink.process.returncode == 0, sink.log_tail()

        # vigie report, as a committee secretary would run it.
        out = tmp_path / "bilan"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
        env["VIGIE_DATABASE_URL"] = postgres
        result = subprocess.run(
            [sys.executable, "-m", "vigie", "report", "--from", period.start.isoformat(),
             "--to", period.end.isoformat(), "--partner", partners[0], "--partner", partners[1],
             "--out", str(out)], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        page_file = out / "rapport.html"
        assert page_file.exists() and (out / "bailleurs.csv").exists()

        page = _render(chromium, page_file, tmp_path)
        totals = page["totals"]
        assert totals["events"] == EVENTS == sum(per_partner.values())
        assert totals["previous_events"] == PREVIOUS
        assert totals["taken_in_charge"] == len(on_topics[AckStatus.TAKEN_IN_CHARGE]) == TAKEN
        assert totals["escalated"] == len(escalated)
        assert page["partners"] == dict(per_partner)
        assert page["texts"]["events"] == french_number(EVENTS)

        # The unit filter, against the same count: the events sent to the busiest unit.
        per_unit = Counter(u for a in on_topics[AckStatus.ROUTED].values() for u in a.units)
        unit, count = per_unit.most_common(1)[0]
        data = load(postgres, period, Filters(tuple(partners), (unit,)))
        assert data.summary["events"] == count
    finally:
        worker.stop()
        sink.stop()


def _render(chromium: str, page_file: Path, tmp_path: Path) -> dict[str, Any]:
    """Open the page in headless Chromium; fail on any console error, failed image or
    request that leaves the file; keep a screenshot; read the totals the page shows."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1100, "height": 900})
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "assert") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: problems.append(f"request: {r.url}")
                    if not r.url.startswith(("file:", "data:")) else None)
            page.goto(page_file.as_uri(), wait_until="load")
            images_ok = page.evaluate(
                "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            image_count = page.evaluate("document.images.length")
            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
            ARTEFACT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(screenshot, ARTEFACT)
            print(f"\nreport screenshot: {screenshot} (copy: {ARTEFACT})")
            totals, texts = {}, {}
            for name in ("events", "previous_events", "taken_in_charge", "escalated"):
                cell = page.locator(f'[data-total="{name}"]')
                totals[name] = int(cell.get_attribute("data-value") or -1)
                texts[name] = cell.inner_text().strip()
            partners = {}
            for row in page.locator('table[data-table="bailleurs"] tbody tr').all():
                key = row.get_attribute("data-key") or ""
                value = row.locator('td[data-col="events"]').get_attribute("data-value")
                partners[key] = int(value or -1)
        finally:
            browser.close()
    assert not problems, problems
    assert images_ok and image_count >= 3, (images_ok, image_count)
    return {"totals": totals, "texts": texts, "partners": partners}


def test_hotspot_section_reads_the_notices_only_once_the_table_exists(postgres: str) -> None:
    """Before the hotspot migration the report works and says the register is absent; with
    the table (the documented columns), it lists the period's notices of the filtered
    partners, in order."""
    period = Period(datetime(2026, 10, 1).date(), datetime(2026, 12, 31).date())
    with scratch_database(postgres) as url:
        without_notices(url)
        write(url, [fact("p-a", datetime(2026, 11, 3, 10, tzinfo=UTC), site="p-a-1")])
        before = load(url, period, Filters(("p-a",)))
        assert before.notices is None and before.summary["events"] == 1
        with psycopg.connect(url) as conn:
            conn.execute("""
                CREATE TABLE prevention_notices (
                    notice_id text PRIMARY KEY, site_id text NOT NULL, partner_id text NOT NULL,
                    unit_id text NOT NULL, category_group text NOT NULL, kind text NOT NULL,
                    window_start timestamptz NOT NULL, window_end timestamptz NOT NULL,
                    observed integer NOT NULL, expected double precision NOT NULL,
                    issued_at timestamptz NOT NULL)""")
            notices = [("n-open", "p-a", "OPEN", datetime(2026, 11, 4, 6, tzinfo=UTC)),
                       ("n-close", "p-a", "CLOSE", datetime(2026, 12, 9, 6, tzinfo=UTC)),
                       ("n-other", "p-b", "OPEN", datetime(2026, 11, 4, 6, tzinfo=UTC)),
                       ("n-late", "p-a", "OPEN", datetime(2027, 1, 4, 6, tzinfo=UTC))]
            for notice_id, partner, kind, issued in notices:
                conn.execute(
                    "INSERT INTO prevention_notices VALUES (%s, 'p-a-1', %s, 'pn-csp-creil', "
                    "'occupation', %s, %s, %s, 9, 2.5, %s)",
                    (notice_id, partner, kind, issued - timedelta(days=28), issued, issued))
        after = load(url, period, Filters(("p-a",)))
        assert after.notices is not None
        assert [(n["notice_id"], n["kind"]) for n in after.notices] == [
            ("n-open", "OPEN"), ("n-close", "CLOSE")]

"""Hotspot notices end to end: a scripted history in the real PostgreSQL, the real
``vigie hotspots`` command, the notices read back from the real broker.

One residence spikes in week 7 of an 8-week history (then goes back to its usual rate); three
control residences report at their steady rate. The landlord and the competent unit must each
get exactly one opening notice for the spiking residence, then exactly one closing notice,
and nothing about the controls; running the same passes again publishes nothing new.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import SecretStr

from tests.integration.kafka_tools import consume
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import NoticeKind
from vigie.contracts.models import PreventionNotice, SiteRecord
from vigie.followup.facts import RoutedEventRow
from vigie.followup.prevention import competent_unit
from vigie.followup.store import Batch, FollowUpStore
from vigie.kafka.admin import ensure_topics
from vigie.kafka.publish import publish_reference
from vigie.reference.sites import load_sample_sites
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings

pytestmark = pytest.mark.integration

START = date(2026, 5, 4)  # a Monday, months before anything else in the store
WEEKS = 14  # 8 weeks of history with the spike in week 7, then 6 calm weeks to fall back


def _row(site: SiteRecord, on: date, category: str, rng: random.Random) -> RoutedEventRow:
    at = datetime.combine(on, time(hour=rng.randint(8, 20)), UTC)
    return RoutedEventRow(
        event_id=str(uuid.uuid4()), partner_id=site.partner_id, site_id=site.site_id,
        insee_code=site.insee_code, qpv_name=site.qpv_name, zsp=site.zsp, category=category,
        lane="INCIDENT", urgency="EXPECTED", severity="MINOR", event_status="ACTUAL",
        force="PN", units=("pn-csp-creil",), method="SITE", rule=None, outcome="ROUTED",
        occurred_at=at, sent_at=at + timedelta(minutes=5), routed_at=at + timedelta(minutes=5))


def _history(spiking: SiteRecord, controls: list[SiteRecord]) -> list[RoutedEventRow]:
    rng = random.Random(14)
    rows = []
    for week in range(WEEKS):
        for site in [spiking, *controls]:
            for day in rng.sample(range(7), 1):  # one report a week, damage or graffiti
                rows.append(_row(site, START + timedelta(weeks=week, days=day),
                                 rng.choice(["DAMAGE", "GRAFFITI"]), rng))
    rows += [_row(spiking, START + timedelta(weeks=6, days=i % 7),
                  ("DAMAGE", "GRAFFITI", "FIRE")[i % 3], rng) for i in range(12)]  # week 7
    return rows


async def _store(url: str, rows: list[RoutedEventRow]) -> None:
    store = await FollowUpStore.connect(url, "hotspot-test")
    try:
        await store.write(Batch(routed=rows))
    finally:
        await store.close()


def _hotspots(settings: Settings, first: date, last: date) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(settings.environment())
    done = subprocess.run(
        [sys.executable, "-m", "vigie", "hotspots", "--from", str(first), "--day", str(last)],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_one_spiking_residence_one_opening_and_one_closing_notice(
        kafka_settings: Settings, partners: list[str], postgres: str) -> None:
    settings = kafka_settings.model_copy(update={
        "partners": partners, "database_url": SecretStr(postgres)})
    models = [s for s in load_sample_sites() if s.insee_code == "60175"][:4]  # Creil: PN
    sites = [m.model_copy(update={"site_id": f"{partners[0]}-{i}-{uuid.uuid4().hex[:6]}",
                                  "partner_id": partners[0]}) for i, m in enumerate(models)]
    spiking, controls = sites[0], sites[1:]
    snapshot = ReferenceStore.with_defaults().snapshot()
    unit = competent_unit(snapshot, spiking.insee_code, START)
    assert unit is not None
    asyncio.run(ensure_topics(settings, [unit]))
    asyncio.run(publish_reference(settings, sites=sites))
    asyncio.run(_store(postgres, _history(spiking, controls)))

    last = START + timedelta(weeks=WEEKS) - timedelta(days=1)
    said = _hotspots(settings, START, last)
    assert "2 avis" in said, said

    def notices(topic: str, expect: int) -> list[PreventionNotice]:
        found = asyncio.run(consume(settings, [topic], until=lambda r: len(r) >= expect,
                                    settle=2.0))
        return [decode(r.value, PreventionNotice) for r in found]

    for topic in (topics.partner_prevention(partners[0]), topics.unit_prevention(unit)):
        got = [n for n in notices(topic, 2) if n.partner_id == partners[0]]
        assert [(n.kind, n.site_id) for n in got] == [
            (NoticeKind.OPEN, spiking.site_id), (NoticeKind.CLOSE, spiking.site_id)], topic
        opened, closed = got
        assert opened.episode_id == closed.episode_id and opened.unit_id == unit
        assert START + timedelta(weeks=6) <= opened.window_end.date() <= START + timedelta(
            weeks=7), "opened during week 7"
        assert opened.residence_name == spiking.residence_name
        assert opened.address and spiking.street in opened.address
        assert opened.category_group == "DAMAGE" and opened.observed > 2 * opened.expected
    # The other partner's landlord topic hears nothing.
    assert notices(topics.partner_prevention(partners[1]), 0) == []

    # The same passes again: already decided, nothing new published.
    again = _hotspots(settings, START, last)
    assert "0 avis" in again, again
    got = notices(topics.partner_prevention(partners[0]), 2)
    assert len(got) == 2

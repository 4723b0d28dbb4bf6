"""``vigie hotspots``: the daily hotspot pass over the follow-up store, and its notices.

For one day: read every residence's reports of the window and the baseline (facts of
routed, non-cancelled, ACTUAL incidents, by the Paris calendar day they occurred), assess
each residence and category group (``vigie.followup.hotspots``), and decide the notices its
open episodes and new ones call for. Notices are written to ``prevention_notices`` first, in
one transaction with the pass (deterministic ids, unique per episode and kind: a pass run
twice decides nothing twice), then published to the landlord's and the competent unit's
prevention topics and marked published — the outbox pattern: a crash in between republishes
the same ``notice_id``, which readers recognise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from vigie.contracts import topics
from vigie.contracts.codec import encode
from vigie.contracts.enums import HotspotTrigger, NoticeKind
from vigie.contracts.models import PreventionNotice
from vigie.followup.hotspots import Assessment, Counts, Windows, explanation, judge, next_step
from vigie.kafka import clients
from vigie.pipeline.outputs import deterministic_id
from vigie.reference.prevention import PreventionThresholds
from vigie.reference.snapshot import ReferenceSnapshot
from vigie.settings import Settings

log = logging.getLogger("vigie.hotspots")

#: Calendar days are the partnership's: Oise's.
LOCAL_TIME = ZoneInfo("Europe/Paris")

#: Per residence and category group, the counts a pass needs (``hotspots.Counts``), counted
#: by PostgreSQL (a national store holds a million facts a year, too many to bring over), and
#: only where an episode could open (enough reports, or a repeat) or is open.
_COUNTS = """
WITH per_category AS (
    SELECT e.site_id, e.category, max(e.partner_id) AS partner_id,
           max(e.insee_code) AS insee_code, max(e.qpv_name) AS qpv_name, bool_or(e.zsp) AS zsp,
           count(*) FILTER (WHERE e.occurred_at >= %(window_start)s) AS observed,
           count(*) FILTER (WHERE e.occurred_at < %(window_start)s) AS in_baseline,
           count(*) FILTER (WHERE e.occurred_at >= %(repeat_start)s) AS recent
    FROM routed_events e
    WHERE e.site_id IS NOT NULL AND e.event_status = 'ACTUAL'
      AND e.occurred_at >= %(baseline_start)s AND e.occurred_at < %(window_end)s
      AND NOT EXISTS (SELECT 1 FROM follow_ups f
                      WHERE f.root_id = e.event_id AND f.kind = 'CANCEL')
    GROUP BY e.site_id, e.category)
SELECT c.site_id, g.grp, max(c.partner_id), max(c.insee_code), max(c.qpv_name),
       bool_or(c.zsp), sum(c.observed)::int, sum(c.in_baseline)::int, max(c.recent)::int,
       coalesce(array_agg(c.category ORDER BY c.category) FILTER (WHERE c.observed > 0),
                '{}')
FROM per_category c
JOIN unnest(%(categories)s::text[], %(groups)s::text[]) AS g(category, grp)
  ON g.category = c.category
GROUP BY c.site_id, g.grp
HAVING sum(c.observed) >= %(min_observed)s OR max(c.recent) >= %(repeat_count)s
    OR EXISTS (SELECT 1 FROM open_episodes o
               WHERE o.site_id = c.site_id AND o.category_group = g.grp)
"""
_HISTORY_START = "SELECT min(occurred_at) FROM routed_events"
_OPEN = """SELECT episode_id, site_id, partner_id, unit_id, category_group, trigger
           FROM open_episodes"""
_INSERT = """
INSERT INTO prevention_notices (notice_id, episode_id, kind, trigger, site_id, partner_id,
    unit_id, category_group, window_start, window_end, observed, expected, issued_at, payload)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING"""
_PASS = """
INSERT INTO prevention_passes (day, thresholds_version, ran_at) VALUES (%s, %s, %s)"""


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL_TIME).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Residence:
    """A residence as the facts know it (the site registry may know more)."""

    site_id: str
    partner_id: str
    insee_code: str | None
    qpv_name: str | None
    zsp: bool


@dataclass(frozen=True, slots=True)
class OpenEpisode:
    episode_id: str
    unit_id: str
    trigger: str


def _notice(kind: NoticeKind, episode_id: str, trigger: str, residence: Residence,
            unit_id: str, group: str, assessment: Assessment, day: date,
            thresholds: PreventionThresholds, ref: ReferenceSnapshot) -> PreventionNotice:
    site = ref.sites.get(residence.site_id)
    commune = ref.communes.by_insee(residence.insee_code) if residence.insee_code else None
    address = (f"{site.street}, {site.postcode} {site.commune_name}" if site is not None
               else None)
    return PreventionNotice(
        notice_id=deterministic_id("prevention", episode_id, kind.value),
        episode_id=episode_id, kind=kind, trigger=HotspotTrigger(trigger),
        issued_at=_midnight(day + timedelta(days=1)),
        partner_id=residence.partner_id, site_id=residence.site_id, unit_id=unit_id,
        insee_code=residence.insee_code, commune_name=commune.name if commune else None,
        residence_name=site.residence_name if site is not None else None, address=address,
        qpv_name=residence.qpv_name, zsp=residence.zsp, category_group=group,
        categories=list(assessment.categories),
        window_start=_midnight(assessment.window_start),
        window_end=_midnight(assessment.window_end), observed=assessment.observed,
        expected=round(assessment.expected, 3), baseline_days=assessment.baseline_days,
        p_value=assessment.p_value, thresholds_version=thresholds.version,
        explanation=explanation(kind, assessment, group, thresholds),
    )


def competent_unit(ref: ReferenceSnapshot, insee: str | None, day: date) -> str | None:
    """The unit the competence table names for the residence's commune that day."""
    record = ref.competence.lookup(insee, day) if insee else None
    return record.unit_id if record is not None else None


async def decide_day(conn: psycopg.AsyncConnection[Any], day: date,
                     thresholds: PreventionThresholds, ref: ReferenceSnapshot
                     ) -> list[PreventionNotice]:
    """The notices of ``day``, written (not yet published) with the pass, in one transaction.

    A day is assessed once: the episodes' state is what the passes of the days before left,
    so assessing a past day again would reopen episodes that later passes closed. Its pass
    row, written in the same transaction, makes a second call a no-op."""
    async with conn.transaction():
        cursor = await conn.execute("SELECT 1 FROM prevention_passes WHERE day = %s FOR UPDATE",
                                    (day,))
        if await cursor.fetchone() is not None:
            return []
        cursor = await conn.execute(_HISTORY_START)
        first = await cursor.fetchone()
        if first is None or first[0] is None:
            await conn.execute(_PASS, (day, thresholds.version, datetime.now(UTC)))
            return []
        windows = Windows.of(day, first[0].astimezone(LOCAL_TIME).date(), thresholds)
        groups = [(c.value, g) for g, categories in thresholds.groups.items() for c in categories]
        cursor = await conn.execute(_COUNTS, {
            "baseline_start": _midnight(windows.baseline_start),
            "window_start": _midnight(windows.window_start),
            "repeat_start": _midnight(windows.repeat_start),
            "window_end": _midnight(windows.window_end),
            "categories": [c for c, _ in groups], "groups": [g for _, g in groups],
            "min_observed": thresholds.rise.min_observed,
            "repeat_count": thresholds.repeat.count})
        counts: dict[tuple[str, str], Counts] = {}
        residences: dict[str, Residence] = {}
        for (site_id, group, partner, insee, qpv, zsp, observed, in_baseline, recent,
             categories) in await cursor.fetchall():
            residences[site_id] = Residence(site_id, partner, insee, qpv, zsp)
            counts[(site_id, group)] = Counts(observed, in_baseline, recent, tuple(categories))
        cursor = await conn.execute(_OPEN)
        opened: dict[tuple[str, str], OpenEpisode] = {}
        for episode, site_id, partner, unit, group, trigger in await cursor.fetchall():
            opened[(site_id, group)] = OpenEpisode(episode, unit, trigger)
            residences.setdefault(site_id, Residence(site_id, partner, None, None, False))
        notices: list[PreventionNotice] = []
        for key in sorted(set(counts) | set(opened)):
            site_id, group = key
            assessment = judge(counts.get(key, Counts(0, 0, 0, ())), windows, thresholds)
            episode = opened.get(key)
            step = next_step(episode is not None, assessment, thresholds)
            if step is None:
                continue
            residence = residences[site_id]
            if episode is None:
                unit = competent_unit(ref, residence.insee_code, day)
                if unit is None:  # no competent unit known: nobody to tell, say so
                    log.warning("hotspot without a competent unit", extra={"site": site_id})
                    continue
                episode = OpenEpisode(deterministic_id("episode", site_id, group, str(day)),
                                      unit, assessment.trigger.value)
            notices.append(_notice(step, episode.episode_id, episode.trigger, residence,
                                   episode.unit_id, group, assessment, day, thresholds, ref))
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT, [
                (n.notice_id, n.episode_id, n.kind.value, n.trigger.value, n.site_id,
                 n.partner_id, n.unit_id, n.category_group, n.window_start, n.window_end,
                 n.observed, n.expected, n.issued_at, encode(n)) for n in notices])
        await conn.execute(_PASS, (day, thresholds.version, datetime.now(UTC)))
    return notices


async def publish_pending(conn: psycopg.AsyncConnection[Any],
                          settings: Settings) -> int:
    """Publish every notice not yet published, to the landlord's and the unit's topic."""
    cursor = await conn.execute(
        "SELECT notice_id, partner_id, unit_id, site_id, payload FROM prevention_notices "
        "WHERE published_at IS NULL ORDER BY issued_at, notice_id")
    pending = await cursor.fetchall()
    await conn.commit()
    if not pending:
        return 0
    producer = clients.producer(settings, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for notice_id, partner, unit, site, payload in pending:
            key, value = site.encode(), bytes(payload)
            await producer.send_and_wait(topics.partner_prevention(partner), value, key=key)
            await producer.send_and_wait(topics.unit_prevention(unit), value, key=key)
            await conn.execute("UPDATE prevention_notices SET published_at = now() "
                               "WHERE notice_id = %s", (notice_id,))
            await conn.commit()
    finally:
        await producer.stop()
    return len(pending)


async def run_passes(settings: Settings, url: str, days: Iterable[date],
                     thresholds: PreventionThresholds, ref: ReferenceSnapshot
                     ) -> list[PreventionNotice]:
    """One pass per day, in order, then publish what they decided."""
    decided: list[PreventionNotice] = []
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for day in days:
            decided += await decide_day(conn, day, thresholds, ref)
        await publish_pending(conn, settings)
    return decided

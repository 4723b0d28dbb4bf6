"""The committee's figures, read from the follow-up store in SQL; rendering is in ``report``.

Why one module of queries: the report, its CSV files and the benchmark must count the same
way, and a reader checking a figure should find the one SQL statement that made it.

The period's facts (and those of the previous period of the same length, for the trend) are
copied once from the ``event_facts`` view into a temporary table, inside one REPEATABLE READ
transaction: every table of the report then sees the same snapshot while the sink keeps
writing, and the view's per-event joins run once instead of once per table.

Dates are French calendar days (Europe/Paris): ``--from 2026-10-01 --to 2026-12-31`` is
from midnight in Paris on 1 October to midnight on 1 January, whatever the DST changes.
An event belongs to the period in which it occurred (``occurred_at``), as the landlord
reported it. Rows are dictionaries keyed by column name; the keys are the CSV headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

#: The calendar the committee reads dates in.
TIMEZONE = "Europe/Paris"
#: The residences listed as most affected.
TOP_RESIDENCES = 20
#: Periods up to this many days are followed day by day, longer ones week by week.
DAILY_UP_TO = 31
#: The table a later migration adds for hotspot notices (issue 14, item 3); read only when
#: it exists, so that the report works on a store migrated before it.
NOTICES_TABLE = "prevention_notices"

Row = dict[str, Any]


@dataclass(frozen=True)
class Period:
    """Calendar days ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"la fin ({self.end}) précède le début ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def trend_step(self) -> int:
        """Days per slot of the trend: a month is read day by day, a quarter week by week."""
        return 1 if self.days <= DAILY_UP_TO else 7

    def previous(self) -> Period:
        """The period of the same number of days just before, for the trend."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self) -> tuple[datetime, datetime]:
        """[first instant, first instant after) in Paris time."""
        tz = ZoneInfo(TIMEZONE)
        return (datetime.combine(self.start, time(0), tz),
                datetime.combine(self.end + timedelta(days=1), time(0), tz))


@dataclass(frozen=True)
class Filters:
    """Empty tuples mean every partner, every unit. A unit filter keeps the events sent to
    one of the units (an event for manual triage is sent to both command centres)."""

    partners: tuple[str, ...] = ()
    units: tuple[str, ...] = ()


@dataclass
class ReportData:
    """Everything the report shows, one list of rows per table."""

    period: Period
    previous: Period
    filters: Filters
    summary: Row
    by_category: list[Row]
    by_partner: list[Row]
    by_unit: list[Row]
    by_commune: list[Row]
    by_zone: list[Row]
    trend: list[Row]
    delay_by_unit: list[Row]
    delay_by_category: list[Row]
    escalations: list[Row]
    residences: list[Row]
    #: None when the store has no ``prevention_notices`` table yet.
    notices: list[Row] | None = field(default=None)


# -- the period's facts, once ---------------------------------------------------------------
_FACTS = """
CREATE TEMP TABLE report_facts ON COMMIT DROP AS
SELECT event_id, partner_id, site_id, insee_code, qpv_name, zsp, category, lane, units,
       outcome, routed_at, taken_in_charge_at, escalated, transferred,
       cancelled_at IS NOT NULL AS cancelled,
       occurred_at >= %(start)s AS current,
       ((occurred_at AT TIME ZONE %(tz)s)::date
        - CASE WHEN occurred_at >= %(start)s THEN %(start_day)s::date
               ELSE %(previous_day)s::date END) AS day
FROM event_facts
WHERE occurred_at >= %(previous_start)s AND occurred_at < %(end)s
  AND (cardinality(%(partners)s::text[]) = 0 OR partner_id = ANY(%(partners)s::text[]))
  AND (cardinality(%(units)s::text[]) = 0 OR units && %(units)s::text[])"""

#: One row per (event, unit it was sent to), restricted to the filtered units if any.
_PER_UNIT = """
(SELECT f.*, u.unit_id FROM report_facts f CROSS JOIN LATERAL unnest(f.units) AS u(unit_id)
 WHERE cardinality(%(units)s::text[]) = 0 OR u.unit_id = ANY(%(units)s::text[])) AS pu"""

_SUMMARY = """
SELECT count(*) FILTER (WHERE current) AS events,
       count(*) FILTER (WHERE NOT current) AS previous_events,
       count(*) FILTER (WHERE current AND lane = 'ALERT') AS alerts,
       count(*) FILTER (WHERE current AND outcome = 'MANUAL_TRIAGE') AS manual_triage,
       count(*) FILTER (WHERE current AND taken_in_charge_at IS NOT NULL) AS taken_in_charge,
       count(*) FILTER (WHERE current AND escalated) AS escalated,
       count(*) FILTER (WHERE current AND transferred) AS transferred,
       count(*) FILTER (WHERE current AND cancelled) AS cancelled,
       count(*) FILTER (WHERE current AND qpv_name IS NOT NULL) AS in_qpv,
       count(*) FILTER (WHERE current AND zsp) AS in_zsp,
       count(DISTINCT site_id) FILTER (WHERE current) AS residences
FROM report_facts"""

_BY_CATEGORY = """
SELECT category, count(*) FILTER (WHERE current) AS events,
       count(*) FILTER (WHERE NOT current) AS previous_events
FROM report_facts GROUP BY category ORDER BY events DESC, category"""

_BY_PARTNER = """
SELECT partner_id, count(*) FILTER (WHERE current) AS events,
       count(*) FILTER (WHERE NOT current) AS previous_events,
       count(*) FILTER (WHERE current AND lane = 'ALERT') AS alerts
FROM report_facts GROUP BY partner_id ORDER BY events DESC, partner_id"""

_BY_UNIT = f"""
SELECT unit_id, count(*) FILTER (WHERE current) AS events,
       count(*) FILTER (WHERE NOT current) AS previous_events,
       count(*) FILTER (WHERE current AND lane = 'ALERT') AS alerts
FROM {_PER_UNIT} GROUP BY unit_id ORDER BY events DESC, unit_id"""

_BY_COMMUNE = """
SELECT coalesce(insee_code, '') AS insee_code, count(*) AS events,
       count(*) FILTER (WHERE qpv_name IS NOT NULL) AS in_qpv
FROM report_facts WHERE current GROUP BY insee_code ORDER BY events DESC, insee_code"""

_BY_ZONE = """
SELECT coalesce(qpv_name, '') AS qpv_name, zsp, count(*) AS events
FROM report_facts WHERE current GROUP BY qpv_name, zsp
ORDER BY qpv_name IS NULL, events DESC, qpv_name, zsp"""

#: Slot n (a day or a week) of the period beside slot n of the previous period.
_TREND = """
SELECT slot, coalesce(c.events, 0) AS events, coalesce(p.events, 0) AS previous_events
FROM generate_series(0, (%(days)s - 1) / %(step)s) AS slot
LEFT JOIN (SELECT day / %(step)s AS slot, count(*) AS events FROM report_facts WHERE current
           GROUP BY 1) c USING (slot)
LEFT JOIN (SELECT day / %(step)s AS slot, count(*) AS events FROM report_facts
           WHERE NOT current GROUP BY 1) p USING (slot)
ORDER BY slot"""

_DELAY = """
percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM taken_in_charge_at - routed_at))
    AS p50_seconds,
percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM taken_in_charge_at - routed_at))
    AS p90_seconds"""

_DELAY_BY_UNIT = f"""
SELECT unit_id, count(*) AS taken_in_charge, {_DELAY}
FROM {_PER_UNIT} WHERE current AND taken_in_charge_at IS NOT NULL
GROUP BY unit_id ORDER BY unit_id"""

_DELAY_BY_CATEGORY = f"""
SELECT category, count(*) AS taken_in_charge, {_DELAY}
FROM report_facts WHERE current AND taken_in_charge_at IS NOT NULL
GROUP BY category ORDER BY category"""

_ESCALATIONS = f"""
SELECT unit_id, count(*) AS alerts, count(*) FILTER (WHERE escalated) AS escalated,
       count(*) FILTER (WHERE taken_in_charge_at IS NOT NULL) AS taken_in_charge
FROM {_PER_UNIT} WHERE current AND lane = 'ALERT'
GROUP BY unit_id ORDER BY escalated DESC, alerts DESC, unit_id"""

_RESIDENCES = """
SELECT site_id, min(partner_id) AS partner_id, min(insee_code) AS insee_code,
       min(qpv_name) AS qpv_name, count(*) FILTER (WHERE current) AS events,
       count(*) FILTER (WHERE NOT current) AS previous_events,
       count(*) FILTER (WHERE current AND lane = 'ALERT') AS alerts,
       count(*) FILTER (WHERE current AND escalated) AS escalated,
       mode() WITHIN GROUP (ORDER BY category) FILTER (WHERE current) AS main_category
FROM report_facts WHERE site_id IS NOT NULL
GROUP BY site_id HAVING count(*) FILTER (WHERE current) > 0
ORDER BY events DESC, site_id LIMIT %(top)s"""

# -- hotspots opened and closed (issue 14, item 3): read only if the table exists ------------
_NOTICES_EXIST = "SELECT to_regclass(%(table)s) IS NOT NULL AS present"
_NOTICES = f"""
SELECT notice_id, kind, site_id, partner_id, unit_id, category_group, window_start,
       window_end, observed, expected, issued_at
FROM {NOTICES_TABLE}
WHERE issued_at >= %(start)s AND issued_at < %(end)s
  AND (cardinality(%(partners)s::text[]) = 0 OR partner_id = ANY(%(partners)s::text[]))
  AND (cardinality(%(units)s::text[]) = 0 OR unit_id = ANY(%(units)s::text[]))
ORDER BY issued_at, notice_id"""


def _params(period: Period, filters: Filters) -> dict[str, Any]:
    start, end = period.bounds()
    previous = period.previous()
    return {
        "start": start, "end": end, "previous_start": previous.bounds()[0],
        "start_day": period.start, "previous_day": previous.start, "days": period.days,
        "step": period.trend_step,
        "tz": TIMEZONE, "partners": list(filters.partners), "units": list(filters.units),
        "top": TOP_RESIDENCES,
    }


def hotspot_notices(cursor: psycopg.Cursor[Row], params: dict[str, Any]) -> list[Row] | None:
    """The hotspot notices issued in the period (openings and closings), or None when the
    store has no notices table yet: the hook for the hotspot pass of issue 14."""
    cursor.execute(_NOTICES_EXIST, {"table": NOTICES_TABLE})
    found = cursor.fetchone()
    if not found or not found["present"]:
        return None
    cursor.execute(_NOTICES, params)
    return list(cursor.fetchall())


def _all(cursor: psycopg.Cursor[Row], sql: str, params: dict[str, Any]) -> list[Row]:
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def gather(conn: psycopg.Connection[Any], period: Period,
           filters: Filters = Filters()) -> ReportData:
    """Every table of the report, from one snapshot of the store."""
    params = _params(period, filters)
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(_FACTS, params)
        cursor.execute("ANALYZE report_facts")
        summary = _all(cursor, _SUMMARY, params)[0]
        return ReportData(
            period=period, previous=period.previous(), filters=filters, summary=summary,
            by_category=_all(cursor, _BY_CATEGORY, params),
            by_partner=_all(cursor, _BY_PARTNER, params),
            by_unit=_all(cursor, _BY_UNIT, params),
            by_commune=_all(cursor, _BY_COMMUNE, params),
            by_zone=_all(cursor, _BY_ZONE, params),
            trend=_all(cursor, _TREND, params),
            delay_by_unit=_all(cursor, _DELAY_BY_UNIT, params),
            delay_by_category=_all(cursor, _DELAY_BY_CATEGORY, params),
            escalations=_all(cursor, _ESCALATIONS, params),
            residences=_all(cursor, _RESIDENCES, params),
            notices=hotspot_notices(cursor, params),
        )


def load(url: str, period: Period, filters: Filters = Filters()) -> ReportData:
    with psycopg.connect(url) as conn:
        return gather(conn, period, filters)


def parse_ids(values: Sequence[str] | None) -> tuple[str, ...]:
    """Repeated or comma-separated ids (``--partner a --partner b`` or ``--partner a,b``)."""
    found: list[str] = []
    for value in values or ():
        found.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(dict.fromkeys(found))

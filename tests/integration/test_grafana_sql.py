"""Every SQL query of the Grafana dashboards, run against the real PostgreSQL.

No Grafana runs here (none is packaged where these tests run), so the test does what Grafana
would: it expands the macros and variables the queries use (``$__timeFilter`` to a literal
time range, ``$partner`` and ``$site`` to "All" and then to one value) and runs each query
as a login that may only SELECT from the ``event_facts`` view, the privilege the data
source needs. Each query must run, return rows on a store holding a few months of facts,
and have the shape its panel format expects; a renamed column or view would otherwise
leave a panel silently empty.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.integration.pg_tools import ack, fact, scratch_database, with_database, write

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
SQL_SOURCE = "grafana-postgresql-datasource"
PARTNERS = ("opac-oise", "clesence")
NOW = datetime.now(UTC).replace(microsecond=0)
FROM, TO = NOW - timedelta(days=90), NOW
LEFTOVER = re.compile(r"\$\w+|\$\{")


def sql_targets() -> list[tuple[str, str, str]]:
    """(where, format, SQL) of every PostgreSQL target and query variable of every
    dashboard."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("datasource", {}).get("type") == SQL_SOURCE:
                found.append((f"{path.stem}: variable {variable['name']}", "table",
                              variable["query"]))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == SQL_SOURCE:
                    found.append((f"{path.stem}: {panel['title']}", target["format"],
                                  target["rawSql"]))
    return found


def expand(sql: str, variables: dict[str, str]) -> str:
    """Grafana's PostgreSQL macros and the dashboard variables, as Grafana would expand
    them for a 90-day view (``$__timeFilter(c)`` is ``c BETWEEN '<from>' AND '<to>'``)."""
    start, end = (t.isoformat().replace("+00:00", "Z") for t in (FROM, TO))
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN '{start}' AND '{end}'", sql)
    sql = sql.replace("$__timeFrom()", f"'{start}'").replace("$__timeTo()", f"'{end}'")
    for name, value in variables.items():
        sql = sql.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert not LEFTOVER.search(sql), f"unexpanded macro or variable in {sql}"
    return sql


@pytest.fixture(scope="module")
def reader(postgres: str) -> Iterator[str]:
    """A scratch store with four months of facts, and the URL of a login that may only read
    ``event_facts`` (what the Grafana data source is given)."""
    role = f"grafana_{uuid.uuid4().hex[:8]}"
    admin = with_database(postgres, "postgres")
    with scratch_database(postgres) as url:
        _fill(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'grafana-test'")
            database = conn.execute("SELECT current_database()").fetchone()
            assert database is not None
            conn.execute(f'GRANT CONNECT ON DATABASE "{database[0]}" TO {role}')
            conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            conn.execute(f"GRANT SELECT ON event_facts TO {role}")
        parts = re.sub(r"//[^@]+@", f"//{role}:grafana-test@", url)
        try:
            yield parts
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP OWNED BY {role}")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def _fill(url: str) -> None:
    rng = random.Random(5)
    rows: list[Any] = []
    for i in range(400):
        partner = PARTNERS[i % 2]
        alert = i % 10 == 0
        row = fact(partner, NOW - timedelta(hours=rng.uniform(1, 24 * 120)),
                   site=f"{partner}-{rng.randrange(12):04d}",
                   insee=rng.choice(["60175", "60414", "60057"]),
                   qpv=rng.choice([None, "Rouher", "Argentine"]), zsp=rng.random() < 0.2,
                   category="STAFF_AGGRESSION" if alert else rng.choice(
                       ["DAMAGE", "COMMON_AREA_OCCUPATION", "NOISE"]),
                   lane="ALERT" if alert else "INCIDENT",
                   units=(rng.choice(["pn-csp-creil", "pn-csp-beauvais"]),))
        rows += [row, ack(row, "ROUTED", timedelta(seconds=1))]
        if rng.random() < 0.5:
            rows.append(ack(row, "TAKEN_IN_CHARGE", timedelta(minutes=rng.uniform(1, 40))))
        elif alert:
            rows.append(ack(row, "ESCALATED", timedelta(minutes=5)))
    write(url, rows)


def _run(url: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql)  # type: ignore[arg-type]
        names = [c.name for c in cursor.description or []]
        return names, cursor.fetchall()


def test_the_dashboards_have_sql_panels() -> None:
    panels = [where for where, _, _ in sql_targets() if ": variable " not in where]
    assert len(panels) >= 8, panels


@pytest.mark.parametrize("where,fmt,sql", sql_targets(), ids=[w for w, _, _ in sql_targets()])
def test_sql_query_runs_with_select_on_event_facts_only(
        reader: str, where: str, fmt: str, sql: str) -> None:
    for variables in ({"partner": "'*'", "site": "'*'"},
                      {"partner": f"'{PARTNERS[0]}'", "site": f"'{PARTNERS[0]}-0001'"}):
        names, rows = _run(reader, expand(sql, variables))
        assert rows, f"{where}: no rows with {variables}"
        print(f"ok [{len(rows)} rows] {where} {variables}")
        if fmt == "time_series":
            assert names[0] == "time", f"{where}: a time series starts with its time column"
            assert all(isinstance(r[0], datetime) for r in rows)
            values = names[2:] if names[1] == "metric" else names[1:]
            assert values and all(isinstance(r[names.index(v)], int | float)
                                  for r in rows for v in values), where


def test_weeks_and_months_are_paris_calendar_weeks_and_months(reader: str) -> None:
    """Grafana draws what the SQL buckets: weeks from Monday 00:00 and months from the 1st
    at 00:00, Paris time, whatever the DST."""
    paris = ZoneInfo("Europe/Paris")
    for where, fmt, sql in sql_targets():
        if fmt != "time_series":
            continue
        _, rows = _run(reader, expand(sql, {"partner": "'*'", "site": "'*'"}))
        for row in rows:
            local = row[0].astimezone(paris)
            assert (local.hour, local.minute) == (0, 0), (where, local)
            assert local.weekday() == 0 or local.day == 1, (where, local)


def test_the_read_only_login_reads_nothing_else(reader: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _run(reader, "SELECT count(*) FROM routed_events")

"""The report's pure parts: periods in Paris time, French formatting, the page and its CSV.

The figures themselves are SQL and are checked against a real PostgreSQL and the Kafka
topics in tests/integration/test_followup_report.py.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from vigie.followup.report import (
    build_tables,
    change_pct,
    french_date,
    french_number,
    render_html,
    write_report,
)
from vigie.followup.report_queries import Filters, Period, ReportData, parse_ids

HOSTILE_ID = '<script>alert("x")</script>&"\''


def test_period_and_its_previous_have_the_same_length() -> None:
    quarter = Period(date(2026, 10, 1), date(2026, 12, 31))
    assert quarter.days == 92
    assert quarter.previous() == Period(date(2026, 7, 1), date(2026, 9, 30))
    assert quarter.previous().days == 92
    assert quarter.trend_step == 7  # a quarter week by week
    assert Period(date(2026, 11, 1), date(2026, 11, 30)).trend_step == 1  # a month day by day


def test_period_bounds_are_paris_midnights_across_dst() -> None:
    start, end = Period(date(2026, 10, 1), date(2026, 12, 31)).bounds()
    assert start.astimezone(UTC) == datetime(2026, 9, 30, 22, tzinfo=UTC)  # CEST
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 23, tzinfo=UTC)  # CET


def test_period_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="précède"):
        Period(date(2026, 12, 31), date(2026, 10, 1))


def test_ids_repeated_or_comma_separated() -> None:
    assert parse_ids(["a,b", "c", " b ", ""]) == ("a", "b", "c")
    assert parse_ids(None) == ()


def test_french_formatting() -> None:
    assert french_date(date(2026, 10, 1)) == "1er octobre 2026"
    assert french_date(date(2026, 12, 31)) == "31 décembre 2026"
    assert french_number(1234567) == "1\u202f234\u202f567"
    assert french_number(3.25, 1) == "3,2"
    assert change_pct(110, 100) == 10.0
    assert change_pct(5, 0) is None


def _data(partner: str = "opac-oise") -> ReportData:
    period = Period(date(2026, 10, 1), date(2026, 12, 31))
    summary = {"events": 1204, "previous_events": 1000, "alerts": 40, "manual_triage": 2,
               "taken_in_charge": 300, "escalated": 7, "transferred": 1, "cancelled": 3,
               "in_qpv": 600, "in_zsp": 100, "residences": 55}
    issued = datetime(2026, 11, 2, 8, tzinfo=UTC)
    return ReportData(
        period=period, previous=period.previous(), filters=Filters((partner,), ()),
        summary=summary,
        by_category=[{"category": "DAMAGE", "events": 1204, "previous_events": 1000}],
        by_partner=[{"partner_id": partner, "events": 1204, "previous_events": 1000,
                     "alerts": 40}],
        by_unit=[{"unit_id": "pn-csp-creil", "events": 1204, "previous_events": 1000,
                  "alerts": 40}],
        by_commune=[{"insee_code": "60175", "events": 1204, "in_qpv": 600}],
        by_zone=[{"qpv_name": "Rouher", "zsp": True, "events": 600},
                 {"qpv_name": "", "zsp": False, "events": 604}],
        trend=[{"slot": w, "events": 90 + w, "previous_events": 80} for w in range(14)],
        delay_by_unit=[{"unit_id": "pn-csp-creil", "taken_in_charge": 300,
                        "p50_seconds": 330.0, "p90_seconds": 1500.0}],
        delay_by_category=[{"category": "DAMAGE", "taken_in_charge": 300,
                            "p50_seconds": 330.0, "p90_seconds": 1500.0}],
        escalations=[{"unit_id": "pn-csp-creil", "alerts": 40, "escalated": 7,
                      "taken_in_charge": 30}],
        residences=[{"site_id": partner + "-0001", "partner_id": partner,
                     "insee_code": "60175", "qpv_name": "Rouher", "events": 30,
                     "previous_events": 20, "alerts": 2, "escalated": 1,
                     "main_category": "DAMAGE"}],
        notices=[{"notice_id": "n1", "kind": "OPEN", "site_id": partner + "-0001",
                  "partner_id": partner, "unit_id": "pn-csp-creil",
                  "category_group": "occupation", "window_start": issued - timedelta(28),
                  "window_end": issued, "observed": 9, "expected": 2.5, "issued_at": issued}],
    )


def test_page_is_self_contained_french_and_carries_its_totals() -> None:
    data = _data()
    tables = build_tables(data)
    html = render_html(data, tables, {}, datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert '<html lang="fr">' in html
    assert "du 1er octobre 2026 au 31 décembre 2026" in html
    assert 'data-total="events" data-value="1204"' in html
    assert "1\u202f204" in html  # French thousands
    assert "+20,4\u00a0%" in html  # 1204 against 1000
    assert "Circonscription de sécurité publique de Creil" in html  # reference name
    assert "Creil" in html and "Dégradation de parties communes" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert 'data-hotspots="present"' in html and "ouverture" in html


def test_hotspots_section_says_when_the_notices_table_is_absent() -> None:
    data = _data()
    data.notices = None
    html = render_html(data, build_tables(data), {}, datetime(2026, 12, 31, tzinfo=UTC))
    assert 'data-hotspots="absent"' in html
    assert "avis-prevention" not in build_tables(data)


def test_ids_are_escaped_in_the_page() -> None:
    data = _data(HOSTILE_ID)
    html = render_html(data, build_tables(data), {}, datetime(2026, 12, 31, tzinfo=UTC))
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    # Attribute values are quoted and escaped too: no raw quote ends a data-* value early.
    assert not re.search(r'data-key="<', html)


def test_csv_tables_match_the_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    written = write_report(_data(), tmp_path, datetime(2026, 12, 31, tzinfo=UTC))
    assert written.html.exists()
    names = {p.stem for p in written.csv}
    assert {"synthese", "categories", "bailleurs", "unites", "communes", "qpv-zsp",
            "tendance", "delais-unites", "delais-categories", "escalades", "residences",
            "avis-prevention"} == names
    with (tmp_path / "delais-unites.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"unit_id": "pn-csp-creil",
                     "unit_name": "Circonscription de sécurité publique de Creil",
                     "taken_in_charge": "300", "p50_minutes": "5.5", "p90_minutes": "25.0"}]
    html = written.html.read_text(encoding="utf-8")
    assert 'data-col="p50_minutes" data-value="5.5"' in html
    assert html.count('<img class="chart"') == 4  # categories, partners, weeks, delays
    assert "data:image/svg+xml;base64," in html

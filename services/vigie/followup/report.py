"""The committee's report (bilan): one self-contained HTML file in French and its CSV tables.

Why a single file with everything inside (CSS inline, charts as SVG images in data URIs, no
script): the report is mailed to the landlords, the police and the gendarmerie and opened
on machines that may reach no network; it must look the same there, print, and load nothing
from elsewhere. Why SVG from matplotlib: static vector charts that print sharply and need
no JavaScript, from a kept library.

The figures come from ``report_queries`` only; this module names things (categories in
French, units and communes from the reference data) and lays them out. Every value shown is
a fact of the store or a reference name; ids and names pass through Jinja's autoescape.
Each table is also written as ``<name>.csv`` (UTF-8, comma-separated, the HTML's columns
with their machine names as headers), and every cell of the HTML carries its raw value in
``data-value`` so that a test, or a reader's script, can check the page against the CSV.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from vigie.followup.report_queries import ReportData, Row

#: French names of the categories (the contract's enum comments).
CATEGORY_LABELS = {
    "STAFF_AGGRESSION": "Agression d'un personnel de proximité",
    "STAFF_THREAT": "Menace ou intimidation d'un personnel",
    "DAMAGE": "Dégradation de parties communes",
    "GRAFFITI": "Tags, inscriptions",
    "FIRE": "Incendie",
    "INTRUSION": "Intrusion dans des locaux",
    "SQUAT": "Occupation illicite d'un logement",
    "COMMON_AREA_OCCUPATION": "Occupation de halls, cages d'escalier",
    "DRUG_DEALING": "Point de deal, trafic",
    "THEFT": "Vol, cambriolage de locaux",
    "NOISE": "Nuisances sonores",
    "ABANDONED_VEHICLE": "Véhicule ventouse ou épave",
    "RODEO": "Rodéo motorisé",
    "WEAPON": "Arme aperçue, tirs",
    "OTHER": "Autre",
}
NOTICE_KINDS = {"OPEN": "ouverture", "CLOSE": "clôture"}
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")
#: Communes listed in the HTML (the CSV has them all).
HTML_COMMUNES = 30


# -- names from the reference data ------------------------------------------------------------
@lru_cache(maxsize=1)
def unit_names() -> dict[str, str]:
    from vigie.reference.units import load_units_file

    return {u.unit_id: u.name for u in load_units_file().units}


@lru_cache(maxsize=1)
def commune_names() -> dict[str, str]:
    from vigie.reference.communes import default_commune_index

    return {c.insee: c.name for c in default_commune_index()}


# -- French formatting ----------------------------------------------------------------------
def french_date(day: date) -> str:
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"


def french_number(value: float, decimals: int = 0) -> str:
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return text


def change_pct(current: int, previous: int) -> float | None:
    """Change against the previous period in percent; None when there was nothing before."""
    if previous == 0:
        return None
    return round(100.0 * (current - previous) / previous, 1)


def _fmt(kind: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if kind == "int":
        return french_number(int(value))
    if kind == "pct":
        return ("+" if value > 0 else "") + french_number(float(value), 1) + "\u00a0%"
    if kind == "share":
        return french_number(float(value), 1) + "\u00a0%"
    if kind == "minutes":
        return french_number(float(value), 1) + "\u00a0min"
    if kind == "float":
        return french_number(float(value), 1)
    if kind == "bool":
        return "oui" if value else "non"
    if kind == "date":
        return value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value)
    if kind == "datetime":
        return value.astimezone(_paris()).strftime("%d/%m/%Y %H:%M") if isinstance(
            value, datetime) else str(value)
    return str(value)


def _paris() -> Any:
    from zoneinfo import ZoneInfo

    from vigie.followup.report_queries import TIMEZONE

    return ZoneInfo(TIMEZONE)


# -- the tables -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, pct, share, minutes, float, bool, datetime


@dataclass(frozen=True)
class TableSpec:
    """One table of the report: its CSV name, French title, columns, and where its rows come
    from (a function of the data that may add names and derived columns)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[ReportData], list[Row]]
    note: str = ""
    html_limit: int | None = None


def _minutes(rows: list[Row]) -> list[Row]:
    for row in rows:
        for p in ("p50", "p90"):
            seconds = row.pop(f"{p}_seconds", None)
            row[f"{p}_minutes"] = None if seconds is None else round(float(seconds) / 60, 1)
    return rows


def _with_change(rows: list[Row]) -> list[Row]:
    for row in rows:
        row["change_pct"] = change_pct(row["events"], row["previous_events"])
    return rows


def _category(rows: list[Row]) -> list[Row]:
    for row in rows:
        row["category_label"] = CATEGORY_LABELS.get(row["category"], row["category"])
    return rows


def _unit(rows: list[Row]) -> list[Row]:
    names = unit_names()
    for row in rows:
        row["unit_name"] = names.get(row["unit_id"], "")
    return rows


def _commune(rows: list[Row]) -> list[Row]:
    names = commune_names()
    for row in rows:
        row["commune_name"] = names.get(row["insee_code"] or "", "")
    return rows


def _summary_rows(data: ReportData) -> list[Row]:
    s = data.summary
    labels = {
        "events": "Événements signalés", "previous_events": "Période précédente",
        "alerts": "dont alertes urgentes", "manual_triage": "dont tri manuel (centres)",
        "taken_in_charge": "Pris en charge par une unité", "escalated": "Alertes escaladées",
        "transferred": "Transférés à l'autre force", "cancelled": "Annulés par le bailleur",
        "in_qpv": "En quartier prioritaire (QPV)", "in_zsp": "En ZSP",
        "residences": "Résidences concernées",
    }
    return [{"figure": key, "label": label, "value": s[key]} for key, label in labels.items()]


def _escalations(data: ReportData) -> list[Row]:
    rows = _unit(data.escalations)
    for row in rows:
        row["escalated_share"] = (round(100.0 * row["escalated"] / row["alerts"], 1)
                                  if row["alerts"] else None)
    return rows


def _residences(data: ReportData) -> list[Row]:
    for row in data.residences:
        category = row["main_category"]
        row["main_category_label"] = CATEGORY_LABELS.get(category, category)
    return _commune(data.residences)


def _zones(data: ReportData) -> list[Row]:
    for row in data.by_zone:
        row["zone"] = row["qpv_name"] or "hors QPV"
    return data.by_zone


def _trend(data: ReportData) -> list[Row]:
    step = timedelta(days=data.period.trend_step)
    for row in data.trend:
        slot = int(row["slot"])
        row["slot"] = slot + 1
        row["slot_start"] = data.period.start + slot * step
        row["previous_slot_start"] = data.previous.start + slot * step
    return _with_change(data.trend)


def _notices(data: ReportData) -> list[Row]:
    rows = data.notices or []
    for row in rows:
        row["kind_label"] = NOTICE_KINDS.get(row["kind"], row["kind"])
    return rows


EVENTS = Column("events", "Événements", "int")
PREVIOUS = Column("previous_events", "Période précédente", "int")
CHANGE = Column("change_pct", "Évolution", "pct")
TAKEN = Column("taken_in_charge", "Prises en charge", "int")
P50 = Column("p50_minutes", "Médiane (p50)", "minutes")
P90 = Column("p90_minutes", "9e décile (p90)", "minutes")
UNIT = (Column("unit_id", "Unité (id)"), Column("unit_name", "Unité"))

TABLES: tuple[TableSpec, ...] = (
    TableSpec("synthese", "Chiffres clés", (
        Column("figure", "Indicateur (id)"), Column("label", "Indicateur"),
        Column("value", "Valeur", "int")), _summary_rows),
    TableSpec("categories", "Événements par catégorie", (
        Column("category", "Catégorie (id)"), Column("category_label", "Catégorie"),
        EVENTS, PREVIOUS, CHANGE), lambda d: _with_change(_category(d.by_category))),
    TableSpec("bailleurs", "Événements par bailleur", (
        Column("partner_id", "Bailleur"), EVENTS, PREVIOUS, CHANGE,
        Column("alerts", "dont alertes", "int")), lambda d: _with_change(d.by_partner)),
    TableSpec("unites", "Événements par unité destinataire", (
        *UNIT, EVENTS, PREVIOUS, CHANGE, Column("alerts", "dont alertes", "int")),
        lambda d: _with_change(_unit(d.by_unit)),
        note="Un événement adressé à plusieurs unités (tri manuel : les deux centres) compte "
             "pour chacune."),
    TableSpec("communes", "Événements par commune", (
        Column("insee_code", "Code INSEE"), Column("commune_name", "Commune"), EVENTS,
        Column("in_qpv", "dont en QPV", "int")), lambda d: _commune(d.by_commune),
        html_limit=HTML_COMMUNES),
    TableSpec("qpv-zsp", "Quartiers prioritaires (QPV) et zones de sécurité prioritaires (ZSP)",
              (Column("zone", "QPV"), Column("zsp", "En ZSP", "bool"), EVENTS), _zones),
    TableSpec("tendance", "Tendance, comparée à la période précédente", (
        Column("slot", "Tranche", "int"), Column("slot_start", "Début", "date"),
        Column("previous_slot_start", "Début (période précédente)", "date"), EVENTS, PREVIOUS,
        CHANGE), _trend,
        note="Par jour pour une période d'un mois au plus, par semaine au-delà (la dernière "
             "semaine peut être incomplète)."),
    TableSpec("delais-unites", "Délai de prise en charge par unité", (
        *UNIT, TAKEN, P50, P90), lambda d: _minutes(_unit(d.delay_by_unit)),
        note="Du routage vers l'unité à la première prise en charge (ou envoi de patrouille)."),
    TableSpec("delais-categories", "Délai de prise en charge par catégorie", (
        Column("category", "Catégorie (id)"), Column("category_label", "Catégorie"), TAKEN,
        P50, P90), lambda d: _minutes(_category(d.delay_by_category))),
    TableSpec("escalades", "Alertes urgentes escaladées au centre de commandement", (
        *UNIT, Column("alerts", "Alertes", "int"), TAKEN,
        Column("escalated", "Escaladées", "int"),
        Column("escalated_share", "Part escaladée", "share")), _escalations),
    TableSpec("residences", "Résidences les plus touchées", (
        Column("site_id", "Résidence (id)"), Column("partner_id", "Bailleur"),
        Column("commune_name", "Commune"), Column("qpv_name", "QPV"), EVENTS, PREVIOUS,
        Column("alerts", "Alertes", "int"), Column("escalated", "Escaladées", "int"),
        Column("main_category_label", "Catégorie principale")), _residences),
)

#: Hotspots opened and closed: filled by the hotspot pass's ``prevention_notices`` table
#: (issue 14, item 3), the section says so when that table does not exist yet.
HOTSPOTS = TableSpec("avis-prevention", "Points chauds ouverts et fermés", (
    Column("issued_at", "Émis le", "datetime"), Column("kind_label", "Avis"),
    Column("site_id", "Résidence (id)"), Column("partner_id", "Bailleur"),
    Column("unit_id", "Unité"), Column("category_group", "Groupe de catégories"),
    Column("window_start", "Fenêtre du", "datetime"),
    Column("window_end", "au", "datetime"), Column("observed", "Observés", "int"),
    Column("expected", "Attendus", "float"), Column("notice_id", "Avis (id)")), _notices)


@dataclass
class BuiltTable:
    spec: TableSpec
    rows: list[Row]

    def cells(self, row: Row) -> list[tuple[Column, str, str]]:
        """(column, raw value for data-value, French text) of one row."""
        return [(c, _raw(row.get(c.key)), _fmt(c.kind, row.get(c.key)))
                for c in self.spec.columns]

    @property
    def html_rows(self) -> list[Row]:
        limit = self.spec.html_limit
        return self.rows if limit is None else self.rows[:limit]


def _raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_tables(data: ReportData) -> dict[str, BuiltTable]:
    tables = {spec.name: BuiltTable(spec, spec.rows(data)) for spec in TABLES}
    if data.notices is not None:
        tables[HOTSPOTS.name] = BuiltTable(HOTSPOTS, HOTSPOTS.rows(data))
    return tables


def write_csv(path: Path, table: BuiltTable) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([c.key for c in table.spec.columns])
        for row in table.rows:
            writer.writerow([_raw(row.get(c.key)) for c in table.spec.columns])


# -- charts -----------------------------------------------------------------------------------
CURRENT_COLOUR, PREVIOUS_COLOUR, P90_COLOUR = "#1f4e79", "#9dc3e6", "#c55a11"


def _svg_image(figure: Any, alt: str) -> Markup:
    """The figure as an <img> with an SVG data URI: self-contained, and each chart keeps
    its own ids (matplotlib's clip-path ids would clash between inline SVGs)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Markup('<img class="chart" alt="{}" src="data:image/svg+xml;base64,{}">').format(
        alt, Markup(encoded))


def _figure(height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(8.0, height), layout="constrained")


def _pair_bars(labels: Sequence[str], current: Sequence[float], previous: Sequence[float],
               title: str) -> Markup:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "vigie",
                                "font.family": "sans-serif", "font.size": 9}):
        figure = _figure(max(2.0, 0.32 * len(labels) + 1.0))
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        axes.barh([p + 0.2 for p in positions], previous, height=0.4, color=PREVIOUS_COLOUR,
                  label="période précédente")
        axes.barh([p - 0.2 for p in positions], current, height=0.4, color=CURRENT_COLOUR,
                  label="période")
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_title(title)
        figure.legend(loc="outside lower center", ncols=2, frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        return _svg_image(figure, title)


def _trend_chart(rows: list[Row], daily: bool) -> Markup:
    import matplotlib

    title = "Événements par jour" if daily else "Événements par semaine"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "vigie",
                                "font.family": "sans-serif", "font.size": 9}):
        figure = _figure(3.0)
        axes = figure.add_subplot()
        slots = [r["slot"] for r in rows]
        axes.plot(slots, [r["previous_events"] for r in rows], color=PREVIOUS_COLOUR,
                  marker="o", label="période précédente")
        axes.plot(slots, [r["events"] for r in rows], color=CURRENT_COLOUR, marker="o",
                  label="période")
        every = max(1, -(-len(slots) // 10))  # at most ten labels
        axes.set_xticks(slots[::every], [r["slot_start"].strftime("%d/%m")
                                         for r in rows][::every])
        axes.set_xlabel("jour de la période" if daily else "semaine commençant le")
        axes.set_ylim(bottom=0)
        axes.set_title(title)
        figure.legend(loc="outside lower center", ncols=2, frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        return _svg_image(figure, title)


def _delay_chart(rows: list[Row], title: str) -> Markup:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "vigie",
                                "font.family": "sans-serif", "font.size": 9}):
        figure = _figure(max(2.0, 0.32 * len(rows) + 1.0))
        axes = figure.add_subplot()
        positions = list(range(len(rows)))
        axes.barh([p + 0.2 for p in positions], [r["p90_minutes"] for r in rows], height=0.4,
                  color=P90_COLOUR, label="p90")
        axes.barh([p - 0.2 for p in positions], [r["p50_minutes"] for r in rows], height=0.4,
                  color=CURRENT_COLOUR, label="médiane")
        axes.set_yticks(positions, [r["unit_name"] or r["unit_id"] for r in rows])
        axes.invert_yaxis()
        axes.set_title(title)
        figure.legend(loc="outside lower center", ncols=2, frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        return _svg_image(figure, title)


#: Bars per chart at most: the table beside it lists every row; a chart of hundreds of units
#: (a national deployment) is unreadable and takes seconds to draw.
CHART_ROWS = 25


def _first(rows: list[Row], title: str) -> tuple[list[Row], str]:
    if len(rows) <= CHART_ROWS:
        return rows, title
    return rows[:CHART_ROWS], f"{title} ({CHART_ROWS} premiers sur {len(rows)})"


def build_charts(data: ReportData, tables: dict[str, BuiltTable]) -> dict[str, Markup]:
    """The charts beside their tables (none for an empty table)."""
    charts: dict[str, Markup] = {}
    categories = tables["categories"].rows
    if categories:
        charts["categories"] = _pair_bars(
            [r["category_label"] for r in categories], [r["events"] for r in categories],
            [r["previous_events"] for r in categories], "Événements par catégorie")
    partners, title = _first(tables["bailleurs"].rows, "Événements par bailleur")
    if partners:
        charts["bailleurs"] = _pair_bars(
            [r["partner_id"] for r in partners], [r["events"] for r in partners],
            [r["previous_events"] for r in partners], title)
    if any(r["events"] or r["previous_events"] for r in tables["tendance"].rows):
        charts["tendance"] = _trend_chart(tables["tendance"].rows,
                                          daily=data.period.trend_step == 1)
    if tables["delais-unites"].rows:
        # The slowest first: the units the committee must talk about.
        slowest = sorted(tables["delais-unites"].rows,
                         key=lambda r: -(r.get("p90_minutes") or 0.0))
        units, title = _first(slowest, "Délai de prise en charge par unité (minutes)")
        charts["delais-unites"] = _delay_chart(units, title)
    return charts


# -- the page ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=PackageLoader("vigie.followup", "templates"),
                       autoescape=select_autoescape(["html", "j2"], default=True),
                       trim_blocks=True, lstrip_blocks=True)


def render_html(data: ReportData, tables: dict[str, BuiltTable], charts: dict[str, Markup],
                generated_at: datetime) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data, tables=tables, charts=charts, summary=data.summary,
        order=[spec.name for spec in TABLES if spec.name != "synthese"],
        hotspots=tables.get(HOTSPOTS.name),
        period=f"du {french_date(data.period.start)} au {french_date(data.period.end)}",
        previous=f"du {french_date(data.previous.start)} au {french_date(data.previous.end)}",
        generated=generated_at.astimezone(_paris()).strftime("%d/%m/%Y à %H:%M"),
        change=_fmt("pct", change_pct(data.summary["events"],
                                      data.summary["previous_events"])),
        fmt=_fmt,
    )


@dataclass(frozen=True)
class WrittenReport:
    html: Path
    csv: tuple[Path, ...]


def write_report(data: ReportData, out_dir: Path,
                 generated_at: datetime | None = None) -> WrittenReport:
    """``rapport.html`` and one CSV per table in ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(data)
    written = []
    for name, table in tables.items():
        path = out_dir / f"{name}.csv"
        write_csv(path, table)
        written.append(path)
    html = out_dir / "rapport.html"
    html.write_text(render_html(data, tables, build_charts(data, tables),
                                generated_at or datetime.now(UTC)), encoding="utf-8")
    return WrittenReport(html, tuple(written))

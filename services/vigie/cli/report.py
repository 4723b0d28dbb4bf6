"""``vigie report``: the committee's report (bilan) from the follow-up store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from vigie.settings import get_settings

console = Console()


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"date attendue au format AAAA-MM-JJ, reçu {text!r}",
                                 param_hint=option) from None


def report(
    start: str = typer.Option(..., "--from", help="premier jour, AAAA-MM-JJ (heure de Paris)"),
    end: str = typer.Option(..., "--to", help="dernier jour, inclus, AAAA-MM-JJ"),
    partner: list[str] = typer.Option(
        [], "--partner", help="ce bailleur seulement (à répéter, ou a,b)"),
    unit: list[str] = typer.Option([], "--unit", help="reçus par cette unité (à répéter)"),
    out: Path = typer.Option(..., "--out", help="dossier de rapport.html et des tables CSV"),
) -> None:
    """Écrire le rapport du comité : une page HTML autonome en français et ses tables en CSV,
    comparées à la période précédente de même durée."""
    import psycopg

    from vigie.db import database_url
    from vigie.db.local import DatabaseError
    from vigie.followup.report import write_report
    from vigie.followup.report_queries import Filters, Period, load, parse_ids

    try:
        period = Period(_day(start, "--from"), _day(end, "--to"))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None
    filters = Filters(parse_ids(partner), parse_ids(unit))
    try:
        data = load(database_url(get_settings()), period, filters)
    except (psycopg.Error, DatabaseError) as exc:
        console.print(f"base de suivi : {str(exc).strip()}", style="red", markup=False)
        raise typer.Exit(1) from None
    written = write_report(data, out)
    console.print(f"rapport : {written.html} ({data.summary['events']} événements, "
                  f"{len(written.csv)} tableaux CSV dans {out})", markup=False)

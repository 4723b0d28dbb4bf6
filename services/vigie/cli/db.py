"""``vigie db``, ``vigie followup`` and ``vigie hotspots``: the follow-up store's database,
its sink and its daily hotspot pass."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from vigie.settings import get_settings

if TYPE_CHECKING:
    from vigie.db.local import LocalPostgres

db_app = typer.Typer(help="Le PostgreSQL du suivi : un cluster local, son schéma.")
console = Console()


def _local() -> LocalPostgres:
    from vigie.db.local import LocalPostgres

    return LocalPostgres(get_settings())


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"base de suivi : {exc}", style="red", markup=False)
    return typer.Exit(1)


@db_app.command()
def start() -> None:
    """Démarrer le PostgreSQL local (initdb au premier usage sous .vigie/), migrer le schéma."""
    from vigie.db.local import DatabaseError
    from vigie.db.migrate import upgrade

    local = _local()
    try:
        local.start()
        upgrade(local.url())
    except DatabaseError as exc:
        raise _fail(exc) from exc
    console.print(f"PostgreSQL sur 127.0.0.1:{local.port} (pid {local.pid()}, "
                  f"dossier {local.root}) ; schéma à jour")


@db_app.command()
def stop() -> None:
    """Arrêter le PostgreSQL local (arrêt rapide : tout ce qui est validé reste)."""
    from vigie.db.local import DatabaseError

    try:
        stopped = _local().stop()
    except DatabaseError as exc:
        raise _fail(exc) from exc
    console.print("PostgreSQL arrêté" if stopped else "PostgreSQL n'était pas démarré")


@db_app.command()
def status() -> None:
    """Dire si le PostgreSQL local tourne, où, et à quelle révision du schéma."""
    from vigie.db.migrate import current

    local = _local()
    if not local.running():
        console.print(f"PostgreSQL n'est pas démarré (dossier {local.root})")
        raise typer.Exit(1)
    console.print(f"PostgreSQL démarré sur 127.0.0.1:{local.port} (pid {local.pid()}), "
                  f"révision du schéma {current(local.url())}")


@db_app.command()
def migrate() -> None:
    """Mettre à jour le schéma de VIGIE_DATABASE_URL (ou du cluster local)."""
    from vigie.db import database_url
    from vigie.db.migrate import current, upgrade

    url = database_url(get_settings())
    upgrade(url)
    console.print(f"révision du schéma {current(url)}")


@db_app.command()
def purge(
    before: str = typer.Option(
        None, "--before", help="purger les faits des incidents survenus avant ce jour "
        "(AAAA-MM-JJ, heure de Paris) ; défaut : aujourd'hui moins VIGIE_FOLLOWUP_RETENTION_DAYS"),
    dry_run: bool = typer.Option(False, "--dry-run", help="compter, ne rien supprimer"),
) -> None:
    """Supprimer les faits de suivi plus anciens que la durée de conservation, en une
    transaction."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import psycopg

    from vigie.db import database_url
    from vigie.db.local import DatabaseError
    from vigie.followup.report_queries import TIMEZONE
    from vigie.followup.retention import cutoff, purge_url

    settings = get_settings()
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    try:
        day = date.fromisoformat(before) if before else cutoff(
            today, settings.followup_retention_days)
    except ValueError:
        raise typer.BadParameter(f"date attendue au format AAAA-MM-JJ, reçu {before!r}",
                                 param_hint="--before") from None
    if day > today:
        raise typer.BadParameter(f"{day} est dans le futur", param_hint="--before")
    try:
        done = purge_url(database_url(settings), day, dry_run=dry_run)
    except (psycopg.Error, DatabaseError) as exc:
        raise _fail(exc) from exc
    notices = "" if done.prevention_notices is None else (
        f", {done.prevention_notices} avis de prévention")
    verb = "seraient supprimés" if dry_run else "supprimés"
    console.print(f"avant le {day} : {verb} {done.routed_events} incidents, "
                  f"{done.event_acks} accusés, {done.follow_ups} suites{notices}")


def followup(loglevel: str = typer.Option("info", help="niveau de journalisation")) -> None:
    """Lancer le puits du suivi : accusés et copies routées de Vigie vers la base de suivi."""
    import logging.config

    from vigie.cli.errors import kafka_failures
    from vigie.followup.sink import run_sink
    from vigie.logging_setup import logging_config

    logging.config.dictConfig(logging_config(loglevel))
    settings = get_settings()
    with kafka_failures(settings):
        asyncio.run(run_sink(settings))


def hotspots(
    day: str = typer.Option(None, "--day", help="jour à évaluer, AAAA-MM-JJ (défaut : hier, "
                            "heure de Paris)"),
    since: str = typer.Option(None, "--from", help="premier jour d'une série (rattrapage)"),
    thresholds_file: str = typer.Option(None, "--thresholds",
                                        help="seuils (JSON) ; défaut : ceux de l'Oise"),
) -> None:
    """Lancer la passe quotidienne des points chauds (ou une par jour d'une série) et publier
    ses avis."""
    from datetime import date, datetime, timedelta
    from pathlib import Path

    from vigie.cli.errors import kafka_failures
    from vigie.db import database_url
    from vigie.followup.prevention import LOCAL_TIME, run_passes
    from vigie.reference.prevention import default_thresholds, load_thresholds
    from vigie.workers.reference_loader import load_reference

    settings = get_settings()
    last = (date.fromisoformat(day) if day
            else datetime.now(LOCAL_TIME).date() - timedelta(days=1))
    first = date.fromisoformat(since) if since else last
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    thresholds = (load_thresholds(Path(thresholds_file)) if thresholds_file
                  else default_thresholds())

    async def main() -> int:
        ref = (await load_reference(settings)).snapshot()
        notices = await run_passes(settings, database_url(settings), days, thresholds, ref)
        return len(notices)

    with kafka_failures(settings):
        count = asyncio.run(main())
    console.print(f"{len(days)} passe(s) ({first} → {last}), {count} avis de prévention "
                  f"({thresholds.version})")

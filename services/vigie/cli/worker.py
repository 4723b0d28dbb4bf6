"""``vigie worker`` and ``vigie topics``: run a pipeline worker, provision topics."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from vigie.cli.errors import kafka_failures
from vigie.settings import get_settings

topics_app = typer.Typer(help="Créer les topics de Vigie sur le broker.")
console = Console()


def _unit_ids() -> list[str]:
    from vigie.reference.snapshot import ReferenceStore

    return sorted(ReferenceStore.with_defaults().snapshot().units)


@topics_app.command("ensure")
def ensure() -> None:
    """Créer les topics manquants : bailleurs, unités, référence, lettres mortes."""
    from vigie.kafka.admin import ensure_topics

    settings = get_settings()
    with kafka_failures(settings):
        created = asyncio.run(ensure_topics(settings, _unit_ids()))
    console.print(f"{len(created)} topic(s) créé(s)")


def worker(
    metrics_port: int = typer.Option(None, help="port HTTP de /metrics, /healthz, /readyz"),
    loglevel: str = typer.Option("info", help="niveau de journalisation"),
    supervise: bool = typer.Option(
        True, help="redémarrer le worker s'il s'arrête (par ex. après une panne du broker)"
    ),
) -> None:
    """Lancer un worker du pipeline (plusieurs peuvent tourner : ils se partagent les
    partitions)."""
    if supervise:
        from vigie.workers.supervisor import supervise as run_supervised

        args = ["worker", "--no-supervise", "--loglevel", loglevel]
        if metrics_port is not None:
            args += ["--metrics-port", str(metrics_port)]
        raise typer.Exit(run_supervised(args))

    import logging.config

    from vigie.kafka.admin import ensure_topics
    from vigie.logging_setup import logging_config
    from vigie.workers.service import WorkerService

    logging.config.dictConfig(logging_config(loglevel))
    settings = get_settings()
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    asyncio.run(ensure_topics(settings, _unit_ids()))
    asyncio.run(WorkerService(settings).run())

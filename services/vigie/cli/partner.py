"""Partner-side commands: ``vigie publish`` and ``vigie simulate``."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigie.cli.errors import kafka_failures
from vigie.settings import get_settings
from vigie.terminal import safe_text

console = Console()


def publish(
    file: Path = typer.Argument(..., help="JSON, tableau JSON ou JSON Lines ('-' : stdin)"),
    timeout: float = typer.Option(30.0, help="secondes d'attente des accusés de réception"),
) -> None:
    """Vérifier les événements localement, les publier, puis afficher leurs accusés."""
    from vigie.clients.partner import check_locally, read_events
    from vigie.kafka.publish import publish_and_wait

    events = read_events(file)
    refused = {e.event_id: check_locally(e) for e in events}
    refused = {k: v for k, v in refused.items() if v}
    for event_id, issues in refused.items():
        for issue in issues:
            console.print(Text.assemble(
                safe_text(event_id, style="red"),
                f" {issue.reason.value} (", safe_text(issue.field), ") : ",
                safe_text(issue.message_fr),
            ))
    if refused:
        console.print("[red]Rien n'a été publié : corrigez les événements ci-dessus.[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    with kafka_failures(settings):
        found = asyncio.run(publish_and_wait(settings, events, timeout))
    table = Table("événement", "statut", "unités", "raison")
    for event_id, acks in found.items():
        if not acks:
            table.add_row(safe_text(event_id), "[yellow]sans réponse[/yellow]", "", "")
        for ack in acks:
            table.add_row(safe_text(event_id), ack.status.value, safe_text(", ".join(ack.units)),
                          safe_text(ack.reason_message))
    console.print(table)
    if not all(found.values()):
        raise typer.Exit(1)


def simulate(
    rate: float = typer.Option(2.0, help="messages par seconde"),
    seed: int = typer.Option(None, help="graine (même graine, même flux)"),
    count: int = typer.Option(0, help="s'arrêter après ce nombre de messages (0 : jamais)"),
    history: str = typer.Option(
        None, "--history", help="au lieu d'un flux en direct, remplir la base de suivi de cet "
        "historique des sites d'exemple et lancer ses passes de points chauds (ex. 26w)"),
) -> None:
    """Publier un flux réaliste depuis les sites d'exemple (alertes, erreurs, doublons, mises
    à jour)."""
    import itertools

    if history is not None:
        _backfill(history, 26 if seed is None else seed)
        return

    from vigie.kafka.publish import publish_at_rate, publish_reference
    from vigie.reference.sites import load_sample_sites
    from vigie.simulation.feed import live_feed, new_seed

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sites = load_sample_sites()
        await publish_reference(settings, sites=sites)
        feed = live_feed(sites, seed=new_seed() if seed is None else seed)
        return await publish_at_rate(
            settings, itertools.islice(feed, count) if count else feed, rate, stop=stop
        )

    settings = get_settings()
    with kafka_failures(settings):
        sent = asyncio.run(main())
    console.print(f"{sent} message(s) publié(s)")


def _backfill(span: str, seed: int) -> None:
    from vigie.db import database_url
    from vigie.followup.backfill import backfill

    weeks_text = span.removesuffix("w")
    if not weeks_text.isdigit() or not 1 <= int(weeks_text) <= 104:
        raise typer.BadParameter("attendu : un nombre de semaines, par ex. 26w",
                                 param_hint="--history")
    settings = get_settings()
    with kafka_failures(settings):
        done = asyncio.run(backfill(settings, database_url(settings), int(weeks_text),
                                    seed=seed))
    console.print(f"{len(done.routed)} incident(s) et {len(done.acks)} accusé(s) sur "
                  f"{weeks_text} semaine(s) ; résidences en tension simulées : "
                  f"{len(done.hotspots)}")

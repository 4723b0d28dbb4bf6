"""Force-side commands: ``vigie tail`` and ``vigie ack``."""

from __future__ import annotations

import asyncio
import contextlib

import typer
from rich.console import Console
from rich.text import Text

from vigie.cli.errors import kafka_failures
from vigie.contracts.enums import Force, ForceStatus
from vigie.contracts.models import RoutedEvent
from vigie.settings import get_settings
from vigie.terminal import safe_text

console = Console()


def render_routed(routed: RoutedEvent) -> Text:
    """One routed event as ``vigie tail`` shows it.

    Everything that a partner, a site file or a unit wrote goes through ``safe_text``: a
    description is shown, never interpreted (no markup, no escape sequence, no bidi
    reordering). Its lines are indented under Vigie's header line, so that a partner cannot
    forge a line that reads like another event.
    """
    event, enrichment, decision = routed.event, routed.enrichment, routed.decision
    out = Text(f"{routed.routed_at:%H:%M:%S} ")
    if decision.lane.value == "ALERT":
        out.append("ALERTE", style="bold red")
    else:
        out.append("incident")
    if event.status.value != "ACTUAL":
        out.append(f" [{event.status.value}]")
    out.append(f" {event.category.value} {event.message_type.value} — ")
    if enrichment.commune:
        out.append_text(safe_text(enrichment.commune.name))
    else:
        out.append("lieu inconnu")
    out.append(" ")
    if enrichment.site:
        out.append_text(safe_text(enrichment.site.residence_name))
    if enrichment.qpv_name:
        out.append(" QPV ")
        out.append_text(safe_text(enrichment.qpv_name))
    if decision.routing_rule and decision.competent_unit_id:
        # A centre receiving a diverted event must see whose zone it is, and why it has it.
        out.append(" — zone ")
        out.append_text(safe_text(decision.competent_unit_id))
        out.append(" (")
        out.append_text(safe_text(decision.routing_rule))
        out.append(")")
    out.append(" — ")
    out.append_text(safe_text(event.partner_id))
    out.append(" — ")
    out.append_text(safe_text(event.event_id))
    if event.references:
        # A status about it is keyed by the root id (docs/acknowledgements.md).
        out.append(" (initial : ")
        out.append_text(safe_text(event.references[0]))
        out.append(")")
    for line in (event.description or "").replace("\r\n", "\n").split("\n"):
        out.append("\n    ")
        out.append_text(safe_text(line))
    return out


def tail(
    unit: str = typer.Option(..., "--unit", help="identifiant de l'unité, ex. pn-csp-creil"),
    from_beginning: bool = typer.Option(False, help="relire ce que les topics contiennent encore"),
) -> None:
    """Vue lisible, en direct, des événements routés vers une unité (Ctrl-C pour arrêter)."""
    from vigie.kafka.follow import follow_unit

    settings = get_settings()

    async def main() -> None:
        async for routed in follow_unit(settings, unit, from_beginning=from_beginning):
            console.print(render_routed(routed))

    with kafka_failures(settings), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def ack(
    event_id: str = typer.Argument(..., help="l'identifiant de l'événement reçu par l'unité"),
    status: ForceStatus = typer.Argument(..., help="TAKEN_IN_CHARGE, PATROL_DISPATCHED, …"),
    unit: str = typer.Option(..., "--unit", help="l'identifiant de votre unité"),
    to_force: Force | None = typer.Option(None, help="force visée par un TRANSFER_REQUESTED"),
    root: str | None = typer.Option(
        None, help="identifiant de l'événement initial (la clé Kafka), quand EVENT_ID est celui "
        "d'une mise à jour"),
) -> None:
    """Envoyer le statut d'une unité sur un événement reçu ; le bailleur en est informé."""
    from vigie.clients.force import status_record
    from vigie.kafka.publish import publish_records

    record = status_record(unit, event_id, status, transfer_to_force=to_force, root_id=root)
    settings = get_settings()
    with kafka_failures(settings):
        asyncio.run(publish_records(settings, [record]))
    console.print(Text.assemble(
        f"{status.value} envoyé pour ", safe_text(event_id), " par ", safe_text(unit)
    ))

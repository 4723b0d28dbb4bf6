"""Force-side commands: ``vigie tail`` and ``vigie ack``."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from vigie.contracts.enums import Force, ForceStatus
from vigie.settings import get_settings

console = Console()


def tail(
    unit: str = typer.Option(..., "--unit", help="unit id, e.g. pn-csp-creil"),
    from_beginning: bool = typer.Option(False, help="replay what the topics still hold"),
) -> None:
    """Live, readable view of the events routed to one unit (Ctrl-C to stop)."""
    from vigie.clients.force import follow_unit

    async def main() -> None:
        async for routed in follow_unit(get_settings().bootstrap_servers, unit,
                                        from_beginning=from_beginning):
            event, enrichment, decision = routed.event, routed.enrichment, routed.decision
            lane = "[bold red]ALERTE[/bold red]" if decision.lane.value == "ALERT" else "incident"
            place = enrichment.commune.name if enrichment.commune else "lieu inconnu"
            site = enrichment.site.residence_name if enrichment.site else ""
            qpv = f" QPV {enrichment.qpv_name}" if enrichment.qpv_name else ""
            flag = "" if event.status.value == "ACTUAL" else f" [{event.status.value}]"
            console.print(
                f"{routed.routed_at:%H:%M:%S} {lane}{flag} {event.category.value} "
                f"{event.message_type.value} — {place} {site}{qpv} — {event.partner_id} "
                f"— {event.event_id}\n    {event.description or ''}"
            )

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def ack(
    event_id: str = typer.Argument(..., help="the event id, as routed to the unit"),
    status: ForceStatus = typer.Argument(..., help="TAKEN_IN_CHARGE, PATROL_DISPATCHED, …"),
    unit: str = typer.Option(..., "--unit", help="your unit id"),
    to_force: Force | None = typer.Option(None, help="target force of a TRANSFER_REQUESTED"),
) -> None:
    """Send a unit's status about an event routed to it; the partner is told."""
    from vigie.clients.force import status_record
    from vigie.simulation.publisher import publish_records

    record = status_record(unit, event_id, status, transfer_to_force=to_force)
    asyncio.run(publish_records(get_settings().bootstrap_servers, [record]))
    console.print(f"{status.value} envoyé pour {event_id} par {unit}")

"""``vigie unit unavailable|available``: declare a unit out of service until a time, or back.

Why a command and a compacted topic (``ref.availability.v1``, keyed by unit): a brigade
called away to a major incident, a station whose systems are down, must stop receiving new
events at once, on every worker, and start again as simply; the latest declaration per unit
is the truth, and a worker that starts reads it like any other reference data. While it
lasts, new events go to the unit's fallback (docs/routing.md); events already routed stay
where they are (the escalation timer still watches the alerts).

Operations publish it with their login (the workers may only read the topic); a unit asks
them, since Kafka cannot restrict a shared topic by key.
"""

from __future__ import annotations

import asyncio
import getpass
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.text import Text

from vigie.cli.errors import kafka_failures
from vigie.contracts.models import UNIT_ID_PATTERN, UnitAvailability
from vigie.settings import Settings, get_settings
from vigie.terminal import safe_text

unit_app = typer.Typer(
    help="Disponibilité des unités : déclarer une unité indisponible jusqu'à une heure, ou de "
    "nouveau disponible.",
    no_args_is_help=True,
)
console = Console()

#: Times given without an offset are read as the time of Oise, where the operators are.
LOCAL_ZONE = ZoneInfo("Europe/Paris")
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_until(text: str, now: datetime) -> datetime:
    """An instant from ``2026-11-29T06:00+01:00``, ``2026-11-29T06:00`` (Paris time) or a
    duration from now (``90m``, ``2h``, ``1d``)."""
    match = _DURATION.match(text.strip())
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            "expected an ISO 8601 time (2026-11-29T06:00+01:00) or a duration (90m, 2h, 1d)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=LOCAL_ZONE)


def _declarer(settings: Settings, by: str | None) -> str:
    if by:
        return by
    if settings.sasl_username:
        return settings.sasl_username
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container: still say something
        return "operations"


def _check_unit(unit: str) -> None:
    if not re.match(UNIT_ID_PATTERN, unit):
        raise typer.BadParameter(f"identifiant d'unité invalide : {unit!r}", param_hint="--unit")
    from vigie.reference.units import load_units_file

    if unit not in {u.unit_id for u in load_units_file().units}:
        console.print(Text.assemble(
            ("attention : ", "yellow"), safe_text(unit),
            " n'est pas une unité livrée (seules les unités de ref.units.v1 la connaissent)"))


def _publish(record: UnitAvailability) -> None:
    from vigie.kafka.publish import publish_reference

    settings = get_settings()
    with kafka_failures(settings):
        asyncio.run(publish_reference(settings, availability=[record]))


@unit_app.command("unavailable")
def unavailable(
    unit: str = typer.Option(..., "--unit", help="identifiant de l'unité, ex. gn-bt-meru"),
    until: str = typer.Option(..., "--until", help="heure ISO (Paris sans décalage) ou 90m/2h/1d"),
    reason: str | None = typer.Option(None, help="motif court (exploitation)"),
    by: str | None = typer.Option(None, help="qui le déclare (défaut : le login)"),
) -> None:
    """Les nouveaux événements de l'unité vont à son unité de repli jusqu'à l'heure donnée."""
    _check_unit(unit)
    now = datetime.now(UTC)
    end = parse_until(until, now)
    if end <= now:
        raise typer.BadParameter("the time is already past", param_hint="--until")
    record = UnitAvailability(unit_id=unit, unavailable_until=end.astimezone(UTC),
                              declared_at=now, declared_by=_declarer(get_settings(), by),
                              reason=reason)
    _publish(record)
    console.print(Text.assemble(
        safe_text(unit), " indisponible jusqu'au ",
        f"{end.astimezone(LOCAL_ZONE):%Y-%m-%d %H:%M %Z}",
        " : les nouveaux événements vont à son unité de repli."))


@unit_app.command("available")
def available(
    unit: str = typer.Option(..., "--unit", help="identifiant de l'unité, ex. gn-bt-meru"),
    by: str | None = typer.Option(None, help="qui le déclare (défaut : le login)"),
) -> None:
    """L'unité reçoit de nouveau ses événements (fin immédiate d'une indisponibilité)."""
    _check_unit(unit)
    record = UnitAvailability(unit_id=unit, unavailable_until=None, declared_at=datetime.now(UTC),
                              declared_by=_declarer(get_settings(), by))
    _publish(record)
    console.print(Text.assemble(safe_text(unit), " de nouveau disponible."))

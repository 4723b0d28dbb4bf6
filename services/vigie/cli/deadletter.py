"""``vigie deadletter list|replay``: dead-letter triage for operations (run as the
administrator: only it may read ``vigie.deadletter.v1`` and write the partners' topics).

``list`` shows, per dead letter, its reason code and fixed reason, the stage, the source
coordinates (topic, partition, offset), the event id when one was recovered, the payload's
size and digest: never the payload, which is partner free text (docs/operations.md).
``replay <partition>:<offset>`` re-publishes the original bytes to the source topic, after
the operator confirms (or ``--yes``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigie.cli.errors import errors, kafka_failures
from vigie.kafka.deadletters import (
    Entry,
    ReplayError,
    fetch_dead_letter,
    read_dead_letters,
    replay,
)
from vigie.settings import get_settings
from vigie.terminal import safe_text

deadletter_app = typer.Typer(
    help="Lettres mortes (vigie.deadletter.v1) : les lister, en republier une.",
    no_args_is_help=True,
)
console = Console()


def _row(entry: Entry) -> list[Text]:
    letter = entry.letter
    if letter is None:
        return [Text(entry.ref), Text("illisible", style="red")] + [Text("")] * 6
    source = letter.source
    size = f"{letter.payload_size if letter.payload_size is not None else len(letter.payload)}"
    if letter.payload_truncated:
        size += " (tronqué)"
    return [
        Text(entry.ref),
        Text(letter.failed_at.isoformat(timespec="seconds")),
        safe_text(letter.stage),
        safe_text(letter.reason_code, "bold"),
        safe_text(letter.reason),
        safe_text(f"{source.topic}[{source.partition}]@{source.offset}"),
        safe_text(letter.event_id or "—"),
        Text(f"{size} o, sha256 {(letter.payload_sha256 or '')[:12]}"),
    ]


@deadletter_app.command("list")
def list_command(
    reason: str | None = typer.Option(None, "--reason", help="Code de motif (ex. UNDECODABLE)"),
    topic: str | None = typer.Option(None, "--topic", help="Topic d'origine"),
    since: datetime | None = typer.Option(None, "--since", help="Depuis (ISO 8601)"),
    last: int = typer.Option(50, "--last", help="Les N plus récentes"),
) -> None:
    """Lister les lettres mortes : motif, origine, identifiant ; jamais le contenu."""
    settings = get_settings()
    with kafka_failures(settings):
        entries = asyncio.run(read_dead_letters(settings, since=since, reason=reason,
                                                source_topic=topic))
    if not entries:
        console.print("Aucune lettre morte.")
        return
    table = Table("réf.", "échec", "étape", "code", "motif", "origine", "événement", "contenu",
                  title=f"{len(entries)} lettre(s) morte(s)"
                  + (f", les {last} dernières" if len(entries) > last else ""))
    for entry in entries[-last:]:
        table.add_row(*_row(entry))
    console.print(table)
    console.print("Republier : vigie deadletter replay <réf.> (contenu d'origine, vers son "
                  "topic d'origine).")


@deadletter_app.command("replay")
def replay_command(
    ref: str = typer.Argument(..., help="<partition>:<offset> (colonne réf. de list)"),
    yes: bool = typer.Option(False, "--yes", help="Sans demander de confirmation"),
) -> None:
    """Republier le contenu d'origine d'une lettre morte sur son topic d'origine."""
    try:
        partition, offset = (int(part) for part in ref.split(":"))
    except ValueError:
        raise typer.BadParameter("attendu <partition>:<offset>, par exemple 0:42") from None
    settings = get_settings()
    try:
        with kafka_failures(settings):
            entry = asyncio.run(fetch_dead_letter(settings, partition, offset))
            letter = entry.letter
            assert letter is not None
            console.print(Text.assemble(
                "Lettre morte ", (entry.ref, "bold"), " : ", safe_text(letter.reason_code),
                " — origine ", safe_text(f"{letter.source.topic}[{letter.source.partition}]"
                                         f"@{letter.source.offset}")))
            if not yes and not typer.confirm("Republier son contenu d'origine sur ce topic ?"):
                raise typer.Exit(1)
            landed = asyncio.run(replay(settings, entry))
    except ReplayError as exc:
        errors.print(Text.assemble(("Erreur : ", "bold red"), safe_text(str(exc))))
        raise typer.Exit(2) from exc
    console.print(Text(f"Republiée : {landed.topic}[{landed.partition}]@{landed.offset}"))

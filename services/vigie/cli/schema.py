"""``vigie schema ...`` (contract checks) and ``vigie decode`` (read one binary message).

``schema check`` is the CI gate for any change under ``schemas/avro``; ``decode`` is for
operations: a dead-lettered payload or a captured Kafka value, shown as JSON. Decoded
content may hold personal data: print it to a terminal, do not paste it into tickets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigie.contracts.codec import SINGLE_OBJECT_MARKER, DecodeError, codec_for
from vigie.contracts.evolution import check_all
from vigie.contracts.mapping import to_jsonable
from vigie.contracts.schemas import MODEL_OF_MESSAGE, SchemaLoadError, get_registry
from vigie.terminal import safe_json, safe_text

schema_app = typer.Typer(
    help="Contrats Avro : lister les versions, vérifier l'évolution FULL_TRANSITIVE.",
    no_args_is_help=True,
)


@schema_app.command("check")
def check() -> None:
    """Vérifier chaque schéma : lisible, documenté, FULL_TRANSITIVE, conforme à son modèle."""
    console = Console()
    try:
        registry = get_registry()
        problems = check_all(registry)
    except SchemaLoadError as exc:
        console.print(f"[red]schémas illisibles :[/red] {exc}")
        raise typer.Exit(1) from None
    table = Table(title=f"Contrats Avro ({registry.root})")
    table.add_column("message")
    table.add_column("versions")
    table.add_column("empreinte de la dernière")
    table.add_column("résultat")
    for message in registry.messages():
        versions = registry.versions(message)
        mine = [p for p in problems if p.message == message]
        result = "[green]ok[/green]" if not mine else f"[red]{len(mine)} problème(s)[/red]"
        table.add_row(
            message,
            ", ".join(f"v{v.version}" for v in versions),
            versions[-1].fingerprint_hex,
            result,
        )
    console.print(table)
    if problems:
        detail = Table(title="Problèmes")
        for column in ("message", "contrôle", "détail"):
            detail.add_column(column)
        for p in problems:
            detail.add_row(p.message, p.check, p.detail)
        console.print(detail)
        raise typer.Exit(1)
    console.print("[green]tous les schémas sont compatibles FULL_TRANSITIVE[/green]")


@schema_app.command("list")
def list_versions() -> None:
    """Chaque version de chaque message avec son empreinte CRC-64-AVRO (telle que sur le
    réseau)."""
    table = Table(title="Versions des schémas")
    for column in ("message", "version", "record", "empreinte (hex LE)"):
        table.add_column(column)
    for v in get_registry():
        table.add_row(v.message, f"v{v.version}", v.full_name, v.fingerprint_hex)
    Console().print(table)


def decode_command(
    file: str = typer.Argument(..., help="fichier binaire, ou - pour stdin."),
) -> None:
    """Afficher un message binaire de Vigie (Avro single-object) en JSON."""
    err = Console(stderr=True)
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        err.print(Text.assemble(("lecture impossible de ", "red"), safe_text(file, style="red"),
                                (":", "red"), f" {exc.strerror}"))
        raise typer.Exit(1) from None
    if data[:2] != SINGLE_OBJECT_MARKER or len(data) < 10:
        err.print("[red]pas un message Vigie :[/red] pas d'en-tête Avro single-object "
                  "(C3 01 + 8 octets)")
        raise typer.Exit(1)
    version = get_registry().find_fingerprint(data[2:10])
    if version is None:
        err.print(f"[red]empreinte de schéma inconnue[/red] {data[2:10].hex()}")
        raise typer.Exit(1)
    codec = codec_for(MODEL_OF_MESSAGE[version.message])
    try:
        model = codec.decode(data)
    except DecodeError as exc:
        err.print(Text.assemble((f"{version.message} v{version.version}:", "red"),
                                " ", safe_text(f"{exc.reason}: {exc.detail}")))
        raise typer.Exit(1) from None
    out = {
        "message": version.message,
        "writer_version": version.version,
        "reader_version": codec.latest.version,
        "value": to_jsonable(model),
    }
    # The partner's free text is in there: controls and bidi characters leave as \uXXXX.
    sys.stdout.write(safe_json(json.dumps(out, indent=2, ensure_ascii=False)) + "\n")

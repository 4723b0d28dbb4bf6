"""``vigie gateway``: the HTTPS gateway for partners without Kafka (docs/gateway.md).

``vigie gateway`` serves; ``vigie gateway credentials <partner>`` makes a partner's client
secret (and webhook secret); ``vigie gateway openapi`` prints the API's OpenAPI document.
"""

from __future__ import annotations

import asyncio
import json
import logging.config
from pathlib import Path

import typer
from rich.console import Console

from vigie.cli.errors import kafka_failures
from vigie.settings import get_settings

gateway_app = typer.Typer(help="La passerelle HTTPS des bailleurs (docs/gateway.md).",
                          invoke_without_command=True)
console = Console()
errors = Console(stderr=True)


@gateway_app.callback()
def gateway(
    ctx: typer.Context,
    port: int = typer.Option(None, help="port (défaut : VIGIE_GATEWAY_PORT)"),
    loglevel: str = typer.Option("info", help="niveau de journalisation"),
) -> None:
    """Sert la passerelle : POST /v1/events, GET /v1/events/{id}, webhooks."""
    if ctx.invoked_subcommand is not None:
        return
    from vigie.gateway.partners import PartnersFileError, load_partners
    from vigie.gateway.server import serve
    from vigie.gateway.settings import GatewaySettings
    from vigie.logging_setup import logging_config

    logging.config.dictConfig(logging_config(loglevel))
    config = GatewaySettings()
    if port is not None:
        config = config.model_copy(update={"port": port})
    try:
        partners = load_partners(config.partners_file)
    except PartnersFileError as exc:
        errors.print(f"Erreur : {exc}")
        raise typer.Exit(2) from None
    settings = get_settings()
    with kafka_failures(settings):
        asyncio.run(serve(settings, config, partners, loglevel=loglevel))


@gateway_app.command("credentials")
def credentials(
    partner: str = typer.Argument(..., help="identifiant du bailleur (ex. opac-oise)"),
    webhook_url: str = typer.Option(None, help="URL où POSTer ses accusés de réception"),
) -> None:
    """Crée (ou remplace) le secret client d'un bailleur : affiché une fois, seule son
    empreinte est conservée."""
    from vigie.gateway.partners import (
        GatewayPartners,
        PartnersFileError,
        load_partners,
        new_credentials,
        save_partners,
    )
    from vigie.gateway.settings import GatewaySettings

    path = GatewaySettings().partners_file
    try:
        registry = load_partners(path)
    except PartnersFileError:
        if path.exists():
            raise
        registry = GatewayPartners()
    try:
        entry, client_secret, webhook_secret = new_credentials(partner, webhook_url)
    except ValueError as exc:
        errors.print("Erreur : identifiant de bailleur ou URL invalide.")
        raise typer.Exit(2) from exc
    save_partners(path, registry.with_partner(entry))
    console.print(f"Bailleur [bold]{partner}[/bold] enregistré dans {path}")
    console.print(f"client_id={partner}")
    console.print(f"client_secret={client_secret}", soft_wrap=True)
    if webhook_secret:
        console.print(f"webhook_secret={webhook_secret}", soft_wrap=True)
    console.print("Ces secrets ne seront plus affichés.")


@gateway_app.command("openapi")
def openapi(out: Path = typer.Option(None, help="fichier à écrire (défaut : la sortie)")) -> None:
    """Affiche le document OpenAPI que sert la passerelle (schemas/openapi/gateway.json)."""
    from vigie.gateway.openapi import document

    text = json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")

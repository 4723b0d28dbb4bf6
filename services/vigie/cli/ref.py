"""``vigie ref load``: publish reference data to their compacted topics (no restart needed).

``rules`` are the routing rules of the units (service hours, fallbacks, overflow limits;
format of ``services/vigie/reference/data/rules-oise.json``, see docs/routing.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from vigie.cli.errors import kafka_failures
from vigie.settings import get_settings
from vigie.terminal import safe_text

ref_app = typer.Typer(help="Données de référence : sites, unités, compétence, règles.")
console = Console()


class Kind(StrEnum):
    sites = "sites"
    units = "units"
    competence = "competence"
    rules = "rules"


@ref_app.callback()
def _group() -> None:
    """Données de référence : sites, unités, compétence, règles d'acheminement."""


@ref_app.command("load")
def load(
    kind: Kind = typer.Argument(
        ..., help="sites (JSON), unités (JSON), compétence (CSV) ou règles (JSON)"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    departement: str = typer.Option("60", help="compétence : garder ce département"),
    effective_from: str = typer.Option(
        None, help="compétence : premier jour d'application de la table (AAAA-MM-JJ ; défaut : "
        "aujourd'hui)"
    ),
) -> None:
    """Publier un fichier de référence ; les workers l'appliquent dès l'événement suivant."""
    from vigie.kafka.publish import publish_reference
    from vigie.reference.competence import import_competence_csv
    from vigie.reference.rules import RuleTable, check_rules, load_rules_file
    from vigie.reference.sites import load_sites_file
    from vigie.reference.units import load_units_file

    records: dict[str, Sequence[Any]]  # publish_reference's keyword for this kind
    if kind is Kind.sites:
        records = {"sites": load_sites_file(file)}
    elif kind is Kind.units:
        records = {"units": load_units_file(file).units}
    elif kind is Kind.rules:
        try:
            rules = load_rules_file(file)
        except (ValueError, KeyError) as exc:  # JSON or model errors: the file's fault
            console.print(safe_text(f"{file} : fichier de règles invalide : {exc}", style="red"))
            raise typer.Exit(2) from None
        # Against the shipped units: a rule for a unit the workers do not know is ignored by
        # the policy, a fallback to one is never taken; say so before publishing.
        shipped = load_units_file().units
        table = RuleTable.from_records(rules.records)
        for warning in check_rules(table, (u.unit_id for u in shipped)):
            console.print(safe_text(warning, style="yellow"))
        console.print(f"version {rules.version}")
        records = {"rules": rules.records}
    else:
        start = date.fromisoformat(effective_from) if effective_from else date.today()
        imported = import_competence_csv(file, departement=departement, effective_from=start)
        for warning in imported.warnings:
            console.print(safe_text(warning, style="yellow"))  # quotes the file's cells
        records = {"competence": imported.records}
    settings = get_settings()
    with kafka_failures(settings):
        count = asyncio.run(publish_reference(settings, **records))
    console.print(f"{count} enregistrement(s) publié(s) ({kind.value})")

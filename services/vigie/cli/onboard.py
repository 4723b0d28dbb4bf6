"""``vigie onboard partner|unit ID`` and ``vigie offboard partner|unit ID``: give a landlord
or a unit its access to a running cluster, or take it away, and record it in the registry of
participants.

Why a command: a partner's access is five things (topics, login, ACLs, the workers' ACLs on
its topics, quotas) that must agree with one another and with the registry the workers and
the manifests are built from; done by hand, one is forgotten. Run as the administrator
(``VIGIE_SASL_USERNAME`` = the admin login). The password is written to a file readable by
its owner only, never printed: it goes to the partner through a secure channel.
On Kubernetes, Strimzi's operators own logins and topics: edit the registry with
``--registry-only``, then ``vigie deploy render`` and apply (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from vigie.broker.secure import ClientConfig, SecureBroker
from vigie.cli.errors import errors, kafka_failures
from vigie.kafka import onboarding
from vigie.kafka.acl import AclError
from vigie.kafka.logins import LoginError, new_password
from vigie.kafka.quotas import QuotaError
from vigie.reference.participants import (
    Kind,
    Participant,
    Registry,
    load_registry,
    save_registry,
)
from vigie.settings import Settings, get_settings
from vigie.terminal import safe_text

onboard_app = typer.Typer(
    help="Inscrire un bailleur ou une unité : topics, login SCRAM, ACL, quotas, registre.",
    no_args_is_help=True,
)
offboard_app = typer.Typer(
    help="Retirer l'accès d'un bailleur ou d'une unité (les données sont conservées).",
    no_args_is_help=True,
)
console = Console()

_WHAT = {"partner": "le bailleur", "unit": "l'unité"}
_OF = {"partner": "du bailleur", "unit": "de l'unité"}

RegistryOnly = typer.Option(
    False, "--registry-only",
    help="Modifier le registre seulement (Kubernetes : Strimzi crée l'accès, voir deploy render)",
)


def _fail(message: str) -> typer.Exit:
    errors.print(Text.assemble(("Erreur : ", "bold red"), safe_text(message)), soft_wrap=True)
    return typer.Exit(2)


def _registry(settings: Settings) -> Registry:
    try:
        return load_registry(settings.registry_file)
    except (OSError, ValueError) as exc:
        raise _fail(f"registre illisible ({settings.registry_file}) : {exc}") from exc


def _participant(participant_id: str, name: str | None) -> Participant:
    try:
        return Participant(id=participant_id, name=name)
    except ValidationError as exc:
        raise _fail(
            f"identifiant invalide {participant_id!r} : minuscules, chiffres et tirets, "
            "60 caractères au plus (il nomme des topics Kafka)"
        ) from exc


def _require_secured(settings: Settings) -> None:
    if not settings.security_protocol.startswith("SASL") or not settings.sasl_username:
        raise _fail(
            "l'inscription se fait sur un cluster sécurisé, avec le login administrateur "
            "(VIGIE_SECURITY_PROTOCOL=SASL_SSL, VIGIE_SASL_USERNAME, VIGIE_SASL_PASSWORD)"
        )


def write_credentials(folder: Path, config: ClientConfig) -> Path:
    """The new login's Java client properties (the password included), owner-only."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{config.username}.properties"
    text = f"bootstrap.servers={config.bootstrap}\n{config.java_properties()}"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def _local_broker(settings: Settings) -> SecureBroker | None:
    """The local secure broker these settings point at, if any (its credentials file then
    learns the new login, so ``vigie broker client-config`` can print it)."""
    broker = SecureBroker(settings)
    if broker.credentials_file.exists() and broker.bootstrap == settings.bootstrap_servers:
        return broker
    return None


def _onboard(kind: Kind, participant_id: str, name: str | None, rotate: bool,
             registry_only: bool, credentials_dir: Path | None, bootstrap: str | None) -> None:
    settings = get_settings()
    registry = _registry(settings)
    participant = _participant(participant_id, name)
    known = registry.entry(kind, participant_id)
    if known is not None and not rotate and not registry_only:
        raise _fail(
            f"{_WHAT[kind]} {participant_id} est déjà inscrit(e) ; --rotate-password lui donne "
            "un nouveau mot de passe et réapplique ses accès"
        )
    entry = participant if known is None or name else known
    registry = registry.with_participant(kind, entry)
    console.print(Text(f"Inscription {_OF[kind]} {participant_id}", style="bold"))
    if not registry_only:
        _require_secured(settings)
        password = new_password()
        with kafka_failures(settings):
            try:
                done = asyncio.run(
                    onboarding.onboard(settings, registry, kind, participant_id, password))
            except (AclError, LoginError, QuotaError) as exc:
                raise _fail(f"le cluster a refusé : {exc}") from exc
        created = ", ".join(done.topics_created) or "aucun (ils existaient)"
        console.print(Text(f"  topics créés : {created}"))
        console.print(Text(f"  ACL : {done.acls} règles appliquées (les siennes et celles "
                           "des workers" + (" et de la passerelle" if kind == "partner" else "")
                           + " sur ses topics)"))
        limits = ", ".join(f"{k}={int(v)}" for k, v in done.quotas.kafka().items())
        console.print(Text(f"  quotas : {limits}"))
        config = ClientConfig(bootstrap or settings.bootstrap_servers, done.login, password,
                              settings.ssl_cafile or Path("ca.pem"))
        folder = credentials_dir or settings.state_dir / "onboarding"
        path = write_credentials(folder, config)
        console.print(Text(f"  login SCRAM : {done.login} ; mot de passe dans {path} "
                           "(lisible par vous seul, à transmettre par un canal sûr)"))
        local = _local_broker(settings)
        if local is not None:
            local.remember_login(done.login, password)
    save_registry(registry, settings.registry_file)
    console.print(Text(f"  registre : {settings.registry_file} mis à jour"))
    if kind == "partner":
        console.print(Text("  Les workers lisent ses topics à leur prochain démarrage "
                           "(kubectl -n vigie rollout restart deploy/vigie-worker)."))
    else:
        console.print(Text("  Pour lui router des événements, déclarez aussi l'unité dans les "
                           "données de référence (ref.units.v1, compétence, règles)."))


def _offboard(kind: Kind, participant_id: str, registry_only: bool) -> None:
    settings = get_settings()
    registry = _registry(settings)
    if registry.entry(kind, participant_id) is None:
        raise _fail(f"{_WHAT[kind]} {participant_id} n'est pas dans le registre "
                    f"({settings.registry_file})")
    console.print(Text(f"Retrait {_OF[kind]} {participant_id}", style="bold"))
    if not registry_only:
        _require_secured(settings)
        with kafka_failures(settings):
            try:
                done = asyncio.run(onboarding.offboard(settings, kind, participant_id))
            except (AclError, LoginError, QuotaError) as exc:
                raise _fail(f"le cluster a refusé : {exc}") from exc
        console.print(Text(f"  ACL retirées : {done.acls_removed} ; login {done.login} "
                           + ("supprimé" if done.login_deleted else "déjà absent")
                           + " ; quotas retirés"))
        local = _local_broker(settings)
        if local is not None:
            local.forget_login(done.login)
    save_registry(registry.without_participant(kind, participant_id), settings.registry_file)
    console.print(Text(f"  registre : {settings.registry_file} mis à jour"))
    console.print(Text("  Données conservées : ses topics restent jusqu'à la fin de leur "
                       "rétention (7 jours pour les événements, 30 pour les accusés)."))


def _commands(kind: Literal["partner", "unit"]) -> None:
    label = "Bailleur" if kind == "partner" else "Unité"

    @onboard_app.command(kind, help=f"{label} : créer topics, login, ACL et quotas ; l'inscrire "
                                    "au registre.")
    def onboard_one(
        participant_id: str = typer.Argument(..., metavar="ID"),
        name: str | None = typer.Option(None, "--name", help="Nom affiché (registre)"),
        rotate: bool = typer.Option(False, "--rotate-password",
                                    help="Déjà inscrit : nouveau mot de passe, accès réappliqués"),
        registry_only: bool = RegistryOnly,
        credentials_dir: Path | None = typer.Option(
            None, "--credentials-dir", help="Dossier du fichier de connexion (défaut : "
            "<state>/onboarding)"),
        bootstrap: str | None = typer.Option(
            None, "--bootstrap", help="Adresse que le participant utilisera (écoute externe)"),
    ) -> None:
        _onboard(kind, participant_id, name, rotate, registry_only, credentials_dir, bootstrap)

    @offboard_app.command(kind, help=f"{label} : retirer ACL, login et quotas ; le retirer du "
                                     "registre (données conservées).")
    def offboard_one(
        participant_id: str = typer.Argument(..., metavar="ID"),
        registry_only: bool = RegistryOnly,
    ) -> None:
        _offboard(kind, participant_id, registry_only)


_commands("partner")
_commands("unit")

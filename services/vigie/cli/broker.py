"""``vigie broker``: the local Kafka node used by `make run` and the tests."""

from __future__ import annotations

import shlex

import typer
from rich.console import Console

from vigie.broker.local import BrokerError, LocalBroker
from vigie.broker.secure import SecureBroker
from vigie.settings import get_settings

broker_app = typer.Typer(help="Fetch, start, stop and inspect the local Kafka broker.")
console = Console()


def _broker(secure: bool = False) -> LocalBroker:
    return SecureBroker(get_settings()) if secure else LocalBroker(get_settings())


def _running() -> LocalBroker | None:
    """Whichever broker (plaintext or secure: separate state folders) has a live pid."""
    for secure in (False, True):
        broker = _broker(secure)
        if broker.pid() is not None:
            return broker
    return None


@broker_app.command()
def fetch() -> None:
    """Download the Kafka jars from Maven Central (once; cached)."""
    try:
        path = _broker().fetch()
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Kafka jars in {path}")


@broker_app.command()
def start(
    secure: bool = typer.Option(
        False, "--secure",
        help="SASL_SSL (SCRAM-SHA-512) listener, one login per partner/unit/worker, "
        "deny-by-default ACLs (docs/security.md).",
    ),
) -> None:
    """Start the broker in the background and wait until it answers."""
    broker = _broker(secure)
    try:
        pid = broker.start()
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Kafka running on {broker.bootstrap} (pid {pid}, state {broker.state_dir})")
    if isinstance(broker, SecureBroker):
        console.print(
            f"SASL_SSL/SCRAM-SHA-512; CA {broker.ca_file}; passwords in "
            f"{broker.credentials_file}; `vigie broker client-config <principal>` prints one."
        )


@broker_app.command()
def stop() -> None:
    """Stop the broker (controlled shutdown); data stay in the state folder."""
    broker = _running()
    stopped = broker is not None and broker.stop()
    console.print("Kafka stopped" if stopped else "Kafka was not running")


@broker_app.command()
def status() -> None:
    """Say whether the broker runs; exit code 1 when it does not."""
    broker = _running()
    pid = broker.pid() if broker is not None else None
    if broker is None or pid is None:
        console.print("Kafka is not running")
        raise typer.Exit(1)
    mode = "secure, SASL_SSL" if isinstance(broker, SecureBroker) else "plaintext"
    console.print(
        f"Kafka running on {broker.bootstrap} ({mode}; pid {pid}, state {broker.state_dir})"
    )


@broker_app.command("client-config")
def client_config(
    principal: str = typer.Argument(
        ..., help="admin, vigie-worker, partner-<id> or unit-<id>"
    ),
    java: bool = typer.Option(False, "--java", help="Java client properties instead of librdkafka"),
    env: bool = typer.Option(
        False, "--env", help="shell exports of VIGIE_* (log Vigie's own tools in as it)"
    ),
) -> None:
    """Print one principal's connection settings for the secure broker (contains a password)."""
    broker = SecureBroker(get_settings())
    try:
        config = broker.client_config(principal)
    except KeyError as exc:
        console.print(f"[red]unknown principal {principal!r} (start the secure broker first)[/red]")
        raise typer.Exit(1) from exc
    if java:
        typer.echo(config.java_properties(), nl=False)
    elif env:  # eval "$(vigie broker client-config partner-opac-oise --env)"
        for key, value in config.environment().items():
            typer.echo(f"export {key}={shlex.quote(value)}")
    else:
        for key, value in config.librdkafka().items():
            typer.echo(f"{key}={value}")

"""``vigie broker``: the local Kafka node used by `make run` and the tests."""

from __future__ import annotations

import typer
from rich.console import Console

from vigie.broker.local import BrokerError, LocalBroker
from vigie.settings import get_settings

broker_app = typer.Typer(help="Fetch, start, stop and inspect the local Kafka broker.")
console = Console()


def _broker() -> LocalBroker:
    return LocalBroker(get_settings())


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
def start() -> None:
    """Start the broker in the background and wait until it answers."""
    broker = _broker()
    try:
        pid = broker.start()
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Kafka running on {broker.bootstrap} (pid {pid}, state {broker.state_dir})")


@broker_app.command()
def stop() -> None:
    """Stop the broker (controlled shutdown); data stay in the state folder."""
    stopped = _broker().stop()
    console.print("Kafka stopped" if stopped else "Kafka was not running")


@broker_app.command()
def status() -> None:
    """Say whether the broker runs; exit code 1 when it does not."""
    broker = _broker()
    pid = broker.pid()
    if pid is None:
        console.print("Kafka is not running")
        raise typer.Exit(1)
    console.print(f"Kafka running on {broker.bootstrap} (pid {pid}, state {broker.state_dir})")

"""``vigie run`` (what ``make run`` calls): broker, worker, follow-up store, the partners'
HTTP gateway (``vigie gateway``, local credentials for the configured partners), demo feed,
console.

Ctrl-C stops the feed, the gateway, the worker, the follow-up sink and — if this command
started them — the broker and the local PostgreSQL, leaving no process behind. With
``VIGIE_DATABASE_URL`` set, the sink writes there and no local PostgreSQL is started.
Everything runs on loopback. With ``VIGIE_SECURITY_PROTOCOL=SASL_SSL``
the broker is the secure one (``vigie broker start --secure``) and every client — the
worker, the demo feed, the console — logs in as ``VIGIE_SASL_USERNAME``: the demo writes
every partner's topics and reads every unit's, so only the admin's login can run it.
"""

from __future__ import annotations

import asyncio
import signal

import typer
from rich.console import Console

from vigie.broker.local import BrokerError, LocalBroker
from vigie.broker.secure import SecureBroker
from vigie.cli.errors import kafka_failures
from vigie.db import database_url, migrate
from vigie.db.local import DatabaseError, LocalPostgres
from vigie.gateway.launcher import GatewayNotReady, GatewayProcess
from vigie.gateway.partners import local_credentials
from vigie.gateway.settings import GatewaySettings
from vigie.settings import Settings, get_settings
from vigie.simulation.feed import new_seed
from vigie.terminal import safe_text
from vigie.workers.http import WorkerNotReady
from vigie.workers.launcher import FollowUpProcess, WorkerProcess

console = Console()


async def _demo(settings: Settings, rate: float, seed: int, metrics_url: str) -> None:
    from vigie.console import watch
    from vigie.kafka.publish import publish_at_rate, publish_reference
    from vigie.reference.sites import load_sample_sites
    from vigie.reference.snapshot import ReferenceStore
    from vigie.simulation.feed import live_feed

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sites = load_sample_sites()
    await publish_reference(settings, sites=sites)
    units = sorted(ReferenceStore.with_defaults().snapshot().units)
    feed = asyncio.create_task(
        publish_at_rate(settings, live_feed(sites, seed=seed), rate, stop=stop)
    )
    try:
        await watch(settings, units, metrics_url, stop)
    finally:
        stop.set()
        await feed


def _history(settings: Settings, weeks: int) -> None:
    """A newcomer's store is empty: give it half a year, so that the report and the hotspot
    notices have something to show (``vigie simulate --history``)."""
    from vigie.followup.backfill import backfill
    from vigie.followup.store import holds_facts

    url = database_url(settings)
    if asyncio.run(holds_facts(url)):
        return
    with console.status(f"Historique de {weeks} semaines et passes de prévention…"), \
            kafka_failures(settings):
        done = asyncio.run(backfill(settings, url, weeks))
    console.print(f"[green]Historique[/green] : {len(done.routed)} incidents ; avis de "
                  "prévention sur partner.<bailleur>.prevention.v1 et "
                  "force.<unité>.prevention.v1 ; `vigie report` pour le bilan")


def _start_gateway(gateway: GatewayProcess, settings: Settings) -> None:
    """The partners' HTTP gateway, with local credentials for the configured partners, and
    the two ``curl`` a landlord would type (README.md, docs/gateway.md)."""
    assert gateway.config is not None
    secrets = local_credentials(gateway.config.partners_file, list(settings.partners))
    with console.status("Démarrage de la passerelle HTTP des bailleurs…"):
        gateway.start()
    partner = settings.partners[0]
    console.print(f"[green]Passerelle[/green] : {gateway.url} (OpenAPI : {gateway.url}"
                  f"/openapi.json) ; journal : {gateway.log_path}")
    console.print(f"  bailleurs et secrets locaux : {gateway.config.partners_file.parent}")
    console.print(safe_text(
        f"  curl -s -u {partner}:{secrets[partner]} -d grant_type=client_credentials "
        f"{gateway.url}/v1/oauth/token"), soft_wrap=True)


def run(
    rate: float = typer.Option(2.0, help="demo events per second (0: no demo feed)"),
    seed: int = typer.Option(
        None, help="seed of the demo feed (default: a new one each run, so that event ids "
        "do not repeat those the broker already holds)"
    ),
    history_weeks: int = typer.Option(
        26, help="weeks of past incidents to backfill into an empty follow-up store, with "
        "their hotspot notices (0: none)"),
) -> None:
    """Start everything locally and show events being routed, live. Ctrl-C stops it all."""
    settings = get_settings()
    secure = settings.security_protocol != "PLAINTEXT"
    broker = SecureBroker(settings) if secure else LocalBroker(settings)
    started_broker = broker.pid() is None
    worker = WorkerProcess(settings, settings.state_dir / "logs" / "worker.log",
                           metrics_port=settings.metrics_port)
    sink = FollowUpProcess(settings, settings.state_dir / "logs" / "followup.log")
    gateway = GatewayProcess(settings, settings.state_dir / "logs" / "gateway.log",
                             config=GatewaySettings())
    database = None if settings.database_url is not None else LocalPostgres(settings)
    started_database = database is not None and not database.running()
    try:
        with console.status("Démarrage du broker Kafka local…"):
            broker.start()
        console.print(f"[green]Kafka[/green] sur {broker.bootstrap} (état : {broker.state_dir})")
        with console.status("Démarrage du worker Vigie…"):
            worker.start(timeout=120)
        console.print(f"[green]Worker[/green] prêt ; métriques : {worker.metrics_url} ; "
                      f"journal : {worker.log_path}")
        with console.status("Démarrage de PostgreSQL (base de suivi)…"):
            if database is not None:
                database.start()
            migrate.upgrade(database_url(settings))  # before the sink and the backfill read
        sink.start()
        where = (f"PostgreSQL 127.0.0.1:{database.port}, base vigie, vue event_facts"
                 if database is not None else "VIGIE_DATABASE_URL")
        console.print(f"[green]Suivi[/green] : {where} ; journal : {sink.log_path}")
        if history_weeks > 0:
            _history(settings, history_weeks)
        _start_gateway(gateway, settings)
        if rate > 0:
            console.print("Flux de démonstration en cours — Ctrl-C pour tout arrêter.")
            with kafka_failures(settings):
                asyncio.run(_demo(settings, rate, new_seed() if seed is None else seed,
                                  worker.metrics_url))
        else:
            console.print("Pas de flux de démonstration — Ctrl-C pour tout arrêter.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except (BrokerError, WorkerNotReady, DatabaseError, GatewayNotReady) as exc:
        for line in str(exc).splitlines():  # a worker's log tail: shown, not interpreted
            console.print(safe_text(line, style="red"))
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        pass
    finally:
        console.print("Arrêt…")
        gateway.stop(timeout=20)
        sink.stop(timeout=20)
        worker.stop(timeout=20)
        if started_database and database is not None:
            database.stop()
        if started_broker:
            broker.stop()
        console.print("Tout est arrêté.")

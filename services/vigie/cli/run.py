"""``vigie run`` (what ``make run`` calls): broker, worker, demo feed and live console.

Ctrl-C stops the feed, the worker and — if this command started it — the broker, leaving
no process behind. Everything runs on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console

from vigie.broker.local import BrokerError, LocalBroker
from vigie.settings import Settings, get_settings
from vigie.simulation.feed import new_seed
from vigie.workers.http import WorkerNotReady, wait_ready

console = Console()


def _start_worker(settings: Settings) -> tuple[subprocess.Popen[bytes], Path]:
    log = settings.state_dir / "logs" / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, VIGIE_PARTNERS=json.dumps(settings.partners))
    process = subprocess.Popen(
        [sys.executable, "-m", "vigie", "worker"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    return process, log


def _stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def _demo(settings: Settings, rate: float, seed: int, metrics_url: str) -> None:
    from vigie.console import watch
    from vigie.reference.sites import load_sample_sites
    from vigie.reference.snapshot import ReferenceStore
    from vigie.simulation.feed import live_feed
    from vigie.simulation.publisher import publish_feed, publish_reference

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sites = load_sample_sites()
    await publish_reference(settings.bootstrap_servers, sites=sites)
    units = sorted(ReferenceStore.with_defaults().snapshot().units)
    feed = asyncio.create_task(
        publish_feed(settings.bootstrap_servers, live_feed(sites, seed=seed), rate, stop)
    )
    try:
        await watch(settings.bootstrap_servers, settings.partners, units, metrics_url, stop)
    finally:
        stop.set()
        await feed


def run(
    rate: float = typer.Option(2.0, help="demo events per second (0: no demo feed)"),
    seed: int = typer.Option(
        None, help="seed of the demo feed (default: a new one each run, so that event ids "
        "do not repeat those the broker already holds)"
    ),
) -> None:
    """Start everything locally and show events being routed, live. Ctrl-C stops it all."""
    settings = get_settings()
    broker = LocalBroker(settings)
    started_broker = broker.pid() is None
    worker: subprocess.Popen[bytes] | None = None
    try:
        with console.status("Démarrage du broker Kafka local…"):
            broker.start()
        console.print(f"[green]Kafka[/green] sur {broker.bootstrap} (état : {broker.state_dir})")
        with console.status("Démarrage du worker Vigie…"):
            worker, log = _start_worker(settings)
            try:
                wait_ready(worker, settings.metrics_port, timeout=120)
            except WorkerNotReady as exc:
                raise RuntimeError(f"{exc}; see {log}") from exc
        metrics_url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
        console.print(f"[green]Worker[/green] prêt ; métriques : {metrics_url} ; journal : {log}")
        if rate > 0:
            console.print("Flux de démonstration en cours — Ctrl-C pour tout arrêter.")
            asyncio.run(_demo(settings, rate, new_seed() if seed is None else seed, metrics_url))
        else:
            console.print("Pas de flux de démonstration — Ctrl-C pour tout arrêter.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except (BrokerError, RuntimeError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        pass
    finally:
        console.print("Arrêt…")
        if worker is not None:
            _stop_process(worker)
        if started_broker:
            broker.stop()
        console.print("Tout est arrêté.")

"""``vigie broker``: the local Kafka node used by `make run` and the tests."""

from __future__ import annotations

import asyncio
import logging
import shlex

import typer
from rich.console import Console
from rich.table import Table

from vigie.broker.cluster import LocalCluster
from vigie.broker.local import BrokerError, LocalBroker
from vigie.broker.secure import SecureBroker
from vigie.kafka.cluster import ClusterView, describe
from vigie.settings import get_settings

broker_app = typer.Typer(help="Télécharger, démarrer, arrêter et inspecter le broker Kafka local.")
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
    """Télécharger les jars Kafka depuis Maven Central (une fois ; en cache)."""
    try:
        path = _broker().fetch()
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Jars Kafka dans {path}")


def _cluster() -> LocalCluster | None:
    """The local cluster, when one was ever started here (its layout file exists)."""
    cluster = LocalCluster(get_settings())
    return cluster if cluster.exists() else None


def _cluster_exports(cluster: LocalCluster) -> str:
    values = cluster.client_settings()
    return (f"export VIGIE_BOOTSTRAP_SERVERS={values.bootstrap_servers} "
            f"VIGIE_REPLICATION_FACTOR={values.replication_factor} "
            f"VIGIE_MIN_INSYNC_REPLICAS={values.min_insync_replicas}")


@broker_app.command()
def start(
    secure: bool = typer.Option(
        False, "--secure",
        help="écoute SASL_SSL (SCRAM-SHA-512), un login par bailleur/unité/worker, ACL "
        "refusant par défaut (docs/security.md).",
    ),
    nodes: int = typer.Option(
        1, "--nodes", min=1,
        help="1 : un broker. 3 (ou plus) : un cluster KRaft, chaque nœud broker et contrôleur, "
        "3 répliques et min.insync.replicas 2 (les réglages de production).",
    ),
) -> None:
    """Démarrer le broker (ou le cluster) en arrière-plan et attendre qu'il réponde."""
    if nodes > 1:
        _start_cluster(nodes, secure)
        return
    broker = _broker(secure)
    try:
        pid = broker.start()
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Kafka démarré sur {broker.bootstrap} (pid {pid}, état dans "
                  f"{broker.state_dir})")
    if isinstance(broker, SecureBroker):
        console.print(
            f"SASL_SSL/SCRAM-SHA-512 ; AC {broker.ca_file} ; mots de passe dans "
            f"{broker.credentials_file} ; `vigie broker client-config <principal>` en affiche "
            "la configuration d'un client."
        )


def _start_cluster(nodes: int, secure: bool) -> None:
    if secure:
        console.print("[red]--secure ne vaut que pour un broker seul (--nodes 1).[/red]")
        raise typer.Exit(2)
    try:
        cluster = LocalCluster(get_settings(), nodes)
        pids = cluster.start()
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    for node in cluster.nodes:
        console.print(f"nœud {node.node_id} : {node.bootstrap} (pid {pids[node.node_id]}, "
                      f"contrôleur 127.0.0.1:{node.settings.controller_port})")
    console.print(f"Cluster Kafka de {nodes} nœuds démarré (état dans {cluster.root}).")
    console.print(f"Pour y connecter Vigie : {_cluster_exports(cluster)}", soft_wrap=True)


@broker_app.command()
def stop() -> None:
    """Arrêter le broker ou le cluster (arrêt contrôlé) ; les données restent dans le dossier
    d'état."""
    cluster = _cluster()
    if cluster is not None and cluster.stop():
        console.print("Cluster Kafka arrêté")
        return
    broker = _running()
    stopped = broker is not None and broker.stop()
    console.print("Kafka arrêté" if stopped else "Kafka n'était pas démarré")


@broker_app.command()
def status() -> None:
    """Dire si le broker tourne (pour un cluster : chaque nœud, le contrôleur actif et les
    partitions sous-répliquées) ; code de sortie 1 sinon."""
    cluster = _cluster()
    if cluster is not None and any(cluster.pids().values()):
        _cluster_status(cluster)
        return
    broker = _running()
    pid = broker.pid() if broker is not None else None
    if broker is None or pid is None:
        console.print("Kafka n'est pas démarré")
        raise typer.Exit(1)
    mode = "sécurisé, SASL_SSL" if isinstance(broker, SecureBroker) else "en clair"
    console.print(
        f"Kafka démarré sur {broker.bootstrap} ({mode} ; pid {pid}, état dans "
        f"{broker.state_dir})"
    )


def _cluster_status(cluster: LocalCluster) -> None:
    """One line per node, then the partitions short of replicas. Exit 1 when no node answers,
    3 when the cluster runs degraded (a node missing, partitions under-replicated)."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # a dead node is shown below
    try:
        view = asyncio.run(describe(cluster.client_settings(), request_timeout_ms=3000))
    except Exception as exc:
        console.print(f"[red]Aucun nœud du cluster ne répond ({type(exc).__name__}).[/red]")
        raise typer.Exit(1) from exc
    console.print(cluster_table(cluster, view))
    quorum = view.quorum
    if quorum is None:
        console.print("[red]Pas de contrôleur actif : le quorum KRaft est perdu.[/red]")
    else:
        console.print(f"Contrôleur actif : nœud {quorum.leader_id} "
                      f"(époque {quorum.leader_epoch})")
    urp, offline = view.under_replicated, view.offline
    console.print(f"Partitions sous-répliquées : {len(urp)} sur {len(view.partitions)}"
                  + (f" ; hors ligne : {len(offline)}" if offline else ""))
    for p in urp[:20]:
        console.print(f"  {p.topic}/{p.partition} : leader {p.leader}, "
                      f"répliques {list(p.replicas)}, ISR {list(p.isr)}")
    if len(urp) > 20:
        console.print(f"  … et {len(urp) - 20} autres")
    console.print(f"Pour y connecter Vigie : {_cluster_exports(cluster)}", soft_wrap=True)
    if quorum is None or urp or offline or len(view.brokers) < cluster.size:
        raise typer.Exit(3)


def cluster_table(cluster: LocalCluster, view: ClusterView) -> Table:
    """Each node as the operating system and the cluster see it."""
    table = Table("nœud", "adresse", "processus", "broker", "contrôleur", "leader de")
    quorum = view.quorum
    leaders = view.leaders()
    for node in cluster.nodes:
        pid = node.pid()
        if quorum is None or node.node_id not in quorum.voters:
            controller = "?"
        elif node.node_id == quorum.leader_id:
            controller = "actif"
        else:
            behind = quorum.high_watermark - quorum.voters[node.node_id]
            controller = "votant" + (f", {behind} en retard" if behind > 0 else "")
        table.add_row(
            str(node.node_id), node.bootstrap,
            f"pid {pid}" if pid else "[red]arrêté[/red]",
            "enregistré" if node.node_id in view.brokers else "[red]absent[/red]",
            controller, f"{leaders.get(node.node_id, 0)} partitions",
        )
    return table


@broker_app.command("client-config")
def client_config(
    principal: str = typer.Argument(
        ..., help="admin, vigie-worker, vigie-gateway, partner-<id> ou unit-<id>"
    ),
    java: bool = typer.Option(False, "--java", help="propriétés Java, pas librdkafka"),
    env: bool = typer.Option(
        False, "--env", help="exports VIGIE_* (outils de Vigie sous ce login)"
    ),
) -> None:
    """Afficher les réglages de connexion d'un principal au broker sécurisé (contient un mot
    de passe)."""
    broker = SecureBroker(get_settings())
    try:
        config = broker.client_config(principal)
    except KeyError as exc:
        console.print(f"[red]principal inconnu {principal!r} (démarrez d'abord le broker "
                      "sécurisé)[/red]")
        raise typer.Exit(1) from exc
    if java:
        typer.echo(config.java_properties(), nl=False)
    elif env:  # eval "$(vigie broker client-config partner-opac-oise --env)"
        for key, value in config.environment().items():
            typer.echo(f"export {key}={shlex.quote(value)}")
    else:
        for key, value in config.librdkafka().items():
            typer.echo(f"{key}={value}")

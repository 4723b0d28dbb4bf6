"""The local three-node cluster's nodes: one quorum of voters, one cluster id, ports chosen
once and kept, production's replication in every node's properties (the cluster itself runs
in the chaos harness's cluster mode, tests/chaos/cluster.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigie.broker.cluster import LocalCluster
from vigie.broker.local import BrokerError
from vigie.settings import PROJECT_DIR, Settings
from vigie.workers.engine import TRANSACTION_TIMEOUT_MS


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines()
             if line.strip() and not line.startswith("#"))
    return {k: v for k, v in pairs}


def test_nodes_share_a_quorum_and_an_id_and_keep_their_ports(tmp_path: Path) -> None:
    cluster = LocalCluster(Settings(_env_file=None, state_dir=tmp_path))
    nodes = cluster.nodes
    assert [n.node_id for n in nodes] == [1, 2, 3]
    assert len({n.cluster_id() for n in nodes}) == 1
    ports = [p for n in nodes for p in (n.settings.broker_port, n.settings.controller_port)]
    assert len(set(ports)) == 6
    assert len({n.state_dir for n in nodes}) == 3
    # A second look (another `vigie broker` command) finds the same ports and id.
    again = LocalCluster(Settings(_env_file=None, state_dir=tmp_path)).nodes
    assert [(n.settings.broker_port, n.cluster_id()) for n in again] == [
        (n.settings.broker_port, n.cluster_id()) for n in nodes]
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{n.settings.broker_port}" for n in nodes)

    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.settings.controller_port}" for n in nodes)
    for node in nodes:
        node._render_properties()
        props = _properties(node.properties_file.read_text())
        assert props["node.id"] == str(node.node_id)
        assert props["controller.quorum.voters"] == voters
        assert props["process.roles"] == "broker,controller"
        assert props["log.dirs"] == str(node.data_dir)
        for key, value in {"default.replication.factor": "3", "min.insync.replicas": "2",
                           "offsets.topic.replication.factor": "3",
                           "transaction.state.log.replication.factor": "3",
                           "transaction.state.log.min.isr": "2",
                           "unclean.leader.election.enable": "false"}.items():
            assert props[key] == value, key


def test_clients_of_the_cluster_create_replicated_topics(tmp_path: Path) -> None:
    settings = LocalCluster(Settings(_env_file=None, state_dir=tmp_path)).client_settings()
    assert settings.replication_factor == 3 and settings.min_insync_replicas == 2
    assert len(settings.bootstrap_servers.split(",")) == 3


def test_fewer_than_three_nodes_is_no_cluster(tmp_path: Path) -> None:
    with pytest.raises(BrokerError):
        LocalCluster(Settings(_env_file=None, state_dir=tmp_path), nodes=2)


def test_production_runs_the_replication_that_was_tested(tmp_path: Path) -> None:
    """The Strimzi cluster (deploy/k8s/kafka-cluster.yaml) has the replication, ISR, unclean
    election and transaction settings of the local cluster the cluster chaos run tests."""
    import yaml

    docs = list(yaml.safe_load_all((PROJECT_DIR / "deploy/k8s/kafka-cluster.yaml").read_text()))
    [kafka] = [d for d in docs if d and d["kind"] == "Kafka"]
    production = {k: str(v).lower() for k, v in kafka["spec"]["kafka"]["config"].items()}
    node = LocalCluster(Settings(_env_file=None, state_dir=tmp_path)).nodes[0]
    node._render_properties()
    tested = _properties(node.properties_file.read_text())
    for key in ("default.replication.factor", "min.insync.replicas",
                "offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "unclean.leader.election.enable"):
        assert production[key] == tested[key], key
    # The broker lets the workers' transactions last as long as they ask (30 s).
    assert int(production.get("transaction.max.timeout.ms", 900_000)) >= TRANSACTION_TIMEOUT_MS
    assert int(tested.get("transaction.max.timeout.ms", 900_000)) >= TRANSACTION_TIMEOUT_MS

"""A local three-node Apache Kafka 4 cluster (KRaft, each node broker and controller) on
loopback, from the same Maven jars as the single broker (``vigie broker start --nodes 3``).

Why: production runs three brokers or more (deploy/k8s/kafka-cluster.yaml). There a crash is
not an outage but partition leaders, the transaction coordinator and the active controller
moving to another node while the workers hold open transactions; the chaos harness's cluster
mode (``make chaos-cluster``) exercises those paths here, with production's replication:
three replicas, ``min.insync.replicas`` 2 for Vigie's topics and the internal ones, unclean
leader election off (deploy/kafka/cluster-node.properties.template).

Each node has its folder under ``<state>/cluster/node-<id>`` and ports chosen once among the
free ones, kept in ``cluster.json`` with the cluster id, so stop/start keep the data. Heaps
are small (``NODE_HEAP``): the three nodes fit in about 1 GB.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigie.broker.local import KAFKA_CONF_DIR, BrokerError, LocalBroker, _alive, new_cluster_id
from vigie.settings import Settings
from vigie.workers.launcher import free_port

NODES = 3
#: Per node: three of them with their non-heap memory come to about 1 GB. The serial
#: collector (no G1 remembered sets and threads for a heap this small) and the C1 compiler
#: only (less memory and CPU spent compiling, which a 2-core machine feels at each restart;
#: the local cluster's load is light).
NODE_HEAP = ("-Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
             "-XX:ReservedCodeCacheSize=48m")
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


@dataclass(frozen=True)
class ClusterNode(LocalBroker):
    """One node: a LocalBroker with its id, the quorum's voters and the shared cluster id."""

    node_id: int = 1
    voters: str = ""
    shared_cluster_id: str = ""

    @property
    def properties_template(self) -> Path:
        return KAFKA_CONF_DIR / "cluster-node.properties.template"

    def _template_values(self) -> dict[str, object]:
        return {**super()._template_values(), "node_id": self.node_id,
                "quorum_voters": self.voters}

    def cluster_id(self) -> str:
        return self.shared_cluster_id

    def prepare(self) -> None:
        """Render the properties and format the storage (once), ahead of ``launch``."""
        self._render_properties()
        self.format_storage()


class LocalCluster:
    """The nodes of the local cluster, described by ``<state>/cluster/cluster.json``."""

    def __init__(self, settings: Settings, nodes: int = NODES) -> None:
        if nodes < 3:
            raise BrokerError("a cluster needs at least three nodes (a quorum survives one loss)")
        self.settings = settings
        self.size = nodes
        self.root = settings.state_dir / "cluster"

    @property
    def layout_file(self) -> Path:
        return self.root / "cluster.json"

    def exists(self) -> bool:
        return self.layout_file.exists()

    def _layout(self) -> dict[str, Any]:
        """Ports and cluster id, chosen at the first start and kept for the next ones."""
        if self.layout_file.exists():
            layout: dict[str, Any] = json.loads(self.layout_file.read_text())
            return layout
        layout = {"cluster_id": new_cluster_id(),
                  "nodes": [{"id": i, "broker_port": free_port(), "controller_port": free_port()}
                            for i in range(1, self.size + 1)]}
        self.root.mkdir(parents=True, exist_ok=True)
        self.layout_file.write_text(json.dumps(layout, indent=2))
        return layout

    @property
    def nodes(self) -> list[ClusterNode]:
        layout = self._layout()
        voters = ",".join(f"{n['id']}@127.0.0.1:{n['controller_port']}" for n in layout["nodes"])
        return [
            ClusterNode(
                self.settings.model_copy(update={
                    "broker_port": n["broker_port"], "controller_port": n["controller_port"],
                    "bootstrap_servers": f"127.0.0.1:{n['broker_port']}",
                    "state_dir": self.root / f"node-{n['id']}", "kafka_heap": NODE_HEAP,
                }),
                node_id=n["id"], voters=voters, shared_cluster_id=layout["cluster_id"],
            )
            for n in layout["nodes"]
        ]

    def node(self, node_id: int) -> ClusterNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    def client_settings(self) -> Settings:
        """What workers and tools use on this cluster: every node as bootstrap, and topics
        created with three replicas and ``min.insync.replicas`` 2."""
        return self.settings.model_copy(update={
            "bootstrap_servers": self.bootstrap, "replication_factor": REPLICATION_FACTOR,
            "min_insync_replicas": MIN_INSYNC_REPLICAS,
        })

    def pids(self) -> dict[int, int | None]:
        return {n.node_id: n.pid() for n in self.nodes}

    def start(self, timeout: float = 120.0) -> dict[int, int]:
        """Start the nodes that are not running, all before waiting for any (a node answers
        only once a majority of the controllers runs); return every node's pid."""
        nodes = self.nodes
        nodes[0].fetch()
        with ThreadPoolExecutor(len(nodes)) as pool:  # one JVM each: format them together
            list(pool.map(ClusterNode.prepare, nodes))
        launched = {n.node_id: n.launch() for n in nodes if n.pid() is None}
        pids: dict[int, int] = {}
        try:
            for node in nodes:
                process = launched.get(node.node_id)
                running = node.pid()
                if process is not None:
                    pids[node.node_id] = node.wait_answering(process, timeout)
                elif running is not None:
                    pids[node.node_id] = running
        except BrokerError:
            self.stop()
            raise
        return pids

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM every node at once (controlled shutdowns: stopped one by one, the last
        nodes would wait for a quorum that is gone), SIGKILL those still alive after
        ``timeout``. True when any node was running."""
        running = {n.node_id: (n, pid) for n in self.nodes if (pid := n.pid()) is not None}
        for _, pid in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(p) for _, p in running.values()):
            time.sleep(0.2)
        for node, pid in running.values():
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                while _alive(pid):
                    time.sleep(0.1)
            node.pid_file.unlink(missing_ok=True)
        return bool(running)

"""``vigie broker client-config <principal> --env``: the shell lines that log Vigie's own
tools in as that principal."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from rich.console import Console
from typer.testing import CliRunner

from vigie.broker.secure import SecureBroker
from vigie.cli import app
from vigie.cli import broker as broker_cli
from vigie.settings import Settings


def test_env_lines_give_the_principals_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path, partners=["opac-oise"])
    broker = SecureBroker(settings, units=("gn-bt-beauvais",))
    broker.ensure_credentials()
    monkeypatch.setattr(broker_cli, "get_settings", lambda: settings)
    monkeypatch.setattr(broker_cli, "SecureBroker", lambda s: broker)

    result = CliRunner().invoke(app, ["broker", "client-config", "partner-opac-oise", "--env"])
    assert result.exit_code == 0, result.output
    env = {}
    for line in result.output.splitlines():
        export, assignment = shlex.split(line)
        assert export == "export"
        key, value = assignment.split("=", 1)
        env[key] = value
    with mock.patch.dict(os.environ, env, clear=True):
        logged_in = Settings(_env_file=None)
    expected = broker.settings_for("partner-opac-oise")
    for field in ("bootstrap_servers", "security_protocol", "sasl_mechanism", "sasl_username",
                  "sasl_password", "ssl_cafile"):
        assert getattr(logged_in, field) == getattr(expected, field), field


def _cluster_view(lagging: bool) -> Any:
    from vigie.kafka.cluster import ClusterView, PartitionState, Quorum

    isr = (2, 3) if lagging else (1, 2, 3)
    return ClusterView(
        {2: "127.0.0.1:2", 3: "127.0.0.1:3"} if lagging else {1: "a", 2: "b", 3: "c"},
        Quorum(leader_id=2, leader_epoch=5, high_watermark=90,
               voters={1: 60 if lagging else 90, 2: 90, 3: 90}),
        [PartitionState("partner.opac-oise.alerts.v1", 0, 2, (1, 2, 3), isr),
         PartitionState("__transaction_state", 3, 3, (3, 1, 2), (3, 1, 2))],
    )


@pytest.mark.parametrize("lagging", [False, True])
def test_cluster_status_names_the_controller_and_what_lacks_a_replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lagging: bool
) -> None:
    """`vigie broker status` on the three-node cluster: one row per node, the active
    controller, the under-replicated partitions; exit 3 while the cluster is degraded."""
    from vigie.broker.cluster import LocalCluster

    settings = Settings(_env_file=None, state_dir=tmp_path)
    cluster = LocalCluster(settings)
    cluster.nodes  # noqa: B018 (writes the layout: a cluster was started here)
    monkeypatch.setattr(broker_cli, "get_settings", lambda: settings)
    monkeypatch.setattr(LocalCluster, "pids", lambda self: {1: None if lagging else 11,
                                                            2: 12, 3: 13})
    monkeypatch.setattr(type(cluster.nodes[0]), "pid",
                        lambda self: None if (lagging and self.node_id == 1) else 10)

    async def describe(_settings: Settings, request_timeout_ms: int = 0) -> Any:
        return _cluster_view(lagging)

    monkeypatch.setattr(broker_cli, "describe", describe)
    monkeypatch.setattr(broker_cli, "console", Console(width=200))  # no wrapped cells
    result = CliRunner().invoke(app, ["broker", "status"])
    assert "Contrôleur actif : nœud 2 (époque 5)" in result.output
    assert f"Partitions sous-répliquées : {1 if lagging else 0} sur 2" in result.output
    assert "VIGIE_REPLICATION_FACTOR=3 VIGIE_MIN_INSYNC_REPLICAS=2" in result.output
    assert "actif" in result.output and "votant" in result.output
    if lagging:
        assert result.exit_code == 3, result.output
        assert "partner.opac-oise.alerts.v1/0 : leader 2, répliques [1, 2, 3], ISR [2, 3]" \
            in result.output
        assert "arrêté" in result.output and "absent" in result.output
        assert "votant, 30 en retard" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert "arrêté" not in result.output and "absent" not in result.output

"""deploy/k8s holds what the registry of participants renders: a partner added to the
registry without ``vigie deploy render`` (or a manifest edited by hand) fails here, in
``make test``, before it reaches a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigie import manifests
from vigie.kafka.acl import GATEWAY, WORKER
from vigie.reference.participants import REGISTRY_FILE, load_registry

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"


def test_committed_manifests_are_what_the_registry_renders() -> None:
    rendered = manifests.render(load_registry(REGISTRY_FILE), manifests.K8S_PARTITIONS,
                                manifests.K8S_APP_ID)
    assert set(rendered) == set(manifests.RENDERED)
    for name, text in rendered.items():
        committed = (K8S / name).read_text(encoding="utf-8")
        assert committed == text, f"deploy/k8s/{name} is stale: run `vigie deploy render`"


def test_render_parameters_are_the_deployment_s() -> None:
    docs = list(yaml.safe_load_all((K8S / "worker-deployment.yaml").read_text()))
    [deployment] = [d for d in docs if d and d["kind"] == "Deployment"]
    env = {e["name"]: e.get("value")
           for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert int(env["VIGIE_PARTITIONS"]) == manifests.K8S_PARTITIONS
    assert env["VIGIE_APP_ID"] == manifests.K8S_APP_ID


def test_every_participant_has_its_user_and_topics() -> None:
    """All 4 landlords and 23 units of the registry, the workers, the gateway and the
    administrator."""
    registry = load_registry(REGISTRY_FILE)
    users = {d["metadata"]["name"]: d for d in yaml.safe_load_all(
        (K8S / "users.yaml").read_text()) if d}
    topics = {d["metadata"]["name"] for d in yaml.safe_load_all(
        (K8S / "topics.yaml").read_text()) if d}
    assert len(registry.partners) == 4 and len(registry.units) == 23
    assert set(users) == {*(f"partner-{p}" for p in registry.partner_ids()),
                          *(f"unit-{u}" for u in registry.unit_ids()),
                          registry.worker_login, registry.gateway_login,
                          registry.admin_login}
    assert (registry.worker_login, registry.gateway_login) == (WORKER, GATEWAY)
    for p in registry.partner_ids():
        assert f"partner.{p}.incidents.v1" in topics and f"partner.{p}.acks.v1" in topics
        quotas = users[f"partner-{p}"]["spec"]["quotas"]
        assert quotas["producerByteRate"] == registry.quotas_of("partner", p).producer_byte_rate
    for u in registry.unit_ids():
        assert f"force.{u}.alerts.v1" in topics and f"force.{u}.status.v1" in topics
    kafka = next(d for d in yaml.safe_load_all((K8S / "kafka-cluster.yaml").read_text())
                 if d and d["kind"] == "Kafka")
    assert registry.admin_login in kafka["spec"]["kafka"]["authorization"]["superUsers"]


def test_render_follows_a_registry_change(tmp_path: Path) -> None:
    """A partner onboarded with --registry-only gets its KafkaUser and topics at the next
    render, and only the rendered files change."""
    from vigie.reference.participants import Participant

    registry = load_registry(REGISTRY_FILE).with_participant(
        "partner", Participant(id="nouveau-bailleur", name="Nouveau bailleur"))
    files = manifests.render(registry, manifests.K8S_PARTITIONS, manifests.K8S_APP_ID)
    assert "name: partner-nouveau-bailleur " in files["users.yaml"]
    assert "name: partner.nouveau-bailleur.alerts.v1\n" in files["topics.yaml"]
    assert '"nouveau-bailleur"' in files["participants.json"]
    assert sorted(manifests.write(tmp_path, files)) == sorted(manifests.RENDERED)
    assert manifests.write(tmp_path, files) == []

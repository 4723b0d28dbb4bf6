"""deploy/k8s stays valid YAML, consistent with itself and with the code it deploys.

Parsing needs PyYAML, which is not a declared dependency: the test uses the virtualenv's
if present, else the system ``python3``'s, else it skips. ``kubectl kustomize`` (offline)
renders the whole set when kubectl is installed. Topic configs are compared with
``planned_topics()`` and ACLs with ``acl_plan()``, so the manifests cannot drift silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vigie.kafka.acl import (
    WORKER,
    AclRule,
    Operation,
    PatternType,
    ResourceType,
    acl_plan,
)
from vigie.kafka.admin import EVENTS_TABLE, planned_topics
from vigie.reference.participants import load_registry
from vigie.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
FILES = sorted(K8S.glob("*.yaml"))

try:
    import yaml

    def _load(path: Path) -> list[Any]:
        return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]

    PARSER: str | None = "PyYAML"
except ImportError:  # pragma: no cover - depends on the machine
    SYSTEM_PY = shutil.which("python3")
    _probe = SYSTEM_PY and subprocess.run([SYSTEM_PY, "-c", "import yaml"], check=False,
                                          capture_output=True).returncode == 0
    PARSER = "system python3's PyYAML" if _probe else None

    def _load(path: Path) -> list[Any]:
        assert SYSTEM_PY is not None
        out = subprocess.run(
            [SYSTEM_PY, "-c", "import json, sys, yaml; print(json.dumps([d for d in "
             "yaml.safe_load_all(open(sys.argv[1])) if d is not None]))", str(path)],
            check=True, capture_output=True, text=True,
        ).stdout
        return list(json.loads(out))

pytestmark = pytest.mark.skipif(
    PARSER is None, reason="no YAML parser: PyYAML is neither in the virtualenv nor in python3"
)


@pytest.fixture(scope="module")
def docs() -> dict[str, list[Any]]:
    return {p.name: _load(p) for p in FILES}


def _by_kind(docs: dict[str, list[Any]], kind: str) -> list[dict[str, Any]]:
    return [d for ds in docs.values() for d in ds if d.get("kind") == kind]


def _one(docs: dict[str, list[Any]], kind: str) -> dict[str, Any]:
    found = _by_kind(docs, kind)
    assert len(found) == 1, kind
    return found[0]


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_every_file_parses_and_is_listed(docs: dict[str, list[Any]]) -> None:
    assert {p.name for p in FILES} >= {
        "kustomization.yaml", "namespace.yaml", "worker-deployment.yaml",
        "worker-service.yaml", "kafka-cluster.yaml", "topics.yaml", "users.yaml",
        "networkpolicy.yaml"}
    for name, ds in docs.items():
        assert ds, name
        for d in ds:
            assert d.get("apiVersion") and d.get("kind"), name
            if d["kind"] != "Kustomization":
                assert d["metadata"]["name"], name
    resources = _one(docs, "Kustomization")["resources"]
    assert sorted(resources) == sorted(p.name for p in FILES if p.name != "kustomization.yaml")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_renders() -> None:
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "namespace: vigie" in result.stdout


def test_worker_deployment(docs: dict[str, list[Any]]) -> None:
    deployment = _one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert container["command"] == ["vigie", "worker"]
    env = _env(deployment)
    assert env["VIGIE_BOOTSTRAP_SERVERS"].startswith("vigie-kafka-bootstrap.")
    assert env["VIGIE_METRICS_PORT"] == "9464"
    # Loopback by default: the probes and Prometheus need it opened, and the policy fences it.
    assert env["VIGIE_METRICS_HOST"] == "0.0.0.0"
    # The partners come from the registry mounted from a ConfigMap, not from a list here.
    assert "VIGIE_PARTNERS" not in env
    registry = Path(env["VIGIE_REGISTRY_FILE"])
    [mount] = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == registry.parent]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    generated = {g["name"]: g for g in _one(docs, "Kustomization")["configMapGenerator"]}
    assert f"{registry.name}" in generated[volume["configMap"]["name"]]["files"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert deployment["spec"]["replicas"] <= int(env["VIGIE_PARTITIONS"])
    pdb = _one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = _one(docs, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert [p["port"] for p in service["spec"]["ports"]] == [9464]


def test_only_prometheus_namespace_reaches_the_metrics_port(docs: dict[str, list[Any]]) -> None:
    """The metrics endpoint listens on the pod network without authentication: one
    NetworkPolicy selects the worker pods and admits one namespace, on that port only."""
    deployment = _one(docs, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    [port] = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    policy = _one(docs, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    [rule] = policy["ingress"]
    [source] = rule["from"]
    assert set(source) == {"namespaceSelector"}  # no ipBlock, no "any pod of this namespace"
    assert source["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    assert [p["port"] for p in rule["ports"]] in ([port["name"]], [port["containerPort"]])
    assert all(p.get("protocol", "TCP") == "TCP" for p in rule["ports"])


def test_worker_env_is_settings(
    docs: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every variable of the worker is a field of vigie.settings.Settings (pydantic-settings
    ignores unknown ones: a typo would silently leave the default), and their values parse."""
    container = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    names = [e["name"] for e in container["env"]]
    fields = {f"VIGIE_{name.upper()}" for name in Settings.model_fields}
    assert len(names) == len(set(names))
    assert set(names) <= fields, sorted(set(names) - fields)
    for name, value in _env(_one(docs, "Deployment")).items():
        if value is not None:  # valueFrom (the password) has no literal value
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("VIGIE_SASL_PASSWORD", "from-the-secret")
    # The ConfigMap's file, mounted where VIGIE_REGISTRY_FILE points in the pod.
    monkeypatch.setenv("VIGIE_REGISTRY_FILE", str(K8S / "participants.json"))
    settings = Settings(_env_file=None)
    assert settings.partners == load_registry(K8S / "participants.json").partner_ids()
    assert settings.app_id == _env(_one(docs, "Deployment"))["VIGIE_APP_ID"]
    assert settings.security_protocol == "SASL_SSL"


def test_worker_logs_in_to_the_tls_listener(docs: dict[str, list[Any]]) -> None:
    """The worker reaches the TLS + SCRAM listener as the KafkaUser vigie-worker: password
    from the User Operator's Secret, the cluster CA certificate mounted where
    VIGIE_SSL_CAFILE points."""
    kafka, deployment = _one(docs, "Kafka"), _one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = _env(deployment)
    [listener] = [li for li in kafka["spec"]["kafka"]["listeners"] if li["type"] == "internal"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert env["VIGIE_BOOTSTRAP_SERVERS"].endswith(f":{listener['port']}")
    assert env["VIGIE_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["VIGIE_SASL_MECHANISM"] == "SCRAM-SHA-512"
    users = {u["metadata"]["name"] for u in _by_kind(docs, "KafkaUser")}
    assert env["VIGIE_SASL_USERNAME"] == WORKER and WORKER in users
    password = next(e for e in container["env"] if e["name"] == "VIGIE_SASL_PASSWORD")
    assert "value" not in password
    assert password["valueFrom"]["secretKeyRef"] == {"name": WORKER, "key": "password"}
    cafile = Path(env["VIGIE_SSL_CAFILE"])
    [mount] = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == cafile.parent]
    assert mount.get("readOnly") is True
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == f"{kafka['metadata']['name']}-cluster-ca-cert"
    assert {"key": "ca.crt", "path": cafile.name} in volume["secret"]["items"]


def test_kafka_cluster(docs: dict[str, list[Any]]) -> None:
    kafka, pool = _one(docs, "Kafka"), _one(docs, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["auto.create.topics.enable"] is False
    listeners = {li["type"]: li for li in kafka["spec"]["kafka"]["listeners"]}
    # Every listener, the partners' external one included: TLS and SCRAM, no anonymous door.
    for listener in listeners.values():
        assert listener["tls"] is True
        assert listener["authentication"]["type"] == "scram-sha-512"
    assert set(listeners) == {"internal", "loadbalancer"}
    env = _env(_one(docs, "Deployment"))
    assert env["VIGIE_BOOTSTRAP_SERVERS"].endswith(f":{listeners['internal']['port']}")
    assert env["VIGIE_BOOTSTRAP_SERVERS"].startswith(f"{kafka['metadata']['name']}-kafka-")


def test_topics_follow_planned_topics(docs: dict[str, list[Any]]) -> None:
    """Same partitions (co-partitioned: all equal to VIGIE_PARTITIONS) and retention classes
    as kafka.admin.planned_topics() for the partners and units the examples name."""
    env = _env(_one(docs, "Deployment"))
    kafka_topics = {t["metadata"]["name"]: t["spec"] for t in _by_kind(docs, "KafkaTopic")}
    partners = sorted({n.split(".")[1] for n in kafka_topics if n.startswith("partner.")})
    units = sorted({n.split(".")[1] for n in kafka_topics if n.startswith("force.")})
    assert partners and units
    settings = Settings(partitions=int(env["VIGIE_PARTITIONS"]), partners=partners,
                        app_id=env["VIGIE_APP_ID"])
    plan = {s.name: s for s in planned_topics(settings, units)}
    assert set(kafka_topics) == set(plan)
    assert f"{env['VIGIE_APP_ID']}-{EVENTS_TABLE}-changelog" in kafka_topics
    for name, spec in kafka_topics.items():
        assert spec["partitions"] == plan[name].partitions, name
        assert spec["replicas"] == 3, name
        assert {k: str(v) for k, v in spec["config"].items()} == plan[name].config, name


def _strimzi_rules(user: dict[str, Any]) -> set[AclRule]:
    types = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP,
             "cluster": ResourceType.CLUSTER, "transactionalId": ResourceType.TRANSACTIONAL_ID}
    patterns = {"literal": PatternType.LITERAL, "prefix": PatternType.PREFIXED}
    rules = set()
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        kind = types[resource["type"]]
        name = resource.get("name", "kafka-cluster") if kind is ResourceType.CLUSTER \
            else resource["name"]
        pattern = patterns[resource.get("patternType", "literal")]
        for op in acl["operations"]:
            operation = Operation[{"IdempotentWrite": "IDEMPOTENT_WRITE"}.get(op, op.upper())]
            rules.add(AclRule(user["metadata"]["name"], kind, name, pattern, operation))
    return rules


def test_users_follow_acl_plan(docs: dict[str, list[Any]]) -> None:
    users = {u["metadata"]["name"]: u for u in _by_kind(docs, "KafkaUser")}
    assert all(u["spec"]["authentication"]["type"] == "scram-sha-512" for u in users.values())
    partners = [n.removeprefix("partner-") for n in users if n.startswith("partner-")]
    units = [n.removeprefix("unit-") for n in users if n.startswith("unit-")]
    assert partners and units and "vigie-worker" in users
    plan = acl_plan(partners, units, _env(_one(docs, "Deployment"))["VIGIE_APP_ID"])
    superusers = set(_one(docs, "Kafka")["spec"]["kafka"]["authorization"]["superUsers"])
    for name, user in users.items():
        if name in superusers:  # the administrator: no ACL needed, none given
            assert "authorization" not in user["spec"], name
            continue
        expected = {r for r in plan if r.principal == name}
        if name == "vigie-worker":
            # KafkaTopic resources replace the CREATE rights.
            expected = {r for r in expected if r.operation is not Operation.CREATE}
            assert _strimzi_rules(user) == expected
        else:
            assert _strimzi_rules(user) == expected, name

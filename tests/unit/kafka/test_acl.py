"""The ACL plan reaches the broker through confluent-kafka's admin API, binding for binding."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from vigie.kafka import acl, clients
from vigie.kafka.acl import AclError, acl_plan, apply_acls
from vigie.settings import Settings


class FakeAdmin:
    def __init__(self, refuse: int = 0) -> None:
        self.asked: list[AclBinding] = []
        self.refuse = refuse

    def create_acls(self, bindings: list[AclBinding], **_kw: Any) -> dict[AclBinding, Future]:  # type: ignore[type-arg]
        self.asked += bindings
        out: dict[AclBinding, Future] = {}  # type: ignore[type-arg]
        for index, binding in enumerate(bindings):
            future: Future = Future()  # type: ignore[type-arg]
            if index < self.refuse:
                future.set_exception(KafkaException("SECURITY_DISABLED"))
            else:
                future.set_result(None)
            out[binding] = future
        return out


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> FakeAdmin:
    fake = FakeAdmin()
    monkeypatch.setattr(clients, "librdkafka_admin", lambda settings: fake)
    return fake


def test_every_rule_becomes_one_allow_binding(admin: FakeAdmin) -> None:
    plan = acl_plan(["opac-oise"], ["gn-bt-beauvais"], "vigie")
    apply_acls(Settings(_env_file=None), plan)
    assert len(admin.asked) == len(plan)
    assert all(b.permission_type is AclPermissionType.ALLOW and b.host == "*"
               for b in admin.asked)
    assert AclBinding(ResourceType.GROUP, "partner-opac-oise-", ResourcePatternType.PREFIXED,
                      "User:partner-opac-oise", "*", AclOperation.READ,
                      AclPermissionType.ALLOW) in admin.asked
    cluster = [b for b in admin.asked if b.restype is ResourceType.BROKER]
    assert [(b.name, b.operation) for b in cluster] == [
        ("kafka-cluster", AclOperation.IDEMPOTENT_WRITE)]


def test_refusals_are_counted_not_dumped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "librdkafka_admin", lambda settings: FakeAdmin(refuse=5))
    plan = acl.unit_acls("gn-bt-beauvais")
    with pytest.raises(AclError, match=rf"^5 of {len(plan)} ACLs not created"):
        apply_acls(Settings(_env_file=None), plan)


def test_the_gateway_publishes_for_partners_and_reads_their_acks_only() -> None:
    """Its rows of the deployment's plan: WRITE on each partner's two input topics, READ on
    its acks, the webhook dispatchers' groups; nothing on units' or reference topics, no
    transactional id, no cluster right (its idempotent producer needs none since KIP-679)."""
    partners, units = ["clesence", "opac-oise"], ["gn-bt-beauvais", "pn-csp-creil"]
    plan = [r for r in acl_plan(partners, units, "vigie") if r.principal == acl.GATEWAY]
    assert plan == acl.gateway_acls(partners, "vigie")
    by_op: dict[acl.Operation, set[str]] = {}
    for rule in plan:
        if rule.resource_type is acl.ResourceType.TOPIC:
            assert rule.pattern is acl.PatternType.LITERAL
            by_op.setdefault(rule.operation, set()).add(rule.resource_name)
    inputs = {f"partner.{p}.{kind}.v1" for p in partners for kind in ("incidents", "alerts")}
    acks = {f"partner.{p}.acks.v1" for p in partners}
    assert by_op == {acl.Operation.WRITE: inputs, acl.Operation.READ: acks,
                     acl.Operation.DESCRIBE: inputs | acks}
    groups = [r for r in plan if r.resource_type is acl.ResourceType.GROUP]
    assert {(r.resource_name, r.pattern, r.operation) for r in groups} == {
        ("vigie-gateway-webhook-", acl.PatternType.PREFIXED, op)
        for op in (acl.Operation.READ, acl.Operation.DESCRIBE)}
    assert {r.resource_type for r in plan} == {acl.ResourceType.TOPIC, acl.ResourceType.GROUP}


def test_the_gateway_s_groups_are_the_webhook_dispatchers() -> None:
    """The group a dispatcher joins is within the prefix the gateway login may use."""
    from vigie.gateway.webhooks import group_of

    settings = Settings(_env_file=None, app_id="vigie-test")
    assert group_of(settings, "opac-oise").startswith(acl.gateway_group_prefix("vigie-test"))
    assert group_of(settings, "opac-oise") == "vigie-test-gateway-webhook-opac-oise"

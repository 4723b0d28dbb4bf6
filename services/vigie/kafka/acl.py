"""Who may do what on the broker: the ACL plan of a Vigie deployment, and its application.

Why: one topic per partner and per unit only isolates anyone if the broker refuses what is
not theirs. With ``allow.everyone.if.no.acl.found=false`` (docs/security.md) the plan below
is the whole of what is allowed: there are no DENY rules, absence of an ALLOW is the denial.
The plan is pure data (the Kubernetes manifests are checked against it); ``apply_acls``
creates it through confluent-kafka's admin API, aiokafka having no public one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from vigie.contracts import topics
from vigie.kafka import clients
from vigie.reference.participants import Kind, Registry
from vigie.settings import Settings

K = TypeVar("K")

#: The super-user of the local secure broker (vigie.broker.secure): setup and operations.
#: On a cluster, the registry's admin login (``vigie-admin``, a Strimzi super-user).
ADMIN = "admin"
#: The login of every Vigie worker process (the registry's worker login; a test checks it).
WORKER = "vigie-worker"
#: The login of every replica of the partner gateway (``vigie gateway``; the registry's
#: gateway login).
GATEWAY = "vigie-gateway"


def partner_principal(partner_id: str) -> str:
    """The SCRAM user name of a partner (Kafka principal ``User:partner-<id>``)."""
    return f"partner-{partner_id}"


def unit_principal(unit_id: str) -> str:
    """The SCRAM user name of a police or gendarmerie unit (``User:unit-<id>``)."""
    return f"unit-{unit_id}"


class ResourceType(IntEnum):
    """Kafka protocol codes (org.apache.kafka.common.resource.ResourceType)."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class PatternType(IntEnum):
    """Kafka protocol codes (org.apache.kafka.common.resource.PatternType)."""

    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka protocol codes (org.apache.kafka.common.acl.AclOperation)."""

    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    IDEMPOTENT_WRITE = 12


CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True, order=True)
class AclRule:
    """One ALLOW binding: principal may do operation on the resource (from any host)."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType
    operation: Operation

    def __str__(self) -> str:
        star = "*" if self.pattern is PatternType.PREFIXED else ""
        return (
            f"User:{self.principal} {self.operation.name} "
            f"{self.resource_type.name.lower()}:{self.resource_name}{star}"
        )


def _rules(
    principal: str,
    resource_type: ResourceType,
    names: Iterable[str],
    operations: Iterable[Operation],
    pattern: PatternType = PatternType.LITERAL,
) -> list[AclRule]:
    ops = list(operations)
    return [AclRule(principal, resource_type, n, pattern, op) for n in names for op in ops]


def partner_acls(partner_id: str) -> list[AclRule]:
    """A partner writes its two input topics and reads its acks, its hotspot notices and its
    sandbox (the routed copies of its TEST events), nothing else.

    WRITE comes with DESCRIBE because producers need the topic's metadata; consumer groups
    are confined to the prefix ``partner-<id>-`` so one partner cannot join (and disturb, or
    read the offsets of) another's group.
    """
    who = partner_principal(partner_id)
    inputs = [topics.partner_incidents(partner_id), topics.partner_alerts(partner_id)]
    T, G = ResourceType.TOPIC, ResourceType.GROUP
    return [
        *_rules(who, T, inputs, [Operation.WRITE, Operation.DESCRIBE]),
        *_rules(who, T, [topics.partner_acks(partner_id), topics.partner_prevention(partner_id),
                         topics.partner_sandbox(partner_id)],
                [Operation.READ, Operation.DESCRIBE]),
        *_rules(who, G, [f"{who}-"], [Operation.READ, Operation.DESCRIBE], PatternType.PREFIXED),
    ]


def unit_acls(unit_id: str) -> list[AclRule]:
    """A unit reads its incidents, alerts, hotspot notices and the answers to its refused
    statuses, and writes its status topic, nothing else."""
    who = unit_principal(unit_id)
    reads = [topics.unit_incidents(unit_id), topics.unit_alerts(unit_id),
             topics.unit_prevention(unit_id), topics.unit_feedback(unit_id)]
    T, G = ResourceType.TOPIC, ResourceType.GROUP
    return [
        *_rules(who, T, reads, [Operation.READ, Operation.DESCRIBE]),
        *_rules(who, T, [topics.unit_status(unit_id)], [Operation.WRITE, Operation.DESCRIBE]),
        *_rules(who, G, [f"{who}-"], [Operation.READ, Operation.DESCRIBE], PatternType.PREFIXED),
    ]


def worker_acls(partners: Iterable[str], units: Iterable[str], app_id: str) -> list[AclRule]:
    """What the pipeline needs, topic by topic, so a compromised worker login still cannot
    impersonate a partner (write its input topics) or a unit (write its status topic).

    * read the partners' input topics and the units' status topics, write acks;
    * write the units' incidents/alerts topics and the dead-letter topic; read reference data;
    * the follow-up jobs (``vigie followup``, ``vigie hotspots``, group ``<app_id>-followup``)
      run with this login: read back the acks and routed copies, write hotspot notices;
    * everything on its own topics (the state changelog ``<app_id>-events-changelog``), its
      consumer group and transactional ids (prefix ``<app_id>``);
    * CREATE on the Vigie namespaces so ``vigie topics ensure`` can provision new topics;
    * IDEMPOTENT_WRITE on the cluster for idempotent and transactional producers.
    """
    w, T = WORKER, ResourceType.TOPIC
    rw = [Operation.READ, Operation.DESCRIBE]
    ww = [Operation.WRITE, Operation.DESCRIBE]
    rww = [Operation.READ, Operation.WRITE, Operation.DESCRIBE]
    plan: list[AclRule] = []
    for p in sorted(set(partners)):
        plan += _rules(w, T, [topics.partner_incidents(p), topics.partner_alerts(p)], rw)
        plan += _rules(w, T, [topics.partner_acks(p)], rww)
        plan += _rules(w, T, [topics.partner_prevention(p), topics.partner_sandbox(p)], ww)
    for u in sorted(set(units)):
        plan += _rules(w, T, [topics.unit_incidents(u), topics.unit_alerts(u)], rww)
        plan += _rules(w, T, [topics.unit_status(u)], rw)
        plan += _rules(w, T, [topics.unit_prevention(u), topics.unit_feedback(u)], ww)
    # Reference data, routing rules and unit availability: read only. Operations write them
    # (the admin login); a unit cannot, since Kafka ACLs cannot restrict a shared compacted
    # topic by key and a unit could otherwise declare another unit unavailable.
    plan += _rules(w, T, [topics.REF_SITES, topics.REF_COMPETENCE, topics.REF_UNITS,
                          topics.REF_RULES, topics.REF_AVAILABILITY], rw)
    plan += _rules(w, T, [topics.DEADLETTER], ww)
    plan += _rules(w, T, [f"{app_id}-"], [Operation.ALL], PatternType.PREFIXED)
    plan += _rules(w, T, ["partner.", "force.", "ref.", "vigie."], [Operation.CREATE],
                   PatternType.PREFIXED)
    plan += _rules(w, ResourceType.GROUP, [app_id], rw, PatternType.PREFIXED)
    plan += _rules(w, ResourceType.TRANSACTIONAL_ID, [app_id], ww, PatternType.PREFIXED)
    plan += _rules(w, ResourceType.CLUSTER, [CLUSTER_NAME], [Operation.IDEMPOTENT_WRITE])
    return plan


def gateway_group_prefix(app_id: str) -> str:
    """The consumer groups of the gateway's webhook dispatchers start with this (one group
    per partner: ``<app_id>-gateway-webhook-<partner>``, vigie.gateway.webhooks)."""
    return f"{app_id}-gateway-webhook-"


def gateway_acls(partners: Iterable[str], app_id: str) -> list[AclRule]:
    """What the partner gateway (``vigie gateway``) needs, and no more.

    * WRITE (with DESCRIBE) the partners' two input topics: it publishes what a partner
      POSTs, as the partner's own producer would. A stolen gateway login could thus publish
      as any partner (that is its job) but never as a unit, nor read what units receive;
    * READ the partners' acks topics: the GET index reads them outside any group (assigned
      partitions, no offsets), the webhook dispatchers in the groups of
      ``gateway_group_prefix`` (offsets committed once a POST was answered 2xx);
    * nothing on units' topics, reference data, transactions or the cluster: its producer is
      idempotent but not transactional, and since Kafka 3.0 (KIP-679) WRITE on a topic is
      enough for an idempotent producer's InitProducerId (IDEMPOTENT_WRITE on the cluster is
      deprecated), as for the partners' own producers.
    """
    g, T = GATEWAY, ResourceType.TOPIC
    plan: list[AclRule] = []
    for p in sorted(set(partners)):
        plan += _rules(g, T, [topics.partner_incidents(p), topics.partner_alerts(p)],
                       [Operation.WRITE, Operation.DESCRIBE])
        plan += _rules(g, T, [topics.partner_acks(p)], [Operation.READ, Operation.DESCRIBE])
    plan += _rules(g, ResourceType.GROUP, [gateway_group_prefix(app_id)],
                   [Operation.READ, Operation.DESCRIBE], PatternType.PREFIXED)
    return plan


def acl_plan(partners: Iterable[str], units: Iterable[str], app_id: str) -> list[AclRule]:
    """Every ALLOW binding of the deployment; anything else is denied by the authorizer."""
    partners, units = sorted(set(partners)), sorted(set(units))
    plan = [rule for p in partners for rule in partner_acls(p)]
    plan += [rule for u in units for rule in unit_acls(u)]
    plan += worker_acls(partners, units, app_id)
    plan += gateway_acls(partners, app_id)
    return plan


class AclError(RuntimeError):
    """The broker refused to create some bindings of the plan."""


def settle(
    futures: Mapping[K, Future[Any]], timeout: float
) -> dict[K, tuple[Any, Exception | None]]:
    """Each confluent-kafka admin future's result or failure, by key. The admin client must
    be kept alive until this returns: dropped, it cancels its futures."""
    settled: dict[K, tuple[Any, Exception | None]] = {}
    for key, future in futures.items():
        try:
            settled[key] = (future.result(timeout), None)
        except Exception as exc:  # KafkaException, or a timeout of the future
            settled[key] = (None, exc)
    return settled


def apply_acls(settings: Settings, rules: Sequence[AclRule], timeout: float = 30.0) -> None:
    """Create the bindings as ``settings``' login (an admin); existing ones are left as they
    are, so applying the plan again after adding a partner or a unit is safe."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
    )
    from confluent_kafka.admin import (
        ResourceType as KafkaResourceType,
    )

    bindings = {
        AclBinding(KafkaResourceType(int(r.resource_type)), r.resource_name,
                   ResourcePatternType(int(r.pattern)), f"User:{r.principal}", "*",
                   AclOperation(int(r.operation)), AclPermissionType.ALLOW): r
        for r in rules
    }
    if not bindings:
        return
    # The client must outlive the futures: dropped, it would cancel them.
    admin = clients.librdkafka_admin(settings)
    futures = admin.create_acls(list(bindings), request_timeout=timeout)
    failed = [f"{bindings[binding]}: {exc}"
              for binding, (_, exc) in settle(futures, timeout).items() if exc is not None]
    del admin
    if failed:
        raise AclError(f"{len(failed)} of {len(bindings)} ACLs not created, e.g. {failed[:3]}")


def registry_plan(registry: Registry, app_id: str) -> list[AclRule]:
    """The deployment's plan for every partner and unit of the registry of participants."""
    return acl_plan(registry.partner_ids(), registry.unit_ids(), app_id)


def participant_acls(kind: Kind, participant_id: str) -> list[AclRule]:
    """What one partner's or unit's own login may do (``partner_acls`` / ``unit_acls``)."""
    return partner_acls(participant_id) if kind == "partner" else unit_acls(participant_id)


def remove_acls(settings: Settings, rules: Sequence[AclRule], timeout: float = 30.0) -> int:
    """Delete exactly these bindings (absent ones are not an error); return how many the
    broker deleted. Offboarding uses it: the login's requests are refused from the next one
    on, its open connections included, since the authorizer checks every request."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
    )
    from confluent_kafka.admin import (
        ResourceType as KafkaResourceType,
    )

    filters = [
        AclBindingFilter(KafkaResourceType(int(r.resource_type)), r.resource_name,
                         ResourcePatternType(int(r.pattern)), f"User:{r.principal}", "*",
                         AclOperation(int(r.operation)), AclPermissionType.ALLOW)
        for r in sorted(set(rules))
    ]
    if not filters:
        return 0
    admin = clients.librdkafka_admin(settings)
    futures = admin.delete_acls(filters, request_timeout=timeout)
    results = settle(futures, timeout)
    del admin
    deleted = sum(len(found) for found, exc in results.values() if exc is None)
    failed = [f"{key}: {exc}" for key, (_, exc) in results.items() if exc is not None]
    if failed:
        raise AclError(f"{len(failed)} of {len(filters)} ACL deletions failed, e.g. {failed[:3]}")
    return deleted

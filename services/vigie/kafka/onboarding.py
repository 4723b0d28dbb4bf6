"""Onboarding and offboarding a partner or a unit on a running cluster, through the admin API.

``onboard``: the participant's topics (``kafka.admin.ensure_topics``), its SCRAM login
(``kafka.logins``), its ACLs and the workers' ACLs on its topics (``kafka.acl``), its client
quotas (``kafka.quotas``), all from the registry of participants, each step idempotent so a
failed onboarding can simply be run again. ``offboard`` removes the access and keeps the
data (the policy is in docs/operations.md, "Removal"):

* the login's ACLs go first (and the gateway's right to publish on a partner's input
  topics): the broker authorizes every request, so the partner's next produce or fetch is
  refused, on connections already open too;
* then its SCRAM credential (no new connection) and its quotas;
* its topics and their records stay until their retention runs out (7 days for events, 30
  for acknowledgements, 90 for notices): in-flight events still get their acknowledgement
  and the follow-up store its facts; the workers' ACLs on them stay for that reason.
  Deleting the topics earlier is an operator's decision, made with Kafka's own tools.

The caller (``vigie onboard``/``offboard``) edits the registry file once the cluster is done.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.contracts import topics
from vigie.kafka import acl, logins, quotas
from vigie.kafka.admin import ensure_topics
from vigie.reference.participants import Kind, Quotas, Registry
from vigie.settings import Settings


def login_of(kind: Kind, participant_id: str) -> str:
    """The participant's SCRAM login (Kafka principal ``User:<login>``)."""
    if kind == "partner":
        return acl.partner_principal(participant_id)
    return acl.unit_principal(participant_id)


@dataclass(frozen=True)
class Onboarded:
    login: str
    topics_created: list[str]
    acls: int
    quotas: Quotas


@dataclass(frozen=True)
class Offboarded:
    login: str
    acls_removed: int
    login_deleted: bool


def access_plan(settings: Settings, kind: Kind, participant_id: str) -> list[acl.AclRule]:
    """The participant's own ACLs, the workers' on its topics and, for a partner, the
    gateway's (with the workers' and the gateway's shared rules, already there on a
    provisioned cluster: creating them again changes nothing)."""
    partners, units = ([participant_id], []) if kind == "partner" else ([], [participant_id])
    return [*acl.participant_acls(kind, participant_id),
            *acl.worker_acls(partners, units, settings.app_id),
            *(acl.gateway_acls(partners, settings.app_id) if partners else [])]


async def onboard(settings: Settings, registry: Registry, kind: Kind, participant_id: str,
                  password: str) -> Onboarded:
    """Give the participant its topics, login, ACLs and quotas, as ``settings``' login (the
    administrator). ``registry`` gives its quotas (its kind's default if not listed yet)."""
    only = settings.model_copy(update={"partners": [participant_id] if kind == "partner" else []})
    created = await ensure_topics(only, [participant_id] if kind == "unit" else [])
    login = login_of(kind, participant_id)
    logins.set_password(settings, login, password)
    rules = access_plan(settings, kind, participant_id)
    acl.apply_acls(settings, rules)
    limits = registry.quotas_of(kind, participant_id)
    await quotas.alter_quotas(settings, {login: limits})
    return Onboarded(login, created, len(rules), limits)


def revoked_on_offboarding(settings: Settings, kind: Kind,
                           participant_id: str) -> list[acl.AclRule]:
    """The participant's own ACLs and, for a partner, the gateway's right to publish on its
    input topics (nobody publishes as it any more); the gateway keeps reading its acks, like
    the workers, so in-flight acknowledgements still reach its webhook."""
    revoked = acl.participant_acls(kind, participant_id)
    if kind == "partner":
        acks = topics.partner_acks(participant_id)
        revoked += [r for r in acl.gateway_acls([participant_id], settings.app_id)
                    if r.resource_type is acl.ResourceType.TOPIC and r.resource_name != acks]
    return revoked


async def offboard(settings: Settings, kind: Kind, participant_id: str) -> Offboarded:
    """Remove the participant's access (ACLs, login, quotas); keep its topics and data."""
    login = login_of(kind, participant_id)
    removed = acl.remove_acls(settings, revoked_on_offboarding(settings, kind, participant_id))
    deleted = logins.delete_login(settings, login)
    await quotas.alter_quotas(settings, {login: None})
    return Offboarded(login, removed, deleted)

"""Kafka client quotas per login: a partner or unit that floods the cluster is throttled by
the brokers (its requests delayed), so it cannot starve the others or the workers.

The quotas come from the registry of participants (``vigie.reference.participants``); this
module applies them to a running cluster with Kafka's ``AlterClientQuotas`` request (user
entity, ``producer_byte_rate``/``consumer_byte_rate``/``request_percentage``) and reads them
back with ``DescribeClientQuotas``. Neither aiokafka nor confluent-kafka has these APIs, so
the two requests (version 0, non-flexible, supported by every Kafka since 2.6) are declared
here with aiokafka's own protocol types and sent by its admin client: no JVM, no new
dependency. On Strimzi, the KafkaUser's ``spec.quotas`` carries the same values (``vigie
deploy render``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Float64, Int8, Int16, Int32, Schema, String

from vigie.kafka import clients
from vigie.kafka.acl import partner_principal, unit_principal
from vigie.reference.participants import Quotas, Registry
from vigie.settings import Settings

#: Every quota key Vigie sets: what a login has beyond these was set by hand and is kept.
QUOTA_KEYS = ("producer_byte_rate", "consumer_byte_rate", "request_percentage")
_USER = "user"

_ENTITY = Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))


class AlterClientQuotasResponse_v0(Response):
    API_KEY = 49
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("entries", Array(("error_code", Int16), ("error_message", String("utf-8")),
                          ("entity", _ENTITY))),
    )


class AlterClientQuotasRequest_v0(RequestStruct):
    API_KEY = 49
    API_VERSION = 0
    RESPONSE_TYPE = AlterClientQuotasResponse_v0
    SCHEMA = Schema(
        ("entries", Array(
            ("entity", _ENTITY),
            ("ops", Array(("key", String("utf-8")), ("value", Float64), ("remove", Boolean))),
        )),
        ("validate_only", Boolean),
    )


AlterStruct: TypeAlias = AlterClientQuotasRequest_v0


class AlterClientQuotasRequest(Request[AlterStruct]):
    API_KEY = 49

    def __init__(self, entries: list[Any]) -> None:
        self.entries = entries

    def build(self, request_struct_class: type[AlterStruct]) -> AlterStruct:
        return request_struct_class(self.entries, False)


class DescribeClientQuotasResponse_v0(Response):
    API_KEY = 48
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", String("utf-8")),
        ("entries", Array(
            ("entity", _ENTITY),
            ("values", Array(("key", String("utf-8")), ("value", Float64))),
        )),
    )


class DescribeClientQuotasRequest_v0(RequestStruct):
    API_KEY = 48
    API_VERSION = 0
    RESPONSE_TYPE = DescribeClientQuotasResponse_v0
    SCHEMA = Schema(
        ("components", Array(("entity_type", String("utf-8")), ("match_type", Int8),
                             ("match", String("utf-8")))),
        ("strict", Boolean),
    )


DescribeStruct: TypeAlias = DescribeClientQuotasRequest_v0


class DescribeClientQuotasRequest(Request[DescribeStruct]):
    API_KEY = 48

    def __init__(self, user: str) -> None:
        self.user = user

    def build(self, request_struct_class: type[DescribeStruct]) -> DescribeStruct:
        return request_struct_class([(_USER, 0, self.user)], True)  # 0: exact name match


class QuotaError(RuntimeError):
    """The broker refused to set some quotas."""


def quota_plan(registry: Registry, partners: list[str] | None = None,
               units: list[str] | None = None) -> dict[str, Quotas]:
    """The quotas of every partner and unit login (default: all of the registry's)."""
    plan = {partner_principal(p): registry.quotas_of("partner", p)
            for p in (registry.partner_ids() if partners is None else partners)}
    plan.update({unit_principal(u): registry.quotas_of("unit", u)
                 for u in (registry.unit_ids() if units is None else units)})
    return plan


async def _send(settings: Settings, request: Request[Any]) -> Any:
    admin = clients.admin(settings)
    await admin.start()
    try:
        # aiokafka's admin client sends any protocol request; it negotiates the version
        # from the broker's ApiVersions (here: v0, the only one declared).
        return await admin._send_request(request)
    finally:
        await admin.close()


async def alter_quotas(settings: Settings, plan: Mapping[str, Quotas | None]) -> None:
    """Set each login's quotas, as ``settings``' login (an admin). ``None`` removes the
    login's Vigie quotas (offboarding). Idempotent: setting the same values again is a no-op."""
    entries = []
    for user, quotas in sorted(plan.items()):
        values = quotas.kafka() if quotas is not None else {}
        ops = [(key, values.get(key, 0.0), key not in values) for key in QUOTA_KEYS]
        entries.append(([(_USER, user)], ops))
    if not entries:
        return
    response = await _send(settings, AlterClientQuotasRequest(entries))
    failed = [f"{entity}: {for_code(code).__name__} {message or ''}".strip()
              for code, message, entity in response.entries if code != 0]
    if failed:
        raise QuotaError(f"quotas refused: {failed[:3]}")


async def describe_quotas(settings: Settings, user: str) -> dict[str, float]:
    """The quotas the cluster holds for one login (empty: none)."""
    response = await _send(settings, DescribeClientQuotasRequest(user))
    if response.error_code != 0:
        raise for_code(response.error_code)(response.error_message)
    return {key: value for _entity, values in (response.entries or []) for key, value in values}

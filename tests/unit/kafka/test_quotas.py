"""Client quotas from the registry, and the AlterClientQuotas request Vigie declares (the
wire bytes decode to what was asked: set keys, removed keys; the broker test is
tests/integration/test_onboarding.py)."""

from __future__ import annotations

from io import BytesIO

from vigie.kafka.quotas import (
    QUOTA_KEYS,
    AlterClientQuotasRequest,
    AlterClientQuotasRequest_v0,
    DescribeClientQuotasRequest,
    DescribeClientQuotasRequest_v0,
    quota_plan,
)
from vigie.reference.participants import Quotas, load_registry


def test_plan_has_every_partner_and_unit_login() -> None:
    registry = load_registry()
    plan = quota_plan(registry)
    assert set(plan) == {*(f"partner-{p}" for p in registry.partner_ids()),
                         *(f"unit-{u}" for u in registry.unit_ids())}
    assert plan["partner-opac-oise"] == registry.quotas.partner
    assert quota_plan(registry, partners=["x"], units=[]) == {
        "partner-x": registry.quotas.partner}


def test_alter_request_sets_and_removes_keys() -> None:
    entries = [
        ([("user", "partner-a")], [("producer_byte_rate", 1000.0, False),
                                   ("consumer_byte_rate", 0.0, True),
                                   ("request_percentage", 0.0, True)]),
    ]
    struct = AlterClientQuotasRequest(entries).prepare({49: (0, 1)})
    assert isinstance(struct, AlterClientQuotasRequest_v0)
    decoded = struct.SCHEMA.decode(BytesIO(struct.encode()))
    [(entity, ops)] = decoded[0]
    assert entity == [("user", "partner-a")]
    assert ops[0] == ("producer_byte_rate", 1000.0, False)
    assert [op[2] for op in ops] == [False, True, True]
    assert decoded[1] is False  # validate_only


def test_describe_request_matches_one_login_exactly() -> None:
    struct = DescribeClientQuotasRequest("unit-gn-bt-meru").prepare({48: (0, 1)})
    assert isinstance(struct, DescribeClientQuotasRequest_v0)
    components, strict = struct.SCHEMA.decode(BytesIO(struct.encode()))
    assert components == [("user", 0, "unit-gn-bt-meru")] and strict is True


def test_quota_keys_are_the_model_s() -> None:
    assert set(QUOTA_KEYS) == set(Quotas.model_fields)

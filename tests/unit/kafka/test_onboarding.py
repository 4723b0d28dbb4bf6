"""What onboarding grants and offboarding takes back, as ACL rules (no broker: the rules are
data; tests/integration/test_onboarding.py applies them to a real one)."""

from __future__ import annotations

from vigie.kafka import acl
from vigie.kafka.onboarding import access_plan, revoked_on_offboarding
from vigie.settings import Settings

SETTINGS = Settings(_env_file=None, app_id="vigie")


def test_a_new_landlord_is_reachable_through_the_gateway() -> None:
    """Onboarding a partner also lets the gateway publish on its input topics and read its
    acks (else a partner onboarded after the gateway's provisioning could not use HTTP)."""
    plan = access_plan(SETTINGS, "partner", "nouveau-bailleur")
    assert {r for r in plan if r.principal == acl.GATEWAY} == set(
        acl.gateway_acls(["nouveau-bailleur"], "vigie"))
    assert not [r for r in access_plan(SETTINGS, "unit", "gn-bt-meru")
                if r.principal == acl.GATEWAY]


def test_offboarding_stops_the_gateway_publishing_as_the_landlord() -> None:
    revoked = revoked_on_offboarding(SETTINGS, "partner", "ancien-bailleur")
    gateway = {(r.resource_name, r.operation) for r in revoked if r.principal == acl.GATEWAY}
    assert gateway == {(f"partner.ancien-bailleur.{kind}.v1", op)
                       for kind in ("incidents", "alerts")
                       for op in (acl.Operation.WRITE, acl.Operation.DESCRIBE)}
    # Its own rights go entirely; the gateway keeps reading the acks of events in flight.
    assert set(acl.partner_acls("ancien-bailleur")) <= set(revoked)
    assert revoked_on_offboarding(SETTINGS, "unit", "gn-bt-meru") == acl.unit_acls("gn-bt-meru")

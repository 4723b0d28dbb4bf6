"""Topic names: one topic per partner and per unit, so broker ACLs can isolate each of them.

The scheme is ``<owner-kind>.<owner-id>.<stream>.v<major>``; the major version changes only
with an incompatible contract (never, under FULL_TRANSITIVE evolution). See docs/topics.md.
"""

import re

from vigie.contracts.enums import Lane

DEADLETTER = "vigie.deadletter.v1"
REF_SITES = "ref.sites.v1"
REF_COMPETENCE = "ref.competence.v1"
REF_UNITS = "ref.units.v1"
#: Routing rules per unit (service hours, fallback, overflow), keyed by unit and start date.
REF_RULES = "ref.rules.v1"
#: Units declared unavailable until a time, or available again, keyed by unit.
REF_AVAILABILITY = "ref.availability.v1"

#: Partner input topics, matched by pattern so a new partner needs no worker restart.
PARTNER_INCIDENTS_PATTERN = r"^partner\.[a-z0-9-]+\.incidents\.v1$"
PARTNER_ALERTS_PATTERN = r"^partner\.[a-z0-9-]+\.alerts\.v1$"
UNIT_STATUS_PATTERN = r"^force\.[a-z0-9-]+\.status\.v1$"

_OWNER = re.compile(r"^(?:partner|force)\.([a-z0-9-]+)\.[a-z]+\.v\d+$")


def partner_incidents(partner_id: str) -> str:
    return f"partner.{partner_id}.incidents.v1"


def partner_alerts(partner_id: str) -> str:
    return f"partner.{partner_id}.alerts.v1"


def partner_input(partner_id: str, lane: Lane) -> str:
    """The partner's topic for an event of this lane (``routing.policy.lane_for``)."""
    return partner_alerts(partner_id) if lane is Lane.ALERT else partner_incidents(partner_id)


def partner_acks(partner_id: str) -> str:
    return f"partner.{partner_id}.acks.v1"


def unit_incidents(unit_id: str) -> str:
    return f"force.{unit_id}.incidents.v1"


def unit_alerts(unit_id: str) -> str:
    return f"force.{unit_id}.alerts.v1"


def unit_status(unit_id: str) -> str:
    return f"force.{unit_id}.status.v1"


def partner_sandbox(partner_id: str) -> str:
    """Where the partner's TEST events (CAP status ``Test``) are routed instead of to a unit:
    the routed copies a unit would have received, read by the partner only (docs/routing.md,
    "Sandbox")."""
    return f"partner.{partner_id}.sandbox.v1"


def unit_feedback(unit_id: str) -> str:
    """Answers to the unit's refused statuses (``UnitFeedback``), read by the unit only."""
    return f"force.{unit_id}.feedback.v1"


def partner_prevention(partner_id: str) -> str:
    """Hotspot notices about the landlord's residences (read by the landlord only)."""
    return f"partner.{partner_id}.prevention.v1"


def unit_prevention(unit_id: str) -> str:
    """Hotspot notices about residences in the unit's zone (read by the unit only)."""
    return f"force.{unit_id}.prevention.v1"


def changelog(app_id: str) -> str:
    """The workers' state changelog: one per application id, so that tests and benchmarks
    can run apps side by side on one broker."""
    return f"{app_id}-events-changelog"


def owner_of(topic: str) -> str | None:
    """The partner or unit id a topic belongs to, or None for a topic outside the scheme."""
    match = _OWNER.match(topic)
    return match.group(1) if match else None

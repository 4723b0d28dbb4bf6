"""The routing policy: which unit receives an event, on which lane, and why.

Pure and deterministic: ``decide(event, ref)`` reads only the event and the reference
snapshot (no clock, no randomness, no I/O), so the same event with the same snapshot always
gives the same decision, and the decision names the reference versions it used.

- Placed event: the unit the competence table names for the commune on the day the event
  was sent (``sent_at``'s date: the table is effective-dated).
- Unplaced event, or no competent unit: NENA-style default routing. The event goes to both
  departmental command centres (police CIC and gendarmerie CORG) for manual triage rather
  than being dropped; ``reason_code`` says why.
- Lane ALERT for urgent categories, persons in danger, or staff involved with immediate
  urgency; INCIDENT otherwise.

The explanation is built from codes and reference data only: never from the event's free
text, which may hold personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from vigie.contracts.enums import (
    URGENT_CATEGORIES,
    DecisionStatus,
    Force,
    Lane,
    LocateMethod,
    Urgency,
)
from vigie.contracts.models import (
    CompetenceRecord,
    Enrichment,
    PartnerEvent,
    RoutingDecision,
)
from vigie.contracts.reasons import ReasonCode
from vigie.reference.snapshot import ReferenceSnapshot
from vigie.routing.locate import Placement, locate

#: Used only if the unit table lost its command centres: an event is never dropped.
FALLBACK_COMMAND_CENTRES: dict[Force, str] = {Force.PN: "pn-cic-oise", Force.GN: "gn-corg-oise"}
UNKNOWN_UNIT = str(ReasonCode.UNKNOWN_UNIT)
_OTHER = {Force.PN: Force.GN, Force.GN: Force.PN}
_HOW = {
    LocateMethod.SITE: "partner site in",
    LocateMethod.COORDINATES: "coordinates in",
    LocateMethod.INSEE: "address INSEE code of",
    LocateMethod.POSTCODE: "postcode and commune name of",
}


@dataclass(frozen=True, slots=True)
class RoutingOutcome:
    """The decision (what the bus acts on) and the enrichment (what the unit reads)."""

    decision: RoutingDecision
    enrichment: Enrichment


def lane_for(event: PartnerEvent) -> Lane:
    """Urgent alerts get their own lane so that no incident backlog delays them."""
    if (
        event.category in URGENT_CATEGORIES
        or event.persons_in_danger
        or (event.staff_involved and event.urgency is Urgency.IMMEDIATE)
    ):
        return Lane.ALERT
    return Lane.INCIDENT


def command_centre(force: Force, ref: ReferenceSnapshot) -> str:
    """The departmental command centre of a force."""
    return ref.command_centres.get(force) or FALLBACK_COMMAND_CENTRES[force]


def both_command_centres(ref: ReferenceSnapshot) -> list[str]:
    """Police centre first, then gendarmerie: a fixed order keeps decisions deterministic."""
    return [command_centre(Force.PN, ref), command_centre(Force.GN, ref)]


def _manual(
    placement: Placement,
    lane: Lane,
    ref: ReferenceSnapshot,
    reason: str,
    why: str,
) -> RoutingDecision:
    return RoutingDecision(
        status=DecisionStatus.MANUAL_TRIAGE,
        units=both_command_centres(ref),
        force=None,
        lane=lane,
        method=LocateMethod.DEFAULT,
        insee_code=placement.commune.insee if placement.commune is not None else None,
        reference_versions=dict(ref.versions),
        discrepancy=placement.discrepancy,
        reason_code=reason,
        explanation=f"{why}: sent to both departmental command centres for manual triage",
    )


def _enrichment(placement: Placement) -> Enrichment:
    commune, site = placement.commune, placement.site
    return Enrichment(
        site=site,
        commune=commune.info if commune is not None else None,
        qpv_name=site.qpv_name if site is not None else None,
        zsp=site.zsp if site is not None else False,
    )


def _routed(
    placement: Placement, lane: Lane, record: CompetenceRecord, ref: ReferenceSnapshot
) -> RoutingDecision:
    commune = placement.commune
    assert commune is not None
    note = f"; {', '.join(placement.notes)}" if placement.notes else ""
    inferred = " (inferred row)" if record.inferred else ""
    return RoutingDecision(
        status=DecisionStatus.ROUTED,
        units=[record.unit_id],
        force=record.force,
        lane=lane,
        method=placement.method,
        insee_code=commune.insee,
        reference_versions=dict(ref.versions),
        discrepancy=placement.discrepancy,
        reason_code=placement.notes[0] if placement.notes else None,
        explanation=(
            f"{_HOW[placement.method]} {commune.name} ({commune.insee}); "
            f"{record.force.value} competent: {record.unit_id}{inferred}{note}"
        ),
    )


def decide(event: PartnerEvent, ref: ReferenceSnapshot) -> RoutingOutcome:
    """Route one event with one reference snapshot.

    Plain routed decisions (no discrepancy, no note) depend only on (commune, competence
    record, method, lane), so they are memoised in the snapshot and shared between events,
    as are enrichments: that is what keeps the router above 50,000 decisions/s per core.
    Decisions and enrichments are frozen models: never mutate their lists or dicts.
    """
    placement = locate(event, ref)
    lane = lane_for(event)
    commune = placement.commune
    if commune is None:
        reason = placement.reason_code or UNKNOWN_UNIT
        unplaced = _manual(placement, lane, ref, reason, f"unplaced ({reason})")
        return RoutingOutcome(unplaced, _enrichment(placement))
    memo = ref.memo
    site = placement.site
    enrichment_key = ("enrichment", commune.insee, site.site_id if site is not None else None)
    enrichment = memo.get(enrichment_key)
    if enrichment is None:
        enrichment = _enrichment(placement)
        _remember(memo, enrichment_key, enrichment)
    record = ref.competence.lookup(commune.insee, event.sent_at.date())
    if record is None or record.unit_id not in ref.units:
        what = "no competence record" if record is None else f"unknown unit {record.unit_id}"
        manual = _manual(placement, lane, ref, UNKNOWN_UNIT, f"{commune.insee}: {what}")
        return RoutingOutcome(manual, enrichment)
    if placement.discrepancy is not None or placement.notes:
        return RoutingOutcome(_routed(placement, lane, record, ref), enrichment)
    # id(record): the record lives as long as the snapshot that holds this memo.
    decision_key = ("decision", commune.insee, id(record), placement.method, lane)
    decision: RoutingDecision | None = memo.get(decision_key)
    if decision is None:
        decision = _routed(placement, lane, record, ref)
        _remember(memo, decision_key, decision)
    return RoutingOutcome(decision, enrichment)


#: Bound of a snapshot's memo (sites x communes could grow it): cleared when reached.
MEMO_MAX_ENTRIES = 200_000


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= MEMO_MAX_ENTRIES:
        memo.clear()
    memo[key] = value


def _force_of(unit_id: str, ref: ReferenceSnapshot) -> Force | None:
    unit = ref.units.get(unit_id)
    if unit is not None:
        return unit.force
    prefix = unit_id.split("-", 1)[0].upper()
    return Force(prefix) if prefix in Force.__members__ else None


def transfer(
    decision: RoutingDecision,
    from_unit: str,
    ref: ReferenceSnapshot,
    on: date | None = None,
) -> RoutingDecision:
    """Re-route an event a unit sends back as not its own, to the other force.

    Target: the other force's unit the competence table names for the commune (its latest
    record of that force in force on ``on``), else the other force's departmental command
    centre. Whether ``from_unit`` may speak for the event is the status relay's business.
    """
    force = _force_of(from_unit, ref) or decision.force
    if force is None:
        raise ValueError(f"cannot tell the force of unit {from_unit!r}")
    other = _OTHER[force]
    target: str | None = None
    if decision.insee_code is not None:
        for record in reversed(ref.competence.history(decision.insee_code)):
            if (on is None or record.effective_from <= on) and record.force is other:
                if record.unit_id in ref.units:
                    target = record.unit_id
                break
    how = "competent unit of the commune"
    if target is None:
        target = command_centre(other, ref)
        how = "departmental command centre"
    return decision.model_copy(
        update={
            "status": DecisionStatus.ROUTED,
            "units": [target],
            "force": other,
            "reference_versions": dict(ref.versions),
            "explanation": f"transferred by {from_unit} ({force.value}) to {other.value} "
            f"{how}: {target}",
        }
    )


def escalation_target(unit_id: str, ref: ReferenceSnapshot) -> str:
    """Where an unanswered alert escalates: the departmental command centre of the unit's force.

    A command centre escalates to itself; a unit unknown to the table is judged by its id
    prefix (``pn-``/``gn-``).
    """
    unit = ref.units.get(unit_id)
    if unit is not None and unit.command_centre_id and unit.command_centre_id in ref.units:
        return unit.command_centre_id
    force = _force_of(unit_id, ref)
    if force is None:
        raise ValueError(f"cannot tell the force of unit {unit_id!r}")
    return command_centre(force, ref)

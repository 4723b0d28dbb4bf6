"""The routing policy: which unit receives an event, on which lane, and why.

Pure and deterministic: ``decide(event, ref, context)`` reads only the event, the reference
snapshot and the context (the time and the open alerts: inputs, never a clock read here), so
the same inputs always give the same decision, and the decision names the reference versions
it used.

- Placed event: the unit the competence table names for the commune on the day the event
  was sent (``sent_at``'s date: the table is effective-dated), then the routing rules of
  that unit at the context's time (``vigie.routing.chain``): unavailability, service hours
  and public holidays, overflow, each diverting to the unit's fallback on the lanes it names.
  The decision names the competent unit, the rule that diverted the event and the rules'
  version.
- Unplaced event, or no competent unit: NENA-style default routing. The event goes to both
  departmental command centres (police CIC and gendarmerie CORG) for manual triage rather
  than being dropped; ``reason_code`` says why. A chain of rules that ends with nobody on
  duty goes to manual triage at the competent force's centre (``NO_UNIT_ON_DUTY``).
- Lane ALERT for urgent categories, persons in danger, or staff involved with immediate
  urgency; INCIDENT otherwise.

The explanation is built from codes and reference data only: never from the event's free
text, which may hold personal data. It is in French (gendarmes and police officers read it
in ``vigie tail`` and their own tools); rule and reason codes inside it stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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
from vigie.routing.chain import Route, RoutingContext, on_duty_text, remember, resolve
from vigie.routing.locate import Placement, locate

#: Used only if the unit table lost its command centres: an event is never dropped.
FALLBACK_COMMAND_CENTRES: dict[Force, str] = {Force.PN: "pn-cic-oise", Force.GN: "gn-corg-oise"}
UNKNOWN_UNIT = str(ReasonCode.UNKNOWN_UNIT)
NO_UNIT_ON_DUTY = str(ReasonCode.NO_UNIT_ON_DUTY)
_OTHER = {Force.PN: Force.GN, Force.GN: Force.PN}
#: How the event was placed, in the explanation (French: gendarmes and police read it).
_HOW = {
    LocateMethod.SITE: "site du bailleur à",
    LocateMethod.COORDINATES: "coordonnées à",
    LocateMethod.INSEE: "code INSEE de l'adresse :",
    LocateMethod.POSTCODE: "code postal et commune :",
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
        explanation=f"{why} : transmis aux deux centres départementaux pour tri manuel",
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
    placement: Placement,
    lane: Lane,
    record: CompetenceRecord,
    ref: ReferenceSnapshot,
    rules_version: str | None,
) -> RoutingDecision:
    commune = placement.commune
    assert commune is not None
    note = f" ; {', '.join(placement.notes)}" if placement.notes else ""
    inferred = " (ligne déduite)" if record.inferred else ""
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
            f"{_HOW[placement.method]} {commune.name} ({commune.insee}) ; "
            f"compétence {record.force.value} : {record.unit_id}{inferred}{note}"
        ),
        competent_unit_id=record.unit_id,
        rules_version=rules_version,
    )


def diverted(decision: RoutingDecision, route: Route, ref: ReferenceSnapshot,
             at: datetime) -> RoutingDecision:
    """``decision`` (to the competent unit) after the rule chain passed that unit over.

    The unit that takes it may be of the other force (the command centres back each other
    up); with nobody on the chain, manual triage at the competent force's departmental
    centre — at both centres when that centre was itself passed over."""
    chain = " ; ".join(step.text() for step in route.steps)
    if route.unit_id is None:
        force = decision.force
        passed = {step.unit_id for step in route.steps}
        centre = command_centre(force, ref) if force is not None else None
        units = [centre] if centre is not None and centre not in passed else (
            both_command_centres(ref))
        return decision.model_copy(update={
            "status": DecisionStatus.MANUAL_TRIAGE,
            "units": units,
            "reason_code": NO_UNIT_ON_DUTY,
            "routing_rule": route.steps[0].rule.value,
            "explanation": f"{decision.explanation} ; {chain} ; aucune unité de service : "
                           f"tri manuel à {', '.join(units)}",
        })
    taker = ref.units[route.unit_id]
    return decision.model_copy(update={
        "units": [route.unit_id],
        "force": taker.force,
        "routing_rule": route.steps[0].rule.value,
        "explanation": f"{decision.explanation} ; {chain} ; "
                       f"{on_duty_text(route.unit_id, ref, at)}",
    })


def decide(
    event: PartnerEvent, ref: ReferenceSnapshot, context: RoutingContext | None = None
) -> RoutingOutcome:
    """Route one event with one reference snapshot, at the context's time.

    Without a context the rules are applied at the event's ``sent_at`` with no open alerts,
    which keeps the function pure for callers that have no clock (tools, tests); the
    workers pass the time of the decision and their open alerts.

    Plain routed decisions (no discrepancy, no note) depend only on (commune, competence
    record, method, lane, rules version), so they are memoised in the snapshot and shared
    between events, as are enrichments and diverted decisions (keyed by the chain): that is
    what keeps the router above 50,000 decisions/s per core. Decisions and enrichments are
    frozen models: never mutate their lists or dicts.
    """
    placement = locate(event, ref)
    lane = lane_for(event)
    commune = placement.commune
    if commune is None:
        reason = placement.reason_code or UNKNOWN_UNIT
        unplaced = _manual(placement, lane, ref, reason, f"non localisé ({reason})")
        return RoutingOutcome(unplaced, _enrichment(placement))
    memo = ref.memo
    site = placement.site
    enrichment_key = ("enrichment", commune.insee, site.site_id if site is not None else None)
    enrichment = memo.get(enrichment_key)
    if enrichment is None:
        enrichment = _enrichment(placement)
        remember(memo, enrichment_key, enrichment)
    record = ref.competence.lookup(commune.insee, event.sent_at.date())
    if record is None or record.unit_id not in ref.units:
        what = ("aucune ligne de compétence" if record is None
                else f"unité inconnue {record.unit_id}")
        manual = _manual(placement, lane, ref, UNKNOWN_UNIT, f"{commune.insee} : {what}")
        return RoutingOutcome(manual, enrichment)
    if context is None:
        context = RoutingContext(at=event.sent_at)
    route = resolve(record.unit_id, lane, ref, context)
    if placement.discrepancy is not None or placement.notes:
        noted = _routed(placement, lane, record, ref, route.rules_version)
        if route.steps:
            noted = diverted(noted, route, ref, context.at)
        return RoutingOutcome(noted, enrichment)
    # id(record): the record lives as long as the snapshot that holds this memo.
    decision_key = ("decision", commune.insee, id(record), placement.method, lane,
                    route.rules_version)
    decision: RoutingDecision | None = memo.get(decision_key)
    if decision is None:
        decision = _routed(placement, lane, record, ref, route.rules_version)
        remember(memo, decision_key, decision)
    if route.steps:
        # Diverted decisions are shared too (the routed copy's encoding is cached per
        # object): same base decision and same chain, same decision.
        # A route the snapshot keeps is keyed by identity (no hashing of its steps);
        # another one, built for this call, by its content.
        route_key = id(route) if route.shared else route.steps
        diverted_key = ("diverted", decision_key, route.unit_id, route_key)
        cached: RoutingDecision | None = memo.get(diverted_key)
        if cached is None:
            cached = diverted(decision, route, ref, context.at)
            remember(memo, diverted_key, cached)
        decision = cached
    return RoutingOutcome(decision, enrichment)


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
    context: RoutingContext | None = None,
) -> RoutingDecision:
    """Re-route an event a unit sends back as not its own, to the other force.

    Target: the other force's unit the competence table names for the commune (its latest
    record of that force in force on ``on``), else the other force's departmental command
    centre; with a ``context``, the target's routing rules apply at its time as for a new
    event. Whether ``from_unit`` may speak for the event is the status relay's business.
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
    how = "unité compétente de la commune"
    if target is None:
        target = command_centre(other, ref)
        how = "centre départemental"
    moved = decision.model_copy(
        update={
            "status": DecisionStatus.ROUTED,
            "units": [target],
            "force": other,
            "reference_versions": dict(ref.versions),
            "explanation": f"transféré par {from_unit} ({force.value}) vers {other.value}, "
            f"{how} : {target}",
            "competent_unit_id": target,
            "routing_rule": None,
        }
    )
    if context is None:
        return moved
    route = resolve(target, decision.lane, ref, context)
    return diverted(moved, route, ref, context.at) if route.steps else moved


def escalation_route(unit_id: str, ref: ReferenceSnapshot,
                     context: RoutingContext) -> tuple[str, Route]:
    """Where an unanswered alert escalates at the context's time, and the chain that says so.

    The unit's departmental command centre (``escalation_target``), unless the rules pass it
    over (declared unavailable, say): then whoever its chain puts on duty. The centre itself
    when the chain finds nobody: an escalation is never dropped."""
    target = escalation_target(unit_id, ref)
    route = resolve(target, Lane.ALERT, ref, context)
    return route.unit_id or target, route


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

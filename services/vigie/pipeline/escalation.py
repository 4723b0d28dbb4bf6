"""Escalation of urgent alerts that nobody takes in charge in time.

The timer (adapter side) only notices that a deadline passed and asks; this processor
decides, against the current record, whether the alert still needs escalating — so a timer
that fires twice, or after a take-in-charge raced it, changes nothing.

The alert goes to whoever is on duty at that time: the departmental command centre of each
unit it was routed to, run through the same routing rules as a new event (a centre declared
unavailable is backed up by its fallback; ``vigie.routing.policy.escalation_route``). An
EXERCISE alert has a timer only when its exercise escalates, and goes only to the centres
taking part (``vigie.routing.cap``); none taking part: nothing is escalated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vigie.acks.lifecycle import escalation_due
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, DecisionStatus
from vigie.contracts.keys import root_event_id
from vigie.contracts.models import PartnerEvent
from vigie.pipeline import outputs
from vigie.pipeline.intake import ContextFor, utcnow
from vigie.pipeline.messages import EventRecord, Inbound, Outcome, StageResult, advance
from vigie.reference.snapshot import ReferenceStore
from vigie.routing import cap
from vigie.routing.chain import RoutingContext
from vigie.routing.policy import decide, escalation_route

#: The source named in escalation acknowledgements: the engine's timer, not a topic (it runs
#: inside the routing transaction of the alert's partition, see ``vigie.workers.engine``).
ESCALATION_TIMER = "vigie.alert-timer"


class EscalationProcessor:
    stage = "escalation"

    def __init__(
        self,
        store: ReferenceStore,
        clock: Callable[[], datetime] = utcnow,
        context: ContextFor | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._context: ContextFor = context or (lambda now: RoutingContext(at=now))

    @staticmethod
    def due(record: EventRecord, now: float) -> bool:
        return escalation_due(record.state, record.alert_deadline, now)

    def handle(self, msg: Inbound, record: EventRecord | None) -> StageResult:
        """``msg`` is the timer's request (its coordinates and the event id make the ack id
        deterministic)."""
        now = self._clock()
        if record is None or not self.due(record, now.timestamp()) or not record.event_bytes:
            return StageResult(Outcome.DUPLICATE, record.partner_id if record else None)
        snapshot = self._store.snapshot()
        event = decode(record.event_bytes, PartnerEvent)
        context = self._context(now)
        routing = decide(event, snapshot, context)
        routes = [escalation_route(unit, snapshot, context) for unit in record.units]
        centres = sorted({target for target, _ in routes})
        # An exercise's alert escalates only to centres taking part (``vigie.routing.cap``).
        centres = cap.escalation_targets(event.status, centres, snapshot, context.at)
        if not centres:
            return StageResult(Outcome.DUPLICATE, record.partner_id)
        chains = [route for _, route in routes if route.steps]
        rule = chains[0].rule.value if chains and chains[0].rule else None
        explanation = f"escaladé : non pris en compte par {', '.join(record.units)}"
        for chain in chains:
            explanation += " ; " + " ; ".join(step.text() for step in chain.steps)
        competent = record.competent_unit or routing.decision.competent_unit_id
        decision = routing.decision.model_copy(update={
            "status": DecisionStatus.ROUTED,
            "units": centres,
            "lane": record.lane,
            "explanation": explanation,
            "routing_rule": rule,
            "competent_unit_id": competent,
        })
        outbound = outputs.routed_copies(event, root_event_id(event), decision,
                                         routing.enrichment, now)
        outbound.append(outputs.ack(msg, record.partner_id, record.event_id,
                                    AckStatus.ESCALATED, now, units=centres,
                                    routing_rule=rule, competent_unit=competent))
        # The command centres may now answer for the alert too.
        units = tuple(dict.fromkeys((*record.units, *centres)))
        updated = advance(record, AckStatus.ESCALATED, alert_deadline=None, units=units)
        diversion = (rule, chains[0].steps[0].unit_id) if rule and chains else None
        return StageResult(Outcome.ROUTED, record.partner_id, outbound, updated,
                           units=tuple(record.units), lane=record.lane,
                           escalated_from=tuple(record.units), diversion=diversion)

"""Force status relay: a unit's status about an event goes back to the partner who sent it.

A status cites any id of an incident (its root's, or a follow-up's own) and is keyed by the
root id; it is resolved to the root, which it acts on. It is accepted only from a unit the
event is currently routed to, and only when the acknowledgement rules allow it next
(``vigie.acks.lifecycle``). What is refused is answered on the unit's own feedback topic
(``UnitFeedback``: reason code and French text) and goes to the dead-letter topic (the bytes,
for operations' triage and replay; ``vigie_status_updates_total{outcome="rejected"}``).
A transfer request re-routes the event to the other force and tells the partner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from vigie.acks.lifecycle import FORCE_TO_ACK, accept_force_status
from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode, is_uuid
from vigie.contracts.enums import AckStatus, DecisionStatus, Force, ForceStatus
from vigie.contracts.keys import root_event_id
from vigie.contracts.models import PartnerEvent, StatusUpdate
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.validation import validate_status_update
from vigie.pipeline import outputs
from vigie.pipeline.intake import ContextFor, Lookup, diversion_of, rules_context, utcnow
from vigie.pipeline.messages import (
    EventRecord,
    Inbound,
    Outcome,
    StageResult,
    StatusFacts,
    advance,
)
from vigie.reference.snapshot import ReferenceStore
from vigie.routing import cap
from vigie.routing.policy import decide, transfer
from vigie.settings import Settings

#: What a unit reads when its status names no event it can act on (feedback topic).
KEY_HINT = ("Citez l'identifiant d'un événement reçu (l'événement initial ou une de ses mises "
            "à jour) et mettez en clé Kafka l'identifiant de l'événement initial, celui de la "
            "clé de l'événement reçu.")

#: Statuses that show the force reacted: the alert timer stops.
TAKES_IN_CHARGE = frozenset({ForceStatus.TAKEN_IN_CHARGE, ForceStatus.PATROL_DISPATCHED})


class StatusProcessor:
    stage = "status"

    def __init__(
        self,
        store: ReferenceStore,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        context: ContextFor | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._context = context or rules_context(settings)

    def handle(self, msg: Inbound, lookup: Lookup) -> StageResult:
        now = self._clock()
        unit_id = topics.owner_of(msg.topic)
        if unit_id is None:
            return self.refuse(msg, ReasonCode.INTERNAL_ERROR, "topic outside the scheme", now)
        try:
            update = decode(msg.value or b"", StatusUpdate)
        except DecodeError as exc:
            return self.refuse(msg, exc.reason, exc.detail, now)
        issues = validate_status_update(update, topic_unit_id=unit_id, now=now,
                                        future_tolerance=self._settings.future_tolerance)
        if issues:
            return self.refuse(msg, issues[0].reason, issues[0].field, now, update=update,
                               hint=f"Champ en cause : {issues[0].field}.")
        if msg.misplaced:
            return self.refuse(msg, ReasonCode.WRONG_PARTITION,
                               "record not on its key's murmur2 partition", now, update=update)
        # The status may cite any id of the incident (the root's, or one of its follow-ups'),
        # keyed by the root id: the key's partition holds them all (docs/acknowledgements.md).
        cited = lookup(update.event_id)
        root_id = (cited.root_id or cited.event_id) if cited is not None else update.event_id
        if msg.key != root_id.encode():
            return self.refuse(msg, ReasonCode.KEY_MISMATCH, "key is not the root event id",
                               now, update=update, hint=KEY_HINT)
        record = cited if cited is None or cited.root_id is None else lookup(root_id)
        if record is None or record.state is None or record.sandbox:
            # A sandboxed event reached no unit: no unit can speak for it.
            return self.refuse(msg, ReasonCode.UNKNOWN_REFERENCE, "event unknown", now,
                               update=update, hint=KEY_HINT)
        if unit_id not in record.units:
            return self.refuse(msg, ReasonCode.STATUS_NOT_ALLOWED,
                               "unit is not a destination of the event", now, update=update,
                               hint="Votre unité n'est pas (ou plus) destinataire de cet "
                                    "événement.")
        if not accept_force_status(record.state, update.status):
            return self.refuse(msg, ReasonCode.STATUS_NOT_ALLOWED,
                               f"{update.status.value} not allowed after {record.state.value}",
                               now, update=update,
                               hint=f"{update.status.value} n'est pas accepté après "
                                    f"{record.state.value}.")

        status = FORCE_TO_ACK[update.status]
        facts = StatusFacts(unit_id, update.status)
        if update.status in TAKES_IN_CHARGE and record.alert_deadline and record.routed_at:
            facts = replace(facts, taken_in_charge_after=max(now.timestamp() - record.routed_at,
                                                             0.0))
        if update.status is ForceStatus.TRANSFER_REQUESTED:
            return self._transfer(msg, record, unit_id, update, now, facts)
        ack = outputs.ack(msg, record.partner_id, record.event_id, status, now, units=[unit_id])
        stops_timer = update.status in TAKES_IN_CHARGE or update.status is ForceStatus.CLOSED
        updated = advance(record, status,
                          alert_deadline=None if stops_timer else record.alert_deadline)
        return StageResult(Outcome.ROUTED, record.partner_id, [ack], updated,
                           units=(unit_id,), status=facts)

    def _transfer(
        self,
        msg: Inbound,
        record: EventRecord,
        unit_id: str,
        update: StatusUpdate,
        now: datetime,
        facts: StatusFacts,
    ) -> StageResult:
        """Send the event to the other force and say so twice: requested, then transferred."""
        if record.event_bytes is None:
            return self.refuse(msg, ReasonCode.STATUS_NOT_ALLOWED, "event not transferable", now,
                               update=update, hint="Cet événement ne peut pas être transféré.")
        event = decode(record.event_bytes, PartnerEvent)
        snapshot = self._store.snapshot()
        context = self._context(now)
        routing = decide(event, snapshot, context)
        current = routing.decision.model_copy(update={
            "units": [unit_id],
            "force": Force(record.force) if record.force else routing.decision.force,
            "insee_code": record.insee_code or routing.decision.insee_code,
            "lane": record.lane,
        })
        # The other force's unit gets the event under its own rules at this time (a closed
        # brigade's alert goes to the CORG, as a new alert would).
        moved = transfer(current, unit_id, snapshot, context=context)
        if update.transfer_to_force is not None and moved.force is not update.transfer_to_force:
            return self.refuse(msg, ReasonCode.STATUS_NOT_ALLOWED,
                               "transfer target force does not match", now, update=update,
                               hint="La force demandée pour le transfert n'est pas l'autre "
                                    "force compétente.")
        # An exercise moves only to units taking part (``vigie.routing.cap``).
        sent = cap.delivery(event.status, moved.units, snapshot, context.at)
        if sent.sandbox:
            return self.refuse(msg, ReasonCode.STATUS_NOT_ALLOWED,
                               "transfer target takes part in no exercise", now, update=update,
                               hint="L'unité visée par le transfert ne participe à aucun "
                                    "exercice en cours.")
        moved = moved.model_copy(update={"status": DecisionStatus.ROUTED,
                                         "units": list(sent.units)})
        outbound = [
            outputs.ack(msg, record.partner_id, record.event_id, AckStatus.TRANSFER_REQUESTED,
                        now, units=[unit_id]),
            *outputs.routed_copies(event, root_event_id(event), moved, routing.enrichment, now),
            outputs.ack(msg, record.partner_id, record.event_id, AckStatus.TRANSFERRED, now,
                        units=moved.units, routing_rule=moved.routing_rule,
                        competent_unit=moved.competent_unit_id),
        ]
        updated = advance(record, AckStatus.TRANSFER_REQUESTED, AckStatus.TRANSFERRED,
                          units=tuple(moved.units),
                          force=moved.force.value if moved.force else None,
                          alert_deadline=None, routing_rule=moved.routing_rule,
                          competent_unit=moved.competent_unit_id)
        return StageResult(Outcome.ROUTED, record.partner_id, outbound, updated,
                           units=tuple(moved.units), lane=record.lane,
                           status=replace(facts, transfer=(unit_id, moved.units[0])),
                           diversion=diversion_of(moved))

    def refuse(
        self,
        msg: Inbound,
        reason: ReasonCode,
        detail: str,
        now: datetime | None = None,
        *,
        update: StatusUpdate | None = None,
        hint: str | None = None,
    ) -> StageResult:
        """A refused status: a dead letter for operations (the bytes, for triage and replay)
        and, when the topic names a unit, an answer on that unit's feedback topic: the
        reason code and a French text (``hint``: what to do), never the record's content."""
        now = now or self._clock()
        # Units key a status by the event id: say which event the refusal is about.
        key = (msg.key or b"").decode(errors="replace")
        event_id = update.event_id if update is not None else key if is_uuid(key) else None
        letter = outputs.dead_letter(self.stage, msg, reason, detail, now,
                                     event_id=key if is_uuid(key) else None)
        outbound = [letter]
        unit_id = topics.owner_of(msg.topic)
        if unit_id is not None:
            outbound.append(outputs.unit_feedback(
                msg, unit_id, event_id, update.status.value if update is not None else None,
                reason, now, hint))
        return StageResult(Outcome.REJECTED, None, outbound, reason_code=reason.value,
                           status=StatusFacts(unit_id or "unknown"))

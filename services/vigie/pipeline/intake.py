"""Intake and routing of partner events: decode → validate → dedupe → locate → route.

Every input ends in exactly one ``Outcome`` and, whenever the sender is known, exactly one
routing acknowledgement on the sender's own ack topic. Kafka keys are part of the contract:
a partner keys each message by its *root* event id (the event id of a NEW, the referenced
event id of an UPDATE or CANCEL), so that every message about one incident lands in one
partition, in order, next to the table entry that remembers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from vigie.acks.lifecycle import escalation_deadline
from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode, recover_event_id
from vigie.contracts.enums import AckStatus, DecisionStatus, EventStatus, Lane, MessageType
from vigie.contracts.keys import root_event_id
from vigie.contracts.models import PartnerEvent, RoutingDecision
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.validation import validate_event
from vigie.pipeline import outputs
from vigie.pipeline.messages import EventRecord, Inbound, Outcome, StageResult
from vigie.reference.snapshot import ReferenceStore
from vigie.routing import cap
from vigie.routing.chain import RoutingContext
from vigie.routing.policy import RoutingOutcome, decide
from vigie.settings import Settings

Lookup = Callable[[str], EventRecord | None]
#: The routing context (the rules' time, the open alerts) at the real time ``now``.
ContextFor = Callable[[datetime], RoutingContext]


def utcnow() -> datetime:
    return datetime.now(UTC)


def rules_context(settings: Settings) -> ContextFor:
    """The context of a processor that knows no open alerts (tools, tests): only the rules'
    clock (``Settings.routing_time``). The worker passes its own, with its alert counts."""

    def context(now: datetime) -> RoutingContext:
        return RoutingContext(at=settings.routing_time(now))

    return context


def cap_status_of(event: PartnerEvent) -> str | None:
    """What a table record keeps of the event's CAP status: None for ACTUAL (most records)."""
    return None if event.status is EventStatus.ACTUAL else event.status.value


def diversion_of(decision: RoutingDecision) -> tuple[str, str] | None:
    """(rule, competent unit) of a diverted decision, for the metrics; None otherwise."""
    if decision.routing_rule is None or decision.competent_unit_id is None:
        return None
    return decision.routing_rule, decision.competent_unit_id


def _routed_record(msg: Inbound, partner_id: str, event: PartnerEvent,
                   decision: RoutingDecision, now: datetime, *,
                   event_bytes: bytes | None = None, alert_deadline: float | None = None,
                   sandbox_reason: ReasonCode | None = None) -> EventRecord:
    """What the state remembers of a new event just routed (to units or to the sandbox):
    one builder, so both kinds keep the same fields; the callers pass what differs (built
    in one go: a ``dataclasses.replace`` afterwards would cost a second construction)."""
    return EventRecord(
        event_id=event.event_id,
        partner_id=partner_id,
        status=AckStatus.ROUTED,
        source=msg.coordinates_text,
        units=tuple(decision.units),
        lane=decision.lane,
        reason_code=sandbox_reason.value if sandbox_reason else decision.reason_code,
        routed_at=now.timestamp(),
        lifecycle=(AckStatus.ROUTED,),
        insee_code=decision.insee_code,
        force=decision.force.value if decision.force else None,
        routing_rule=decision.routing_rule,
        competent_unit=decision.competent_unit_id,
        cap_status=cap_status_of(event),
        event_bytes=event_bytes,
        alert_deadline=alert_deadline,
        sandbox=sandbox_reason is not None,
    )


class IntakeProcessor:
    """Turns one raw partner message into routed copies, one ack and a table record."""

    stage = "intake"

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

    # -- public -----------------------------------------------------------------------------
    def handle(self, msg: Inbound, lookup: Lookup) -> StageResult:
        partner_id = topics.owner_of(msg.topic)
        if partner_id is None:
            return self.dead_letter(msg, ReasonCode.INTERNAL_ERROR, "topic outside the scheme")
        now = self._clock()
        raw = msg.value or b""
        try:
            event = decode(raw, PartnerEvent)
        except DecodeError as exc:
            # Both the sender (ack) and operations (dead letter with the bytes) must know.
            result = self._reject(msg, partner_id, recover_event_id(raw), exc.reason, now)
            letter = outputs.dead_letter(self.stage, msg, exc.reason, exc.detail, now)
            result.outbound.append(letter)
            return result

        root = root_event_id(event)
        if msg.key is None or msg.key != root.encode():
            # Not recorded: a wrongly keyed message sits in a partition that is not the
            # event's, so its correctly keyed resend must be judged afresh.
            return self._reject(msg, partner_id, event.event_id, ReasonCode.KEY_MISMATCH, now)
        if msg.misplaced:
            # Never looked up: this partition's state is not the incident's (another
            # partner's incident could be answered here, see docs/security.md).
            return self._reject(msg, partner_id, event.event_id, ReasonCode.WRONG_PARTITION, now)

        previous = lookup(event.event_id)
        if previous is not None:
            return self._repeat(msg, partner_id, event, previous, root, lookup, now)
        return self._decide(msg, partner_id, event, root, lookup, now)

    def _decide(
        self,
        msg: Inbound,
        partner_id: str,
        event: PartnerEvent,
        root: str,
        lookup: Lookup,
        now: datetime,
        context: RoutingContext | None = None,
    ) -> StageResult:
        """What a message seen for the first time becomes: rejected, expired or routed."""
        issues = validate_event(
            event,
            topic_partner_id=partner_id,
            now=now,
            future_tolerance=self._settings.future_tolerance,
            past_horizon=self._settings.past_horizon,
        )
        if issues:
            # Nothing remembered: a rejected id may be junk of any length (state a flood of
            # junk could grow), and a corrected resend under the same id deserves a verdict.
            return self._reject(msg, partner_id, event.event_id, issues[0].reason, now)

        if event.expires_at is not None and event.expires_at <= now:
            record = EventRecord(
                event_id=event.event_id,
                partner_id=partner_id,
                status=AckStatus.EXPIRED,
                source=msg.coordinates_text,
                reason_code=ReasonCode.EXPIRED.value,
                lifecycle=(AckStatus.EXPIRED,),
            )
            ack = outputs.ack(msg, partner_id, event.event_id, AckStatus.EXPIRED, now,
                            reason=ReasonCode.EXPIRED)
            return StageResult(Outcome.EXPIRED, partner_id, [ack], record,
                               reason_code=ReasonCode.EXPIRED.value)

        if event.message_type is MessageType.NEW:
            return self._route_new(msg, partner_id, event, root, now,
                                   context or self._context(now))
        return self._route_follow_up(msg, partner_id, event, root, lookup, now)

    def _alert_deadline(self, lane: Lane, now: datetime) -> float | None:
        if lane is not Lane.ALERT:
            return None
        return escalation_deadline(now, self._settings.alert_takeover_delay).timestamp()

    def dead_letter(self, msg: Inbound, reason: ReasonCode, detail: str) -> StageResult:
        """The last resort for a record this stage cannot handle: keep its bytes, say why."""
        now = self._clock()
        letter = outputs.dead_letter(self.stage, msg, reason, detail, now)
        partner_id = topics.owner_of(msg.topic)
        outbound = [letter]
        event_id = recover_event_id(msg.value or b"")
        if partner_id is not None:
            outbound.append(outputs.ack(msg, partner_id, event_id, AckStatus.REJECTED, now,
                                      reason=reason))
        return StageResult(Outcome.DEAD_LETTERED, partner_id, outbound,
                           reason_code=reason.value)

    # -- routing ----------------------------------------------------------------------------
    def _route_new(
        self,
        msg: Inbound,
        partner_id: str,
        event: PartnerEvent,
        root: str,
        now: datetime,
        context: RoutingContext,
    ) -> StageResult:
        snapshot = self._store.snapshot()
        routing = decide(event, snapshot, context)
        decision = routing.decision
        # CAP status: a TEST (or an EXERCISE nobody takes part in) reaches no unit.
        sent = cap.delivery(event.status, decision.units, snapshot, context.at)
        if sent.sandbox:
            return self._sandbox_new(msg, partner_id, event, root, routing, sent, now)
        if sent.left_out:
            decision = decision.model_copy(update={
                "units": list(sent.units),
                "explanation": f"{decision.explanation} ; exercice : "
                               f"{', '.join(sent.left_out)} hors exercice, non destinataire(s)",
            })
        outbound = outputs.routed_copies(event, root, decision, routing.enrichment, now,
                                         raw=msg.value)
        # Manual triage says why (OUT_OF_AREA, UNLOCATED, UNKNOWN_UNIT), and a routed event
        # whose site was not used says so (UNKNOWN_SITE, SITE_OF_OTHER_PARTNER): the partner
        # can fix its data instead of guessing. A diverted event says by which rule and whose
        # zone it is (the landlord knows its alert went to the CORG, not to the brigade).
        reason = ReasonCode(decision.reason_code) if decision.reason_code else None
        outbound.append(outputs.ack(msg, partner_id, event.event_id, AckStatus.ROUTED, now,
                                  units=decision.units, reason=reason,
                                  routing_rule=decision.routing_rule,
                                  competent_unit=decision.competent_unit_id))
        record = _routed_record(
            msg, partner_id, event, decision, now,
            event_bytes=msg.value,
            alert_deadline=(self._alert_deadline(decision.lane, now) if sent.escalates
                            else None),
        )
        outcome = (
            Outcome.MANUAL_TRIAGE
            if decision.status is DecisionStatus.MANUAL_TRIAGE
            else Outcome.ROUTED
        )
        # The partnership counters (category, place) count real events only.
        real = event.status is EventStatus.ACTUAL
        return StageResult(outcome, partner_id, outbound, record,
                           reason_code=decision.reason_code, lane=decision.lane,
                           units=tuple(decision.units), sent_at=event.sent_at.timestamp(),
                           category=event.category.value if real else None,
                           insee=decision.insee_code,
                           qpv=routing.enrichment.qpv_name, diversion=diversion_of(decision))

    def _sandbox_new(
        self,
        msg: Inbound,
        partner_id: str,
        event: PartnerEvent,
        root: str,
        routing: RoutingOutcome,
        sent: cap.Delivery,
        now: datetime,
    ) -> StageResult:
        """A new event no unit receives: its routed copies (one per unit it would have
        reached) go to the partner's sandbox, and the acknowledgement says what would have
        happened. Remembered (follow-ups go to the sandbox too), with no alert timer."""
        decision = routing.decision
        assert sent.reason is not None
        shown = decision.model_copy(update={
            "explanation": f"{sent.reason.message_fr} Décision : {decision.explanation}",
        })
        outbound = outputs.routed_copies(event, root, shown, routing.enrichment, now,
                                         sandbox=topics.partner_sandbox(partner_id),
                                         raw=msg.value)
        note = ReasonCode(decision.reason_code) if decision.reason_code else None
        outbound.append(outputs.ack(msg, partner_id, event.event_id, AckStatus.ROUTED, now,
                                    units=decision.units, reason=sent.reason,
                                    reason_text=cap.sandbox_text(sent, decision.force, note),
                                    routing_rule=decision.routing_rule,
                                    competent_unit=decision.competent_unit_id))
        record = _routed_record(msg, partner_id, event, decision, now,
                                sandbox_reason=sent.reason)
        # No unit, no category: nothing of it reaches the units' or the committee's counts.
        return StageResult(Outcome.ROUTED, partner_id, outbound, record,
                           reason_code=sent.reason.value, lane=decision.lane,
                           sent_at=event.sent_at.timestamp())

    def _route_follow_up(
        self,
        msg: Inbound,
        partner_id: str,
        event: PartnerEvent,
        root: str,
        lookup: Lookup,
        now: datetime,
    ) -> StageResult:
        """UPDATE and CANCEL follow the original routing, even if reference data changed."""
        original = lookup(root)
        if (
            original is None
            or original.partner_id != partner_id
            or original.status is not AckStatus.ROUTED
        ):
            return self._reject(msg, partner_id, event.event_id, ReasonCode.UNKNOWN_REFERENCE, now)
        if cap_status_of(event) != original.cap_status:
            # A TEST update of a real event would reach its units: one status per incident.
            return self._reject(msg, partner_id, event.event_id, ReasonCode.CAP_STATUS_MISMATCH,
                                now)
        routing = decide(event, self._store.snapshot(), self._context(now))
        explanation = f"{event.message_type.value} : suit l'acheminement initial"
        sandbox_reason = None
        if original.sandbox:
            sandbox_reason = ReasonCode(original.reason_code or ReasonCode.TEST_EVENT)
            explanation = f"{sandbox_reason.message_fr} {explanation}"
        decision = routing.decision.model_copy(
            update={
                "units": list(original.units),
                "lane": original.lane,
                "status": DecisionStatus.ROUTED,
                "explanation": explanation,
                "routing_rule": original.routing_rule,
                "competent_unit_id": original.competent_unit
                or routing.decision.competent_unit_id,
            }
        )
        sandbox = topics.partner_sandbox(partner_id) if original.sandbox else None
        outbound = outputs.routed_copies(event, root, decision, routing.enrichment, now,
                                         sandbox=sandbox, raw=msg.value)
        outbound.append(outputs.ack(msg, partner_id, event.event_id, AckStatus.ROUTED, now,
                                  units=list(original.units), reason=sandbox_reason,
                                  routing_rule=original.routing_rule,
                                  competent_unit=decision.competent_unit_id))
        record = EventRecord(
            event_id=event.event_id,
            partner_id=partner_id,
            status=AckStatus.ROUTED,
            source=msg.coordinates_text,
            units=original.units,
            lane=original.lane,
            routed_at=now.timestamp(),
            lifecycle=(AckStatus.ROUTED,),
            insee_code=original.insee_code,
            force=original.force,
            routing_rule=original.routing_rule,
            competent_unit=decision.competent_unit_id,
            root_id=root,
            cap_status=original.cap_status,
            sandbox=original.sandbox,
        )
        related = None
        if event.message_type is MessageType.CANCEL and original.alert_deadline is not None:
            related = replace(original, alert_deadline=None)  # nobody must escalate it now
        return StageResult(Outcome.ROUTED, partner_id, outbound, record, related=related,
                           lane=original.lane, units=() if original.sandbox else original.units,
                           reason_code=sandbox_reason.value if sandbox_reason else None,
                           sent_at=event.sent_at.timestamp())

    def _repeat(
        self,
        msg: Inbound,
        partner_id: str,
        event: PartnerEvent,
        previous: EventRecord,
        root: str,
        lookup: Lookup,
        now: datetime,
    ) -> StageResult:
        if previous.partner_id != partner_id:
            # Another partner's event id: say nothing about it.
            return self._reject(msg, partner_id, event.event_id, ReasonCode.EVENT_ID_CONFLICT, now)
        if previous.source == msg.coordinates_text:
            # The very same record, consumed again after a crash before its offset was
            # committed: decide again as the first time (same ids; the same units unless the
            # rules' time moved on) instead of a DUPLICATE, and leave the table entry as it
            # stands now. Its own open alert is not counted against its unit's limit.
            def lookup_before(key: str) -> EventRecord | None:
                return None if key == event.event_id else lookup(key)

            context = self._context(now)
            if previous.alert_deadline is not None and context.open_alerts:
                counts = dict(context.open_alerts)
                for unit in previous.units:
                    counts[unit] = max(0, counts.get(unit, 0) - 1)
                context = replace(context, open_alerts=counts)
            first = self._decide(msg, partner_id, event, root, lookup_before, now, context)
            return replace(first, outcome=Outcome.REPLAYED, record=None, related=None)
        ack = outputs.ack(msg, partner_id, event.event_id, AckStatus.DUPLICATE, now,
                        units=list(previous.units),
                        reason_text=f"déjà traité : {previous.status.value}")
        return StageResult(Outcome.DUPLICATE, partner_id, [ack], None,
                           reason_code=previous.reason_code, units=previous.units)

    # -- acknowledgements and dead letters --------------------------------------------------
    def _reject(
        self,
        msg: Inbound,
        partner_id: str,
        event_id: str | None,
        reason: ReasonCode,
        now: datetime,
    ) -> StageResult:
        ack = outputs.ack(msg, partner_id, event_id, AckStatus.REJECTED, now, reason=reason)
        return StageResult(Outcome.REJECTED, partner_id, [ack], None, reason_code=reason.value)

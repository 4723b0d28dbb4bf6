"""Business validation of decoded messages, after the codec has checked the structure.

Like the SAMU Hub dispatcher, every problem is reported at once (a partner fixes its whole
message in one round trip instead of one error per attempt). The worker rejects with
``issues[0].reason``; the order of checks below therefore goes from the most fundamental
(identity, sender) to the most local (text lengths).

No check quotes a value in its message: values may hold personal data and issues end up in
acknowledgements and dead letters. Messages are in French, for partners and operators.

Not checked here, on purpose: Oise bounds (OUT_OF_AREA, a routing outcome), whether sites,
units or referenced events exist (needs reference data or state).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigie.contracts.codec import is_uuid
from vigie.contracts.enums import ForceStatus, MessageType
from vigie.contracts.models import (
    DESCRIPTION_MAX_CHARS,
    INSEE_PATTERN,
    PARTNER_ID_PATTERN,
    POSTCODE_PATTERN,
    UNIT_ID_PATTERN,
    PartnerEvent,
    StatusUpdate,
)
from vigie.contracts.reasons import ReasonCode

#: Bound of every short free string (ids, names, street); generous but finite.
SHORT_TEXT_MAX_CHARS = 200
#: More references than this is not an update any more, it is abuse.
MAX_REFERENCES = 20
DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=5)
#: An incident older than this is history, not a report to act on: routed as live it would
#: reach a unit as new and, for an alert, start an escalation timer (docs/contracts.md).
DEFAULT_PAST_HORIZON = timedelta(days=30)

#: Characters a partner's text may not carry: NUL and the C0/C1 controls but tab and line
#: feed (a carriage return only in a CRLF pair, as Windows systems write line ends), DEL,
#: and the bidi overrides and isolates that make a unit's screen show another text than
#: the bytes (CVE-2021-42574, "Trojan Source"). Rejected rather than removed: the partner
#: learns its system writes them, and the unit reads exactly what was sent.
UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
                         "|\r(?!\n)")

_INSEE = re.compile(INSEE_PATTERN)
_POSTCODE = re.compile(POSTCODE_PATTERN)
_PARTNER_ID = re.compile(PARTNER_ID_PATTERN)
_UNIT_ID = re.compile(UNIT_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: stable code, field path, fixed French text (never a value)."""

    reason: ReasonCode
    field: str
    message_fr: str


def _utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (as the codec does), so comparisons never raise."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _issue(reason: ReasonCode, field: str, detail: str | None = None) -> Issue:
    text = reason.message_fr if detail is None else f"{reason.message_fr} {detail}"
    return Issue(reason, field, text)


def _check_instant(
    issues: list[Issue], field: str, value: datetime, now: datetime, tolerance: timedelta
) -> None:
    if _utc(value) > now + tolerance:
        issues.append(
            _issue(
                ReasonCode.FUTURE_TIMESTAMP,
                field,
                f"(tolérance : {int(tolerance.total_seconds())} s).",
            )
        )


def _check_text(issues: list[Issue], field: str, value: str | None, limit: int) -> None:
    if value is None:
        return
    if len(value) > limit:
        issues.append(_issue(ReasonCode.TEXT_TOO_LONG, field, f"(maximum : {limit} caractères)."))
    if UNSAFE_TEXT.search(value) is not None:
        issues.append(_issue(ReasonCode.UNSAFE_TEXT, field))


def validate_event(
    event: PartnerEvent,
    *,
    topic_partner_id: str | None,
    now: datetime,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    past_horizon: timedelta = DEFAULT_PAST_HORIZON,
) -> list[Issue]:
    """Every business problem of ``event``; empty list means valid.

    ``topic_partner_id`` is the partner owning the topic the event came from (None skips the
    check, e.g. for replays from the dead letters). ``now`` must be tz-aware UTC.
    Never raises on a model the codec produced.
    """
    issues: list[Issue] = []
    now = _utc(now)
    sent_at, occurred_at = _utc(event.sent_at), _utc(event.occurred_at)
    if not is_uuid(event.event_id):
        issues.append(_issue(ReasonCode.INVALID_EVENT_ID, "event_id"))
    if topic_partner_id is not None and event.partner_id != topic_partner_id:
        issues.append(_issue(ReasonCode.SENDER_MISMATCH, "partner_id"))
    elif not _PARTNER_ID.fullmatch(event.partner_id):
        issues.append(_issue(ReasonCode.INVALID_IDENTIFIER, "partner_id"))

    # Time: CAP "sent" must not be in the future, nor the incident after the sending.
    _check_instant(issues, "sent_at", event.sent_at, now, future_tolerance)
    _check_instant(issues, "occurred_at", event.occurred_at, now, future_tolerance)
    if occurred_at < now - past_horizon:
        issues.append(
            _issue(ReasonCode.TOO_OLD, "occurred_at",
                   f"(horizon : {past_horizon.days} jours).")
        )
    if occurred_at > sent_at + future_tolerance:
        issues.append(
            _issue(ReasonCode.INCONSISTENT_TIMESTAMPS, "occurred_at", "(survenu après l'envoi).")
        )
    if event.expires_at is not None and _utc(event.expires_at) < occurred_at:
        issues.append(
            _issue(
                ReasonCode.INCONSISTENT_TIMESTAMPS, "expires_at", "(expiration avant les faits)."
            )
        )

    # CAP references: an update or cancel names what it updates; a new event names nothing.
    refs = event.references
    if event.message_type is MessageType.NEW:
        if refs:
            issues.append(_issue(ReasonCode.UNEXPECTED_REFERENCES, "references"))
    elif not refs:
        issues.append(_issue(ReasonCode.MISSING_REFERENCES, "references"))
    else:
        if len(refs) > MAX_REFERENCES:
            issues.append(
                _issue(ReasonCode.TEXT_TOO_LONG, "references", f"(maximum : {MAX_REFERENCES}).")
            )
        for i, ref in enumerate(refs[:MAX_REFERENCES]):
            if not is_uuid(ref):
                issues.append(_issue(ReasonCode.MISSING_REFERENCES, f"references[{i}]"))
            elif ref == event.event_id:
                issues.append(
                    _issue(ReasonCode.MISSING_REFERENCES, f"references[{i}]", "(auto-référence).")
                )

    location = event.location
    if location is not None:
        coords = location.coordinates
        if coords is not None:
            if not (math.isfinite(coords.lat) and -90.0 <= coords.lat <= 90.0):
                issues.append(_issue(ReasonCode.INVALID_COORDINATES, "location.coordinates.lat"))
            if not (math.isfinite(coords.lon) and -180.0 <= coords.lon <= 180.0):
                issues.append(_issue(ReasonCode.INVALID_COORDINATES, "location.coordinates.lon"))
        address = location.address
        if address is not None:
            if address.insee_code is not None and not _INSEE.fullmatch(address.insee_code):
                issues.append(_issue(ReasonCode.INVALID_INSEE, "location.address.insee_code"))
            if address.postcode is not None and not _POSTCODE.fullmatch(address.postcode):
                issues.append(_issue(ReasonCode.INVALID_POSTCODE, "location.address.postcode"))
            _check_text(issues, "location.address.street", address.street, SHORT_TEXT_MAX_CHARS)
            _check_text(
                issues, "location.address.commune_name", address.commune_name, SHORT_TEXT_MAX_CHARS
            )

    _check_text(issues, "description", event.description, DESCRIPTION_MAX_CHARS)
    _check_text(issues, "site_id", event.site_id, SHORT_TEXT_MAX_CHARS)
    _check_text(issues, "incident_id", event.incident_id, SHORT_TEXT_MAX_CHARS)
    _check_text(issues, "source_system", event.source_system, SHORT_TEXT_MAX_CHARS)
    return issues


def validate_status_update(
    update: StatusUpdate,
    *,
    topic_unit_id: str | None,
    now: datetime,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> list[Issue]:
    """Every problem of a unit's status message; same rules as ``validate_event``.

    Whether the transition is allowed from the current state (STATUS_NOT_ALLOWED) and whether
    the unit exists (UNKNOWN_UNIT) need state, so the status worker checks them.
    """
    issues: list[Issue] = []
    now = _utc(now)
    if not is_uuid(update.event_id):
        issues.append(_issue(ReasonCode.INVALID_EVENT_ID, "event_id"))
    if topic_unit_id is not None and update.unit_id != topic_unit_id:
        issues.append(_issue(ReasonCode.SENDER_MISMATCH, "unit_id"))
    elif not _UNIT_ID.fullmatch(update.unit_id):
        issues.append(_issue(ReasonCode.INVALID_IDENTIFIER, "unit_id"))
    _check_instant(issues, "at", update.at, now, future_tolerance)
    is_transfer = update.status is ForceStatus.TRANSFER_REQUESTED
    if is_transfer != (update.transfer_to_force is not None):
        issues.append(
            _issue(
                ReasonCode.STATUS_NOT_ALLOWED,
                "transfer_to_force",
                "(force cible requise pour une demande de transfert, et seulement dans ce cas).",
            )
        )
    return issues

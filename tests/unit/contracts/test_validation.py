"""Business validation: each rule, all problems reported at once, no value ever quoted."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from tests.factories import EVENT_ID, NOW, SECRET, partner_event, status_update
from vigie.contracts.enums import Force, ForceStatus, MessageType
from vigie.contracts.models import (
    DESCRIPTION_MAX_CHARS,
    Address,
    Coordinates,
    Location,
    PartnerEvent,
    StatusUpdate,
)
from vigie.contracts.reasons import ReasonCode
from vigie.contracts.validation import Issue, validate_event, validate_status_update

OTHER_ID = "0b9e1f7a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"


def _check(event: PartnerEvent, partner: str | None = "oise-habitat") -> list[Issue]:
    issues = validate_event(event, topic_partner_id=partner, now=NOW)
    for issue in issues:
        assert SECRET not in issue.message_fr
        assert issue.message_fr.startswith(issue.reason.message_fr)
    return issues


def _reasons(issues: list[Issue]) -> list[tuple[ReasonCode, str]]:
    return [(i.reason, i.field) for i in issues]


def test_valid_event_has_no_issue(event: PartnerEvent) -> None:
    assert _check(event) == []
    assert _check(event, partner=None) == []


def test_event_id_must_be_a_uuid() -> None:
    for bad in ["", "123", "3f2b8c1e5d4a4e6b9c7d1a2b3c4d5e6f", "{" + EVENT_ID + "}", "é" * 36]:
        assert _reasons(_check(partner_event(event_id=bad))) == [
            (ReasonCode.INVALID_EVENT_ID, "event_id")
        ]


def test_sender_must_match_topic(event: PartnerEvent) -> None:
    issues = _check(event, partner="picardie-habitat")
    assert _reasons(issues) == [(ReasonCode.SENDER_MISMATCH, "partner_id")]
    assert issues[0].message_fr == ReasonCode.SENDER_MISMATCH.message_fr


def test_malformed_partner_id_without_topic() -> None:
    assert _reasons(_check(partner_event(partner_id="Oise Habitat"), partner=None)) == [
        (ReasonCode.INVALID_IDENTIFIER, "partner_id")
    ]


def test_future_timestamps_beyond_tolerance() -> None:
    within = partner_event(sent_at=NOW + timedelta(minutes=4), occurred_at=NOW)
    assert _check(within) == []
    beyond = partner_event(sent_at=NOW + timedelta(minutes=6), occurred_at=NOW + timedelta(hours=1))
    assert _reasons(_check(beyond)) == [
        (ReasonCode.FUTURE_TIMESTAMP, "sent_at"),
        (ReasonCode.FUTURE_TIMESTAMP, "occurred_at"),
        (ReasonCode.INCONSISTENT_TIMESTAMPS, "occurred_at"),
    ]
    tolerant = validate_event(
        beyond, topic_partner_id=None, now=NOW, future_tolerance=timedelta(hours=2)
    )
    assert tolerant == []


def test_occurred_after_sent_and_expiry_before_occurrence() -> None:
    event = partner_event(
        sent_at=NOW - timedelta(hours=1),
        occurred_at=NOW - timedelta(minutes=30),
        expires_at=NOW - timedelta(hours=2),
    )
    assert _reasons(_check(event)) == [
        (ReasonCode.INCONSISTENT_TIMESTAMPS, "occurred_at"),
        (ReasonCode.INCONSISTENT_TIMESTAMPS, "expires_at"),
    ]


@pytest.mark.parametrize(
    ("lat", "lon", "fields"),
    [
        (90.5, 2.0, ["location.coordinates.lat"]),
        (49.0, -180.01, ["location.coordinates.lon"]),
        (math.nan, math.inf, ["location.coordinates.lat", "location.coordinates.lon"]),
        (-90.0, 180.0, []),
        (-33.9, 151.2, []),  # Sydney: plausible; Oise bounds are routing's job
    ],
)
def test_coordinates(lat: float, lon: float, fields: list[str]) -> None:
    event = partner_event(location=Location(coordinates=Coordinates(lat=lat, lon=lon)))
    assert _reasons(_check(event)) == [(ReasonCode.INVALID_COORDINATES, f) for f in fields]


@pytest.mark.parametrize(
    ("insee", "ok"),
    [
        ("60057", True),
        ("2A004", True),
        ("2B033", True),
        ("6005", False),
        ("2C004", False),
        ("60 057", False),
        ("600570", False),
    ],
)
def test_insee_format(insee: str, ok: bool) -> None:
    event = partner_event(location=Location(address=Address(insee_code=insee)))
    expected = [] if ok else [(ReasonCode.INVALID_INSEE, "location.address.insee_code")]
    assert _reasons(_check(event)) == expected


@pytest.mark.parametrize(("postcode", "ok"), [("60000", True), ("6000", False), ("6O000", False)])
def test_postcode_format(postcode: str, ok: bool) -> None:
    event = partner_event(location=Location(address=Address(postcode=postcode)))
    expected = [] if ok else [(ReasonCode.INVALID_POSTCODE, "location.address.postcode")]
    assert _reasons(_check(event)) == expected


def test_text_bounds() -> None:
    assert _check(partner_event(description="a" * DESCRIPTION_MAX_CHARS)) == []
    event = partner_event(
        description=SECRET * 200,
        site_id="s" * 201,
        location=Location(address=Address(street="r" * 500)),
    )
    assert _reasons(_check(event)) == [
        (ReasonCode.TEXT_TOO_LONG, "location.address.street"),
        (ReasonCode.TEXT_TOO_LONG, "description"),
        (ReasonCode.TEXT_TOO_LONG, "site_id"),
    ]


def test_references_rules() -> None:
    assert _reasons(_check(partner_event(references=[OTHER_ID]))) == [
        (ReasonCode.UNEXPECTED_REFERENCES, "references")
    ]
    for kind in (MessageType.UPDATE, MessageType.CANCEL):
        assert _reasons(_check(partner_event(message_type=kind))) == [
            (ReasonCode.MISSING_REFERENCES, "references")
        ]
        assert _check(partner_event(message_type=kind, references=[OTHER_ID])) == []
        bad = partner_event(message_type=kind, references=[OTHER_ID, "nope", EVENT_ID])
        assert _reasons(_check(bad)) == [
            (ReasonCode.MISSING_REFERENCES, "references[1]"),
            (ReasonCode.MISSING_REFERENCES, "references[2]"),
        ]


def test_every_problem_is_reported_first_is_most_fundamental() -> None:
    event = partner_event(
        event_id="not-a-uuid",
        partner_id="intrus",
        sent_at=NOW + timedelta(days=1),
        references=[OTHER_ID],
        location=Location(
            coordinates=Coordinates(lat=200, lon=0),
            address=Address(insee_code="ABCDE", postcode="x"),
        ),
        description="d" * (DESCRIPTION_MAX_CHARS + 1),
    )
    reasons = [i.reason for i in _check(event)]
    assert reasons == [
        ReasonCode.INVALID_EVENT_ID,
        ReasonCode.SENDER_MISMATCH,
        ReasonCode.FUTURE_TIMESTAMP,
        ReasonCode.UNEXPECTED_REFERENCES,
        ReasonCode.INVALID_COORDINATES,
        ReasonCode.INVALID_INSEE,
        ReasonCode.INVALID_POSTCODE,
        ReasonCode.TEXT_TOO_LONG,
    ]


def test_naive_datetimes_do_not_raise() -> None:
    naive = partner_event(sent_at=NOW.replace(tzinfo=None), occurred_at=NOW.replace(tzinfo=None))
    assert validate_event(naive, topic_partner_id=None, now=NOW) == []
    aware = partner_event()
    assert validate_event(aware, topic_partner_id=None, now=NOW.replace(tzinfo=None)) == []


def test_issue_is_frozen() -> None:
    issue = Issue(ReasonCode.TRUNCATED, "x", "y")
    with pytest.raises(AttributeError):
        issue.field = "z"  # type: ignore[misc]


def _update(**changes: object) -> StatusUpdate:
    """The unit closes the default event."""
    return status_update(**{"status": ForceStatus.CLOSED, "transfer_to_force": None, **changes})


def test_status_update_rules() -> None:
    ok = validate_status_update(_update(), topic_unit_id="csp-beauvais", now=NOW)
    assert ok == []
    issues = validate_status_update(
        _update(event_id="x", at=NOW + timedelta(hours=1), transfer_to_force=Force.GN),
        topic_unit_id="bta-chaumont",
        now=NOW,
    )
    assert [(i.reason, i.field) for i in issues] == [
        (ReasonCode.INVALID_EVENT_ID, "event_id"),
        (ReasonCode.SENDER_MISMATCH, "unit_id"),
        (ReasonCode.FUTURE_TIMESTAMP, "at"),
        (ReasonCode.STATUS_NOT_ALLOWED, "transfer_to_force"),
    ]
    transfer = _update(status=ForceStatus.TRANSFER_REQUESTED)
    assert [i.reason for i in validate_status_update(transfer, topic_unit_id=None, now=NOW)] == [
        ReasonCode.STATUS_NOT_ALLOWED
    ]


def test_every_reason_code_has_french_text_and_usage() -> None:
    for code in ReasonCode:
        assert code.value == code.name
        assert code.message_fr and code.when


def test_trailing_newline_does_not_sneak_through_anchored_patterns() -> None:
    event = partner_event(
        event_id=EVENT_ID + "\n",
        location=Location(address=Address(insee_code="60057\n", postcode="60000\n")),
    )
    assert [i.reason for i in _check(event)] == [
        ReasonCode.INVALID_EVENT_ID,
        ReasonCode.INVALID_INSEE,
        ReasonCode.INVALID_POSTCODE,
    ]


@pytest.mark.parametrize(
    "text",
    ["avant\x00après", "ligne\x1b]8;;http://x\x1b\\lien", "texte \u202egnp.exe", "a\u2066b\u2069",
     "retour\rseul", "\x85 C1", "del\x7f"],
)
def test_unsafe_characters_in_free_text_are_rejected(text: str) -> None:
    for field, event in (
        ("description", partner_event(description=text)),
        ("site_id", partner_event(site_id=text)),
        ("location.address.street",
         partner_event(location=Location(address=Address(street=text, insee_code="60057")))),
    ):
        assert (ReasonCode.UNSAFE_TEXT, field) in _reasons(_check(event))


def test_tabs_line_feeds_crlf_and_markup_like_text_are_allowed() -> None:
    text = "Hall B :\tporte forcée.\r\nVoir [/bold] et [red]ALERTE[/red] tels quels."
    assert _check(partner_event(description=text)) == []


def test_incident_older_than_the_past_horizon_is_rejected() -> None:
    old = partner_event(occurred_at=NOW - timedelta(days=31), sent_at=NOW - timedelta(minutes=1))
    assert _reasons(_check(old)) == [(ReasonCode.TOO_OLD, "occurred_at")]
    recent = partner_event(occurred_at=NOW - timedelta(days=29), sent_at=NOW - timedelta(minutes=1))
    assert _check(recent) == []
    epoch = partner_event(occurred_at=NOW.replace(year=1970), sent_at=NOW - timedelta(minutes=1))
    assert (ReasonCode.TOO_OLD, "occurred_at") in _reasons(_check(epoch))

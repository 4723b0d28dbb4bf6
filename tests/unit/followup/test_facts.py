"""Rows of the follow-up store: facts only, one incident per NEW, follow-ups apart."""

from __future__ import annotations

import dataclasses
import uuid

from tests.factories import SECRET, acknowledgement, partner_event, routed_event
from vigie.contracts.enums import AckStatus, EventStatus, MessageType
from vigie.followup.facts import AckRow, FollowUpRow, RoutedEventRow, row_of_ack, row_of_routed


def test_a_routed_new_is_one_incident_row_of_facts_only() -> None:
    routed = routed_event()
    row = row_of_routed(routed)
    assert isinstance(row, RoutedEventRow)
    assert (row.event_id, row.partner_id, row.category, row.lane) == (
        routed.event.event_id, routed.event.partner_id, routed.event.category.value,
        routed.decision.lane.value)
    assert row.units == tuple(routed.decision.units) and row.routed_at == routed.routed_at
    # No free text, no reporter role: nothing a partner wrote beyond codes and ids.
    values = " ".join(str(v) for v in dataclasses.astuple(row))
    assert SECRET not in values and "description" not in {f.name for f in
                                                         dataclasses.fields(row)}
    assert "reporter_role" not in {f.name for f in dataclasses.fields(row)}


def test_a_cancel_is_a_follow_up_of_its_root() -> None:
    root = routed_event().event.event_id
    cancel = routed_event(event=partner_event(
        event_id=str(uuid.uuid4()), message_type=MessageType.CANCEL, references=[root]))
    row = row_of_routed(cancel)
    assert isinstance(row, FollowUpRow) and (row.root_id, row.kind) == (root, "CANCEL")


def test_only_acknowledgements_about_an_incidents_course_are_kept() -> None:
    ack = acknowledgement()
    for status in AckStatus:
        row = row_of_ack(ack.model_copy(update={"status": status, "event_id": str(uuid.uuid4())}))
        kept = status not in (AckStatus.REJECTED, AckStatus.DUPLICATE)
        assert (row is not None) is kept, status
        if row is not None:
            assert isinstance(row, AckRow) and row.status == status.value
    assert row_of_ack(ack.model_copy(update={"event_id": None})) is None


def test_exercises_and_tests_are_not_facts() -> None:
    """Issue 18: the committee's figures count real events only."""
    for status in (EventStatus.EXERCISE, EventStatus.TEST):
        event = partner_event(status=status)
        assert row_of_routed(routed_event(event=event)) is None, status
        follow = partner_event(event_id=str(uuid.uuid4()), status=status,
                               message_type=MessageType.CANCEL, references=[event.event_id])
        assert row_of_routed(routed_event(event=follow)) is None, status
    routed = acknowledgement(status=AckStatus.ROUTED, event_id=str(uuid.uuid4()))
    for reason in ("TEST_EVENT", "NOT_IN_EXERCISE"):
        assert row_of_ack(routed.model_copy(update={"reason_code": reason})) is None
    assert row_of_ack(routed.model_copy(update={"reason_code": "UNKNOWN_SITE"})) is not None

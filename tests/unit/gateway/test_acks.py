"""The acknowledgement index behind GET: per partner, bounded, duplicates dropped."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import acknowledgement
from vigie.contracts.enums import AckStatus
from vigie.gateway.acks import AckIndex

EVENT = "11111111-1111-4111-8111-111111111111"


def _ack(n: int, event_id: str = EVENT, status: AckStatus = AckStatus.ROUTED,
         partner: str = "oise-habitat"):  # type: ignore[no-untyped-def]
    base = acknowledgement(event_id=event_id, partner_id=partner, status=status,
                           reason_code=None)
    return base.model_copy(update={"ack_id": f"00000000-0000-4000-8000-{n:012d}",
                                   "issued_at": base.issued_at + timedelta(seconds=n)})


def test_acks_by_partner_in_issue_order_without_copies() -> None:
    index = AckIndex(10)
    index.add("oise-habitat", _ack(2, status=AckStatus.TAKEN_IN_CHARGE))
    index.add("oise-habitat", _ack(1))
    index.add("oise-habitat", _ack(1))
    got = index.get("oise-habitat", EVENT)
    assert got is not None
    assert [a.status for a in got] == [AckStatus.ROUTED, AckStatus.TAKEN_IN_CHARGE]
    # Filed under the topic's owner only: another partner asking gets nothing.
    assert index.get("opac-oise", EVENT) is None


def test_an_ack_without_event_id_is_not_indexed() -> None:
    index = AckIndex(10)
    index.add("oise-habitat", acknowledgement())  # a rejection of unreadable bytes
    assert index.size("oise-habitat") == 0


def test_the_oldest_events_are_forgotten_first() -> None:
    index = AckIndex(2)
    ids = [f"22222222-2222-4222-8222-{n:012d}" for n in range(3)]
    for n, event_id in enumerate(ids):
        index.add("oise-habitat", _ack(n, event_id))
    assert index.get("oise-habitat", ids[0]) is None
    assert index.get("oise-habitat", ids[2]) is not None
    assert index.size("oise-habitat") == 2


def test_accepted_means_taken_by_the_pipeline() -> None:
    index = AckIndex(10)
    index.add("oise-habitat", _ack(1, status=AckStatus.REJECTED))
    assert not index.accepted("oise-habitat", EVENT)  # a corrected resend must go through
    index.add("oise-habitat", _ack(2, status=AckStatus.ROUTED))
    assert index.accepted("oise-habitat", EVENT)
    assert not index.accepted("opac-oise", EVENT)

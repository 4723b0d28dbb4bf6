"""The HTTP API on no broker: what is published (topic, key, bytes), what is answered."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from tests.factories import acknowledgement, partner_event, record_for
from tests.unit.gateway.conftest import Harness, build
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category, MessageType
from vigie.contracts.models import PartnerEvent
from vigie.contracts.validation import validate_event
from vigie.settings import Settings

A, B = "oise-habitat", "opac-oise"


def _json(event: PartnerEvent) -> dict:  # type: ignore[type-arg]
    return event.model_dump(mode="json")


def test_an_event_is_published_as_the_contract_wants_and_answered_202(harness: Harness) -> None:
    event = partner_event(A, "60057", fresh=True)
    alert = partner_event(A, "60057", fresh=True, category=Category.STAFF_AGGRESSION)
    for e in (event, alert):
        answer = harness.client.post("/v1/events", json=_json(e), headers=harness.headers(A))
        assert answer.status_code == 202
        assert answer.json() == {"event_id": e.event_id, "status": "ACCEPTED",
                                 "acknowledgements": f"/v1/events/{e.event_id}"}
    # The product's own record: the lane's topic, the root event id as key, Avro bytes.
    assert harness.publisher.records == [record_for(e) for e in (event, alert)]
    assert harness.publisher.records[1][0] == f"partner.{A}.alerts.v1"
    assert decode(harness.publisher.records[0][2], PartnerEvent).event_id == event.event_id


def test_a_follow_up_is_keyed_by_the_event_it_updates(harness: Harness) -> None:
    first = partner_event(A, "60057", fresh=True)
    cancel = partner_event(A, "60057", fresh=True, message_type=MessageType.CANCEL,
                           references=[first.event_id])
    answer = harness.client.post("/v1/events", json=_json(cancel), headers=harness.headers(A))
    assert answer.status_code == 202
    assert harness.publisher.records[0][1] == first.event_id.encode()


def test_a_batch_is_all_published_or_none(harness: Harness) -> None:
    good = [partner_event(A, "60057", fresh=True) for _ in range(3)]
    answer = harness.client.post("/v1/events", json=[_json(e) for e in good],
                                 headers=harness.headers(A))
    assert answer.status_code == 202
    assert [e["event_id"] for e in answer.json()["events"]] == [e.event_id for e in good]
    assert len(harness.publisher.records) == 3

    bad = partner_event(A, "60057", fresh=True).model_copy(update={"event_id": "pas-un-uuid"})
    answer = harness.client.post("/v1/events", json=[_json(good[0]), _json(bad)],
                                 headers=harness.headers(A))
    assert answer.status_code == 422
    body = answer.json()
    assert body["reason_code"] == "INVALID_EVENT_ID"
    assert [(i["index"], i["reason_code"]) for i in body["items"]] == [(1, "INVALID_EVENT_ID")]
    assert len(harness.publisher.records) == 3  # nothing more


def test_refusals_carry_the_workers_reason_codes_and_french_messages(harness: Harness) -> None:
    now = datetime.now(UTC)
    event = partner_event(A, "60057", fresh=True).model_copy(update={
        "sent_at": now + timedelta(hours=1), "description": "texte\u202eretourné"})
    answer = harness.client.post("/v1/events", json=_json(event), headers=harness.headers(A))
    assert answer.status_code == 422
    body = answer.json()
    # The very function the worker runs, on the same event, gives the same issues.
    settings = Settings()
    expected = validate_event(event, topic_partner_id=A, now=now,
                              future_tolerance=settings.future_tolerance,
                              past_horizon=settings.past_horizon)
    issues = body["items"][0]["issues"]
    assert [(i["reason_code"], i["field"], i["message"]) for i in issues] == [
        (e.reason.value, e.field, e.message_fr) for e in expected]
    assert body["reason_code"] == expected[0].reason.value == "FUTURE_TIMESTAMP"
    assert body["message"] == expected[0].reason.message_fr  # what the Kafka ack says
    assert "retourné" not in answer.text  # never a value sent
    assert harness.publisher.records == []


def test_a_body_off_the_contract_is_a_schema_violation(harness: Harness) -> None:
    for body in (b'{"event_id": ', b'{"event_id": "x"}', b'[]', b'"texte"'):
        answer = harness.client.post("/v1/events", content=body, headers=harness.headers(A))
        assert answer.status_code == 422, body
        assert answer.json()["reason_code"] == "SCHEMA_VIOLATION"
    extra = {**_json(partner_event(A, "60057", fresh=True)), "secret_field": "x"}
    answer = harness.client.post("/v1/events", json=extra, headers=harness.headers(A))
    assert answer.json()["items"][0]["detail"].startswith("model violated at")
    assert harness.publisher.records == []


def test_posting_as_another_partner_is_forbidden(harness: Harness) -> None:
    event = partner_event(B, "60057", fresh=True)
    answer = harness.client.post("/v1/events", json=_json(event), headers=harness.headers(A))
    assert answer.status_code == 403
    assert answer.json()["reason_code"] == "SENDER_MISMATCH"
    assert harness.publisher.records == []


def test_a_retried_post_gets_the_same_answer_and_is_not_published_once_taken(
        harness: Harness) -> None:
    event = partner_event(A, "60057", fresh=True)
    first = harness.client.post("/v1/events", json=_json(event), headers=harness.headers(A))
    # Not yet acknowledged: published again (the pipeline answers DUPLICATE if it had it).
    second = harness.client.post("/v1/events", json=_json(event), headers=harness.headers(A))
    assert len(harness.publisher.records) == 2
    harness.gateway.index.add(A, acknowledgement(event_id=event.event_id, partner_id=A,
                                                 status=AckStatus.ROUTED, reason_code=None))
    third = harness.client.post("/v1/events", json=_json(event), headers=harness.headers(A))
    assert first.json() == second.json() == third.json()
    assert first.status_code == second.status_code == third.status_code == 202
    assert len(harness.publisher.records) == 2


def test_the_broker_unreachable_is_503_and_the_retry_is_safe(harness: Harness) -> None:
    harness.publisher.fail = True
    event = partner_event(A, "60057", fresh=True)
    answer = harness.client.post("/v1/events", json=_json(event), headers=harness.headers(A))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    harness.publisher.fail = False
    answer = harness.client.post("/v1/events", json=_json(event), headers=harness.headers(A))
    assert answer.status_code == 202


def test_a_partner_reads_its_own_events_only(harness: Harness) -> None:
    event_id = partner_event(A, "60057", fresh=True).event_id
    routed = acknowledgement(ack_id="00000000-0000-4000-8000-000000000001", event_id=event_id,
                             partner_id=A, status=AckStatus.ROUTED, reason_code=None,
                             units=["pn-csp-beauvais"])
    taken = routed.model_copy(update={"ack_id": "00000000-0000-4000-8000-000000000002",
                                      "status": AckStatus.TAKEN_IN_CHARGE,
                                      "issued_at": routed.issued_at + timedelta(minutes=3)})
    for ack in (taken, routed, routed):  # out of order, and a copy re-sent after a crash
        harness.gateway.index.add(A, ack)
    answer = harness.client.get(f"/v1/events/{event_id}", headers=harness.headers(A))
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "TAKEN_IN_CHARGE"
    assert [h["status"] for h in body["history"]] == ["ROUTED", "TAKEN_IN_CHARGE"]
    assert [a["ack_id"] for a in body["acknowledgements"]] == [routed.ack_id, taken.ack_id]
    other = harness.client.get(f"/v1/events/{event_id}", headers=harness.headers(B))
    assert other.status_code == 404
    assert event_id not in other.text


def test_an_index_still_loading_says_so(harness: Harness) -> None:
    harness.gateway.index.ready = False
    answer = harness.client.get(f"/v1/events/{partner_event(A).event_id}",
                                headers=harness.headers(A))
    assert answer.status_code == 503


def test_tokens(harness: Harness) -> None:
    post = harness.client.post
    assert post("/v1/events", json={}).status_code == 401
    wrong = post("/v1/oauth/token", data={"grant_type": "client_credentials",
                                          "client_id": A, "client_secret": "devine"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = post("/v1/oauth/token", data={"grant_type": "client_credentials",
                                            "client_id": "inconnu", "client_secret": "x"})
    assert unknown.json() == wrong.json()
    grant = post("/v1/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    basic = post("/v1/oauth/token", data={"grant_type": "client_credentials"},
                 auth=(A, harness.secrets[A]))
    assert basic.status_code == 200
    token = basic.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == A
    # Forged: the partner changed in the token, or a token signed by someone else.
    forged = jwt.encode({**claims, "sub": B}, "another-key-" + "y" * 32, algorithm="HS256")
    unsigned = jwt.encode({**claims, "sub": B}, None, algorithm="none")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5},
                         harness.gateway.config.signing_key(), algorithm="HS256")
    for bad in (forged, unsigned, expired, "n'importe quoi"):
        answer = post("/v1/events", json={}, headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401, bad
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_rate_limit_and_body_limit(tmp_path: Path) -> None:
    harness = build(tmp_path, rate_per_second=0.01, burst=2, max_body_bytes=4096)
    headers = harness.headers(A)
    event = _json(partner_event(A, "60057", fresh=True))
    big = {**event, "description": "x" * 5000}
    assert harness.client.post("/v1/events", json=big, headers=headers).status_code == 413
    assert harness.client.post("/v1/events", json=event, headers=headers).status_code == 202
    limited = harness.client.post("/v1/events", json=event, headers=headers)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    # Another partner's bucket is its own.
    assert harness.client.post(
        "/v1/events", json=_json(partner_event(B, "60057", fresh=True)),
        headers=harness.headers(B)).status_code == 202

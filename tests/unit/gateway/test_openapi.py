"""The served OpenAPI document: committed as is, and kept by the app (schemathesis)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.unit.gateway.conftest import build
from vigie.gateway.openapi import COMMITTED, document

ROOT = Path(__file__).resolve().parents[3]
HARNESS = build(Path("/nonexistent-gateway-test"))
schema = schemathesis.openapi.from_asgi("/openapi.json", HARNESS.client.app)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


def test_the_committed_document_is_the_served_one() -> None:
    committed = json.loads((ROOT / COMMITTED).read_text(encoding="utf-8"))
    served = HARNESS.client.get("/openapi.json").json()
    assert committed == served == document(), (
        f"regenerate it: vigie gateway openapi --out {COMMITTED}")


@pytest.fixture(scope="module")
def bearer() -> dict[str, str]:
    return HARNESS.headers("oise-habitat")


#: (method, path, status) of every answer schemathesis got.
SEEN: Counter[tuple[str, str, int]] = Counter()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_document(case, bearer) -> None:  # type: ignore[no-untyped-def]
    HARNESS.gateway.limiter = type(HARNESS.gateway.limiter)()  # the rate is tested elsewhere
    response = case.call_and_validate(headers=bearer, checks=CHECKS)
    SEEN[(case.method, case.path, response.status_code)] += 1


def test_the_generated_requests_reached_the_checks() -> None:
    """Not all refused at the door: the bearer was sent, bodies were judged."""
    statuses = {status for (method, path, status) in SEEN if path == "/v1/events"}
    assert statuses & {202, 422}, SEEN
    assert any(path == "/v1/events/{event_id}" and status == 404
               for (_method, path, status) in SEEN), SEEN

"""What a webhook receiver gets and checks."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.factories import acknowledgement
from vigie.gateway.webhooks import body_of, signature, verify


def test_the_signature_is_the_hmac_sha256_of_the_body_bytes() -> None:
    ack = acknowledgement(event_id="11111111-1111-4111-8111-111111111111")
    body = body_of(ack)
    assert json.loads(body)["ack_id"] == ack.ack_id
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature("s3cret", body) == expected
    assert verify("s3cret", body, expected)
    assert not verify("autre", body, expected)
    assert not verify("s3cret", body + b" ", expected)
    assert not verify("s3cret", body, None)

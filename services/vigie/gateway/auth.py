"""Who is calling: OAuth2 client credentials (RFC 6749 §4.4), bearer tokens the gateway signs.

Why client credentials rather than mutual TLS: it is what French public-sector APIs ask of
their clients (a landlord's web stack already speaks it), it passes through any ingress or
proxy that terminates TLS, and the partner id travels in the token, where no body can change
it. A token is a JWT signed with HMAC-SHA256 by a key every replica shares (no session
store: any replica verifies any token); it names the partner in ``sub`` and lasts
``token_ttl_seconds``. A partner removed from the partners file is refused at once, even
with a token still valid.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from vigie.gateway.partners import GatewayPartners

ISSUER = "vigie-gateway"
AUDIENCE = "vigie-gateway"
SCOPE = "events"
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    expires_in: int


class AuthError(Exception):
    """A refused credential; ``error`` is the OAuth2 code, ``message_fr`` for the partner."""

    def __init__(self, error: str, message_fr: str) -> None:
        super().__init__(error)
        self.error = error
        self.message_fr = message_fr


class Authority:
    """Issues and verifies the partners' access tokens."""

    def __init__(self, partners: GatewayPartners, key: bytes, ttl_seconds: int) -> None:
        self._partners = partners
        self._key = key
        self._ttl = ttl_seconds

    def issue(self, client_id: str, client_secret: str, now: float | None = None) -> Token:
        partner = self._partners.get(client_id)
        if partner is None or not partner.accepts(client_secret):
            # One answer for an unknown client and a wrong secret: no guessing of ids.
            raise AuthError("invalid_client", "Identifiant client ou secret invalide.")
        issued = int(time.time() if now is None else now)
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": partner.partner_id,
                  "iat": issued, "exp": issued + self._ttl, "scope": SCOPE}
        return Token(jwt.encode(claims, self._key, algorithm=ALGORITHM), self._ttl)

    def partner_of(self, token: str) -> str:
        """The partner id a valid token names; ``AuthError`` otherwise."""
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                issuer=ISSUER, options={"require": ["exp", "sub", "iat"]})
        except jwt.ExpiredSignatureError:
            raise AuthError("invalid_token", "Jeton expiré : demandez-en un nouveau.") from None
        except jwt.PyJWTError:
            raise AuthError("invalid_token", "Jeton invalide.") from None
        partner_id = claims.get("sub")
        if not isinstance(partner_id, str) or self._partners.get(partner_id) is None:
            raise AuthError("invalid_token", "Jeton invalide.")
        return partner_id

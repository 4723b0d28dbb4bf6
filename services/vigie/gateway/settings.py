"""The gateway's configuration (environment prefix ``VIGIE_GATEWAY_``).

Kept apart from ``vigie.settings.Settings`` (the Kafka connection and the workers', which
the gateway also reads) so that the HTTP side can be configured, and later merged with the
registry of participants, without touching what every other process reads.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import PositiveFloat, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigie.settings import PROJECT_DIR, environment_of

GATEWAY_DIR = PROJECT_DIR / ".vigie" / "gateway"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIE_GATEWAY_", env_file=".env",
                                      extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    #: HTTPS: the server's certificate and key (PEM). Without them the gateway serves plain
    #: HTTP, for loopback and for a deployment whose ingress terminates TLS (docs/gateway.md).
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None

    #: The partners the gateway knows: client secret digests, webhook URL and secret, limits.
    partners_file: Path = GATEWAY_DIR / "partners.json"
    #: HMAC key that signs and verifies the access tokens; every replica must share it.
    #: Unset: read from ``token_key_file``, created (random, mode 0600) on first use.
    token_key: SecretStr | None = None
    token_key_file: Path = GATEWAY_DIR / "token.key"
    token_ttl_seconds: PositiveInt = 900

    #: Per-partner request rate (token bucket, per replica) and its burst.
    rate_per_second: PositiveFloat = 50.0
    burst: PositiveInt = 100
    #: Largest request body (a batch included), bytes: larger is answered 413.
    max_body_bytes: PositiveInt = 1024 * 1024
    #: Most events in one batch POST.
    max_batch: PositiveInt = 100
    #: How long a POST waits for the broker's acknowledgement before answering 503.
    publish_timeout_seconds: PositiveFloat = 15.0

    #: How far back a replica reads the partners' acks topics when it starts (GET answers
    #: about events whose acknowledgements are at most this old at start, and all later).
    ack_window_hours: PositiveFloat = 72.0
    #: Most events a replica remembers per partner (the oldest are forgotten first).
    ack_index_max_events: PositiveInt = 100_000

    #: Webhook delivery: timeout of one POST, backoff between retries (doubling, capped).
    webhook_timeout_seconds: PositiveFloat = 10.0
    webhook_backoff_initial_seconds: PositiveFloat = 0.5
    webhook_backoff_max_seconds: PositiveFloat = 30.0
    #: Where a newly registered webhook starts: every acknowledgement the acks topic still
    #: holds (``earliest``, nothing lost) or only those after its first start (``latest``).
    webhook_start: Literal["earliest", "latest"] = "earliest"

    def signing_key(self) -> bytes:
        """The token key: the setting, else the key file (created on first use)."""
        if self.token_key is not None:
            return self.token_key.get_secret_value().encode()
        path = self.token_key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    def environment(self) -> dict[str, str]:
        """These settings as ``VIGIE_GATEWAY_*`` variables, for a child process."""
        return environment_of(self, "VIGIE_GATEWAY_")

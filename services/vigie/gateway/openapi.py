"""The OpenAPI document the gateway serves, without a broker or secrets: what is committed
as ``schemas/openapi/gateway.json`` (a unit test keeps the two equal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from vigie.gateway.acks import AckIndex
from vigie.gateway.api import Gateway, create_app
from vigie.gateway.partners import GatewayPartners
from vigie.gateway.settings import GatewaySettings
from vigie.kafka.publish import Record
from vigie.settings import Settings

COMMITTED = "schemas/openapi/gateway.json"


class _Nowhere:
    async def publish(self, records: Sequence[Record]) -> None:  # pragma: no cover
        raise RuntimeError("the document's app publishes nothing")


def document(config: GatewaySettings | None = None) -> dict[str, Any]:
    # Defaults, not the environment: the committed document is the same on every machine.
    config = config or GatewaySettings.model_construct(token_key=SecretStr("document-only"))
    app = create_app(Gateway(Settings(), config, GatewayPartners(), _Nowhere(), AckIndex(1)))
    return app.openapi()

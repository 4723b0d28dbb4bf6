"""The partners the gateway serves: who may call (client secret digest), where their
acknowledgements go (webhook URL and signing secret), and their own rate limit.

One JSON file (``VIGIE_GATEWAY_PARTNERS_FILE``), readable by the gateway only (mode 0600,
a Kubernetes Secret in production). The client secret is kept as a SHA-256 digest: it is a
random 256-bit value made by ``vigie gateway credentials``, so a slow password hash would add
nothing but latency. The webhook secret is kept as is, since the gateway signs with it.

Kept apart from the registry of participants on purpose (the gateway's credentials are a
secret, the registry is reference data); merging them means adding these fields to a
participant and reading them from there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, SecretStr

from vigie.contracts.models import PARTNER_ID_PATTERN


class PartnersFileError(Exception):
    """The partners file is missing or unreadable: said in French, never with its content."""


class GatewayPartner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    partner_id: str = Field(pattern=PARTNER_ID_PATTERN)
    client_secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    #: This partner's own limits (None: the gateway's defaults).
    rate_per_second: PositiveFloat | None = None
    burst: PositiveInt | None = None

    def accepts(self, client_secret: str) -> bool:
        """Constant-time check of a presented client secret."""
        digest = hashlib.sha256(client_secret.encode()).hexdigest()
        return hmac.compare_digest(digest, self.client_secret_sha256)


class GatewayPartners(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    partners: list[GatewayPartner] = Field(default_factory=list)

    def get(self, partner_id: str) -> GatewayPartner | None:
        return next((p for p in self.partners if p.partner_id == partner_id), None)

    def ids(self) -> list[str]:
        return sorted(p.partner_id for p in self.partners)

    def with_partner(self, partner: GatewayPartner) -> GatewayPartners:
        """A copy where ``partner`` replaces the entry of the same id (or is added)."""
        others = [p for p in self.partners if p.partner_id != partner.partner_id]
        return GatewayPartners(partners=sorted([*others, partner], key=lambda p: p.partner_id))


def load_partners(path: Path) -> GatewayPartners:
    try:
        return GatewayPartners.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise PartnersFileError(
            f"Fichier des partenaires introuvable : {path} (vigie gateway credentials "
            "<partenaire> le crée)") from None
    except ValueError:
        raise PartnersFileError(f"Fichier des partenaires illisible : {path}") from None


def save_partners(path: Path, registry: GatewayPartners) -> None:
    """Written to a private temporary file, then renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"partners": [
        {**p.model_dump(mode="json", exclude_none=True),
         **({"webhook_secret": p.webhook_secret.get_secret_value()} if p.webhook_secret else {})}
        for p in registry.partners]}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    tmp.replace(path)


def new_credentials(
    partner_id: str, webhook_url: str | None = None
) -> tuple[GatewayPartner, str, str | None]:
    """(entry, client secret, webhook secret): the secrets are shown once and kept only as
    the digest (client) or in the file (webhook)."""
    client_secret = secrets.token_urlsafe(32)
    webhook_secret = secrets.token_urlsafe(32) if webhook_url else None
    partner = GatewayPartner(
        partner_id=partner_id,
        client_secret_sha256=hashlib.sha256(client_secret.encode()).hexdigest(),
        webhook_url=AnyHttpUrl(webhook_url) if webhook_url else None,
        webhook_secret=SecretStr(webhook_secret) if webhook_secret else None,
    )
    return partner, client_secret, webhook_secret


def local_credentials(path: Path, partner_ids: list[str]) -> dict[str, str]:
    """For ``vigie run`` on a developer's machine only: a partners file for these partners
    and their client secrets, kept beside it (``<file>.secrets.json``, mode 0600) so that a
    second run prints the same ``curl``. Never used by a deployed gateway."""
    secrets_path = path.with_name(path.stem + ".secrets.json")
    known: dict[str, str] = {}
    if secrets_path.exists():
        known = json.loads(secrets_path.read_text())
    registry = load_partners(path) if path.exists() else GatewayPartners()
    for partner_id in partner_ids:
        if partner_id in known and registry.get(partner_id) is not None:
            continue
        entry, client_secret, _ = new_credentials(partner_id)
        registry = registry.with_partner(entry)
        known[partner_id] = client_secret
    save_partners(path, registry)
    fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(known, out, indent=2)
    return {p: known[p] for p in partner_ids}

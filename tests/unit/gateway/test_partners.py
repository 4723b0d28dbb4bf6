"""The gateway's partners file: digests only for client secrets, private, round trip."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from vigie.gateway.partners import (
    GatewayPartners,
    PartnersFileError,
    load_partners,
    local_credentials,
    new_credentials,
    save_partners,
)


def test_credentials_round_trip_with_the_secret_only_as_a_digest(tmp_path: Path) -> None:
    entry, client_secret, hook_secret = new_credentials("opac-oise", "https://x.example/h")
    path = tmp_path / "partners.json"
    save_partners(path, GatewayPartners(partners=[entry]))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert client_secret not in text
    assert hashlib.sha256(client_secret.encode()).hexdigest() in text
    loaded = load_partners(path).get("opac-oise")
    assert loaded is not None and loaded.accepts(client_secret)
    assert not loaded.accepts(client_secret + "x")
    assert loaded.webhook_secret is not None
    assert loaded.webhook_secret.get_secret_value() == hook_secret
    assert str(loaded.webhook_url) == "https://x.example/h"


def test_a_missing_or_broken_file_is_said_in_french(tmp_path: Path) -> None:
    with pytest.raises(PartnersFileError, match="introuvable"):
        load_partners(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text('{"partners": [{"partner_id": "A B"}]}')
    with pytest.raises(PartnersFileError, match="illisible"):
        load_partners(tmp_path / "bad.json")


def test_local_credentials_are_stable_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "gw" / "partners.json"
    first = local_credentials(path, ["opac-oise", "clesence"])
    again = local_credentials(path, ["opac-oise", "clesence", "oise-habitat"])
    assert again["opac-oise"] == first["opac-oise"]
    registry = load_partners(path)
    assert registry.ids() == ["clesence", "oise-habitat", "opac-oise"]
    assert all(registry.get(p).accepts(s) for p, s in again.items())  # type: ignore[union-attr]

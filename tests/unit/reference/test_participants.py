"""The registry of participants: what it accepts, what it refuses, and that the shipped one
covers the reference data and drives the workers' partners."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from vigie.reference.participants import (
    REGISTRY_FILE,
    Participant,
    Quotas,
    Registry,
    load_registry,
    registry_json,
    save_registry,
)
from vigie.reference.units import load_units_file
from vigie.settings import Settings


def _data() -> dict:
    return json.loads(REGISTRY_FILE.read_text(encoding="utf-8"))


def test_shipped_registry_lists_every_reference_unit_and_the_four_landlords() -> None:
    registry = load_registry()
    assert registry.partner_ids() == ["opac-oise", "oise-habitat", "clesence", "sa-hlm-oise"]
    reference_units = {u.unit_id for u in load_units_file().units}
    assert len(reference_units) == 23
    assert reference_units <= set(registry.unit_ids())
    assert (registry.admin_login, registry.worker_login, registry.gateway_login) == (
        "vigie-admin", "vigie-worker", "vigie-gateway")


def test_file_layout_is_stable() -> None:
    """What save writes is what is committed: an onboarding shows as its own lines only."""
    assert registry_json(load_registry()) == REGISTRY_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("bad", ["Opac", "opac_oise", "-opac", "opac-", "", "a" * 61, "é"])
def test_ids_must_be_topic_names(bad: str) -> None:
    with pytest.raises(ValidationError):
        Participant(id=bad)


def test_duplicates_and_missing_roles_are_refused() -> None:
    data = _data()
    data["partners"].append({"id": "opac-oise"})
    with pytest.raises(ValidationError, match="duplicate partner"):
        Registry.model_validate(data)
    data = _data()
    data["operations"] = [o for o in data["operations"] if o["role"] != "worker"]
    with pytest.raises(ValidationError, match="one admin, one worker and one gateway"):
        Registry.model_validate(data)
    data = _data()
    data["partners"][0]["quota"] = {}  # a typo must not pass silently
    with pytest.raises(ValidationError):
        Registry.model_validate(data)


def test_quotas_default_per_kind_and_override() -> None:
    registry = load_registry()
    own = Quotas(producer_byte_rate=1000, request_percentage=5)
    registry = registry.with_participant("partner", Participant(id="petit-bailleur", quotas=own))
    assert registry.quotas_of("partner", "petit-bailleur") == own
    assert own.kafka() == {"producer_byte_rate": 1000.0, "request_percentage": 5.0}
    assert registry.quotas_of("partner", "opac-oise") == registry.quotas.partner
    assert registry.quotas_of("unit", "gn-bt-meru") == registry.quotas.unit
    assert registry.quotas_of("partner", "not-listed") == registry.quotas.partner


def test_add_remove_and_save(tmp_path: Path) -> None:
    path = tmp_path / "participants.json"
    registry = load_registry().with_participant("partner", Participant(id="nouveau-bailleur"))
    registry = registry.with_participant("unit", Participant(id="gn-bt-aaa"))
    save_registry(registry, path)
    again = load_registry(path)
    assert again.partner_ids()[-1] == "nouveau-bailleur"  # appended: round-robin order kept
    assert "gn-bt-aaa" in again.unit_ids()
    [unit_ids] = [[u["id"] for u in json.loads(path.read_text())["units"]]]
    assert unit_ids == sorted(unit_ids)
    gone = again.without_participant("partner", "nouveau-bailleur")
    assert gone.partner_ids() == load_registry().partner_ids()
    assert gone.entry("partner", "nouveau-bailleur") is None


def test_workers_read_their_partners_from_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No code change and no VIGIE_PARTNERS: the registry file the settings name decides."""
    path = tmp_path / "participants.json"
    save_registry(load_registry().with_participant("partner", Participant(id="nouveau")), path)
    monkeypatch.delenv("VIGIE_PARTNERS", raising=False)
    monkeypatch.setenv("VIGIE_REGISTRY_FILE", str(path))
    assert Settings().partners[-1] == "nouveau"
    monkeypatch.setenv("VIGIE_PARTNERS", '["seul"]')
    assert Settings().partners == ["seul"]

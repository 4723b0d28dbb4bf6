"""Evolution guard: today's schemas pass; each kind of bad change is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from vigie.cli import app
from vigie.contracts.evolution import check_all
from vigie.contracts.schemas import (
    MESSAGE_OF_MODEL,
    SchemaRegistry,
    default_schema_dir,
    get_registry,
)


def test_current_schemas_are_full_transitive_and_clean() -> None:
    assert check_all() == []


def test_every_model_has_a_schema_and_partner_event_has_two_versions() -> None:
    registry = get_registry()
    assert set(registry.messages()) == set(MESSAGE_OF_MODEL.values())
    assert [v.version for v in registry.versions("partner_event")] == [1, 2]
    names = {v.full_name for v in registry.versions("partner_event")}
    assert names == {"fr.vigie.PartnerEvent"}
    fingerprints = [v.fingerprint for v in registry]
    assert len(set(fingerprints)) == len(fingerprints)


def _candidate(tmp_path: Path, change: Any) -> SchemaRegistry:
    """Copy of the schemas plus a partner_event v3 made from v2 by ``change``."""
    root = tmp_path / "avro"
    shutil.copytree(default_schema_dir(), root)
    raw = json.loads((root / "partner_event" / "v2.avsc").read_text())
    change(raw)
    (root / "partner_event" / "v3.avsc").write_text(json.dumps(raw))
    return SchemaRegistry(root)


def _checks(registry: SchemaRegistry) -> set[str]:
    return {p.check for p in check_all(registry)}


def _field(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in raw["fields"] if f["name"] == name)


def test_safe_v3_passes_except_model_alignment(tmp_path: Path) -> None:
    def add_optional(raw: dict[str, Any]) -> None:
        raw["fields"].append(
            {"name": "channel", "type": ["null", "string"], "default": None, "doc": "Canal."}
        )

    problems = check_all(_candidate(tmp_path, add_optional))
    # Only the model lags behind: compatibility itself is fine.
    assert [(p.message, p.check) for p in problems] == [("partner_event", "model")]


def test_required_field_without_default_breaks_backward(tmp_path: Path) -> None:
    def add_required(raw: dict[str, Any]) -> None:
        raw["fields"].append({"name": "channel", "type": "string", "doc": "Canal."})

    assert "backward" in _checks(_candidate(tmp_path, add_required))


def test_removing_a_field_without_default_breaks_forward(tmp_path: Path) -> None:
    def drop_category(raw: dict[str, Any]) -> None:
        raw["fields"].remove(_field(raw, "category"))

    assert "forward" in _checks(_candidate(tmp_path, drop_category))


def test_type_change_breaks_both(tmp_path: Path) -> None:
    def retype(raw: dict[str, Any]) -> None:
        _field(raw, "partner_id")["type"] = "long"

    assert {"backward", "forward"} <= _checks(_candidate(tmp_path, retype))


def test_enum_symbol_added_is_fine_but_default_removed_is_caught(tmp_path: Path) -> None:
    def add_symbol(raw: dict[str, Any]) -> None:
        _field(raw, "category")["type"]["symbols"].append("DRONE")

    assert _checks(_candidate(tmp_path / "a", add_symbol)) == set()

    def drop_default(raw: dict[str, Any]) -> None:
        _field(raw, "category")["type"]["symbols"].append("DRONE")
        del _field(raw, "category")["type"]["default"]

    # Still compatible with v1/v2 (their readers have the default), but v4 would not be:
    # the hygiene check catches it now.
    assert _checks(_candidate(tmp_path / "b", drop_default)) == {"enum-default"}


def test_rename_missing_doc_namespace_and_event_id_order(tmp_path: Path) -> None:
    def vandalise(raw: dict[str, Any]) -> None:
        raw["name"] = "PartnerEventV3"
        del _field(raw, "site_id")["doc"]
        raw["fields"].insert(1, raw["fields"].pop(0))

    checks = _checks(_candidate(tmp_path, vandalise))
    assert {"name", "doc", "event-id-first"} <= checks


def test_cli_schema_check_and_list() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["schema", "check"])
    assert result.exit_code == 0, result.output
    assert "partner_event" in result.output and "FULL_TRANSITIVE" in result.output
    listed = runner.invoke(app, ["schema", "list"])
    assert listed.exit_code == 0
    assert get_registry().latest("partner_event").fingerprint_hex in listed.output


def test_cli_schema_check_fails_on_bad_candidate(tmp_path: Path, monkeypatch: Any) -> None:
    def add_required(raw: dict[str, Any]) -> None:
        raw["fields"].append({"name": "channel", "type": "string", "doc": "Canal."})

    registry = _candidate(tmp_path, add_required)
    monkeypatch.setenv("VIGIE_SCHEMA_DIR", str(registry.root))
    result = CliRunner().invoke(app, ["schema", "check"])
    assert result.exit_code == 1
    assert "backward" in result.output

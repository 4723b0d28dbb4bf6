"""``vigie route explain`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vigie.cli.route import route_app

RUNNER = CliRunner()
KEYS = {"insee", "commune", "force", "unit_id", "unit_name", "method", "reference_version"}


def _run(*args: str, stdin: str | None = None) -> list[dict]:
    result = RUNNER.invoke(route_app, ["explain", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_explain_coordinates() -> None:
    [answer] = _run("--lat", "49.2578", "--lon", "2.4826")
    assert set(answer) >= KEYS
    assert answer["insee"] == "60175" and answer["commune"] == "Creil"
    assert answer["force"] == "PN" and answer["unit_id"] == "pn-csp-creil"
    assert answer["method"] == "COORDINATES"
    assert "competence=" in answer["reference_version"]


def test_explain_insee() -> None:
    [answer] = _run("--insee", "60395")
    assert answer["force"] == "GN" and answer["unit_id"] == "gn-bt-meru"
    assert answer["unit_name"] == "Brigade de gendarmerie de Méru"
    assert answer["method"] == "INSEE"


def test_explain_batch_from_stdin_with_bad_lines(tmp_path: Path) -> None:
    lines = [
        '{"lat": 49.2578, "lon": 2.4826}',
        '{"insee": "60471"}',
        '{"lat": 48.8566, "lon": 2.3522}',
        "not json",
        '{"lat": "north"}',
        "",
        "[1, 2]",
    ]
    answers = _run("--input", "-", stdin="\n".join(lines) + "\n")
    assert len(answers) == 6
    assert [a["force"] for a in answers] == ["PN", "GN", None, None, None, None]
    assert answers[2]["reason"] == "OUT_OF_AREA"
    assert answers[3]["reason"] == "INVALID_JSON"
    assert answers[4]["reason"] == "INVALID_INPUT"
    assert all(set(a) >= KEYS for a in answers)
    file = tmp_path / "places.jsonl"
    file.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    assert [a["unit_id"] for a in _run("--input", str(file))] == [
        "pn-csp-creil",
        "gn-bt-compiegne",
    ]


def test_explain_with_an_official_competence_file() -> None:
    fixture = Path(__file__).parents[1] / "reference" / "fixtures"
    [answer] = _run(
        "--insee", "60395", "--competence", str(fixture / "competence-official-sample.csv")
    )
    # The fixture's service 67890 is not in the unit table: manual triage, not a guess.
    assert answer["force"] is None and answer["reason"] == "UNKNOWN_UNIT"


def test_explain_needs_exactly_one_mode() -> None:
    result = RUNNER.invoke(route_app, ["explain"])
    assert result.exit_code != 0


def test_explain_echoes_a_hostile_input_as_json_escapes() -> None:
    from tests.hostile_text import FORBIDDEN, HOSTILE

    query = {"postcode": "60000", "commune": HOSTILE}
    result = RUNNER.invoke(route_app, ["explain", "--input", "-"], input=json.dumps(query) + "\n")
    assert result.exit_code == 0, result.output
    assert not any(c in result.stdout for c in FORBIDDEN)
    [answer] = [json.loads(line) for line in result.stdout.splitlines()]
    assert answer["input"] == query


def test_explain_at_night_prints_the_rule_chain_of_each_lane() -> None:
    """The example of issue 15: Méru, Sunday 29 November 2026 at 02:00."""
    [answer] = _run("--insee", "60395", "--at", "2026-11-29T02:00+01:00")
    assert answer["unit_id"] == answer["competent_unit_id"] == "gn-bt-meru"
    assert answer["at"] == "2026-11-29T02:00:00+01:00"
    assert answer["rules_version"].startswith("rules-oise.json@")
    alert, incident = answer["routes"]["ALERT"], answer["routes"]["INCIDENT"]
    assert alert["units"] == ["gn-corg-oise"] and alert["routing_rule"] == "OUTSIDE_HOURS"
    assert [line.split(" ")[2] for line in alert["chain"][1:3]] == ["gn-bt-meru",
                                                                    "gn-cie-meru"]
    assert alert["chain"][-1] == "gn-corg-oise le prend (de service 24 h/24)"
    assert incident["units"] == ["gn-bt-meru"] and incident["routing_rule"] is None
    result = RUNNER.invoke(route_app, ["explain", "--insee", "60395", "--at",
                                       "2026-11-29T02:00", "--chain"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "ALERT: -> gn-corg-oise [OUTSIDE_HOURS]" in text
    assert "écartée : gn-bt-meru OUTSIDE_HOURS (dim. 2026-11-29 02:00 CET" in text
    assert "INCIDENT: -> gn-bt-meru" in text


def test_explain_with_a_rules_file(tmp_path: Path) -> None:
    from vigie.reference.rules import RULES_FILE

    document = json.loads(RULES_FILE.read_text())
    for entry in document["units"]:
        if entry["unit_id"] == "gn-bt-meru":
            entry["schedule"] = "round-the-clock"
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(document))
    [answer] = _run("--insee", "60395", "--at", "2026-11-29T02:00+01:00", "--rules", str(rules))
    assert answer["routes"]["ALERT"]["units"] == ["gn-bt-meru"]
    assert answer["rules_version"].startswith("rules.json@")

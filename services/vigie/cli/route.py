"""``vigie route explain``: which unit would receive an event at this place, and why.

Why: operators and partners need to check the routing of a place (or of a whole list of
places) against the reference data without a broker. The command runs the very policy the
router runs (``vigie.routing.policy.decide``) on a synthetic event, with the shipped
reference data or an official competence file given with ``--competence``.

Output: one JSON object per query (JSON Lines), with at least ``insee``, ``commune``,
``force`` ("PN"/"GN", null when unplaced), ``unit_id``, ``unit_name``, ``method``,
``reference_version``; an unplaced query gives ``"force": null`` and a ``reason``. A batch
always exits 0: bad lines are answered, not fatal. Answers echo their input: controls and
bidi characters in it are written as ``\\uXXXX`` escapes (``vigie.terminal.safe_json``).

The routing rules apply at ``--at`` (default: now): ``routes`` gives, for an urgent alert and
for an incident, who takes the event and the rule chain that says so (each unit passed over,
by which rule); ``--chain`` prints the same chain as text for one place.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer

from vigie.contracts.enums import Category, DecisionStatus, Lane
from vigie.contracts.models import Address, Coordinates, Location, PartnerEvent
from vigie.reference.snapshot import ReferenceSnapshot, ReferenceStore
from vigie.terminal import escape_untrusted, safe_json

route_app = typer.Typer(
    help="Expliquer l'acheminement d'un lieu : commune, force, unité compétente.",
    no_args_is_help=True,
)


@route_app.callback()
def _route() -> None:
    """Expliquer l'acheminement d'un lieu : commune, force, unité compétente."""
    # A callback keeps ``route`` a command group even with a single command, so that
    # ``vigie route explain`` is spelled the same when the app is invoked on its own.


INVALID_JSON = "INVALID_JSON"
INVALID_INPUT = "INVALID_INPUT"


#: Times given without an offset are read as the time of Oise.
LOCAL_ZONE = "Europe/Paris"
#: The category a synthetic event of each lane carries (the policy derives the lane from it).
_LANE_CATEGORY = {Lane.ALERT: Category.STAFF_THREAT, Lane.INCIDENT: Category.OTHER}


def _reference(competence: Path | None, rules: Path | None = None) -> ReferenceSnapshot:
    store = ReferenceStore.with_defaults()
    if rules is not None:
        from vigie.reference.rules import load_rules_file

        for record in load_rules_file(rules).records:
            store.upsert_rules(record)
    if competence is not None:
        from vigie.reference.competence import DEFAULT_EFFECTIVE_FROM, import_competence_csv

        imported = import_competence_csv(
            competence, departement="60", effective_from=DEFAULT_EFFECTIVE_FROM
        )
        for warning in imported.warnings:
            typer.echo(f"avertissement : {escape_untrusted(warning)}", err=True)
        store.replace_competence(imported.records)
    return store.snapshot()


def _version_string(ref: ReferenceSnapshot) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(ref.versions.items()))


def _event(query: dict[str, Any], on: date, number: int, at: datetime | None = None,
           lane: Lane = Lane.INCIDENT) -> PartnerEvent:
    """A synthetic event carrying only the place: the policy sees what the router would."""
    coordinates = None
    if "lat" in query or "lon" in query:
        lat, lon = query.get("lat"), query.get("lon")
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in (lat, lon)
        ):
            raise ValueError("lat and lon must be finite numbers")
        coordinates = Coordinates(lat=float(lat), lon=float(lon))  # type: ignore[arg-type]
    address = None
    if any(query.get(k) for k in ("insee", "postcode", "commune")):
        address = Address(
            insee_code=str(query["insee"]) if query.get("insee") else None,
            postcode=str(query["postcode"]) if query.get("postcode") else None,
            commune_name=str(query["commune"]) if query.get("commune") else None,
        )
    if coordinates is None and address is None:
        raise ValueError("expected lat/lon, insee, or postcode and commune")
    sent = at if at is not None else datetime.combine(on, time(12, 0), tzinfo=UTC)
    return PartnerEvent(
        event_id=f"route-explain-{number}",
        partner_id="cli",
        sent_at=sent,
        occurred_at=sent,
        category=_LANE_CATEGORY[lane],
        location=Location(coordinates=coordinates, address=address),
    )


def rule_chain(decision: Any, lane: Lane, ref: ReferenceSnapshot, at: datetime) -> list[str]:
    """The chain of one lane as lines: the competent unit and its hours, every unit passed
    over and why, who takes the event (reference data and the time only)."""
    from vigie.reference.rules import describe_hours
    from vigie.routing.chain import RoutingContext, on_duty_text, resolve, rules_at

    competent = decision.competent_unit_id
    if competent is None:
        return [f"aucune unité compétente ({decision.reason_code}) : tri manuel à "
                f"{', '.join(decision.units)}"]
    route = resolve(competent, lane, ref, RoutingContext(at=at))
    hours = describe_hours(rules_at(competent, ref, at).rules)
    lines = [f"compétente : {competent}, horaires : {hours}"]
    lines += [f"écartée : {step.text()}" for step in route.steps]
    if route.unit_id is None:
        lines.append(f"aucune unité de service : tri manuel à {', '.join(decision.units)}")
    else:
        lines.append(on_duty_text(route.unit_id, ref, at))
    return lines


def explain_query(query: dict[str, Any], ref: ReferenceSnapshot, on: date, number: int = 1,
                  at: datetime | None = None) -> dict:
    """The answer object for one query (also used by tests and other commands)."""
    from vigie.routing.chain import RoutingContext
    from vigie.routing.policy import decide

    base: dict[str, Any] = {"input": query} if number else {}
    try:
        event = _event(query, on, number, at)
    except (ValueError, TypeError) as exc:
        return {**base, **_refused(INVALID_INPUT, ref), "detail": str(exc).splitlines()[0][:200]}
    when = at if at is not None else event.sent_at
    context = RoutingContext(at=when)
    outcome = decide(event, ref, context)
    decision = outcome.decision
    routes = {}
    for lane in Lane:
        lane_decision = decide(_event(query, on, number, at, lane), ref, context).decision
        routes[lane.value] = {
            "status": lane_decision.status.value,
            "units": lane_decision.units,
            "routing_rule": lane_decision.routing_rule,
            "reason": lane_decision.reason_code,
            "chain": rule_chain(lane_decision, lane, ref, when),
        }
    routed = decision.status is DecisionStatus.ROUTED
    unit_id = decision.competent_unit_id if routed else None
    record = ref.competence.lookup(decision.insee_code, on) if decision.insee_code else None
    unit = ref.units.get(unit_id) if unit_id else None
    return {
        **base,
        "insee": decision.insee_code,
        "commune": outcome.enrichment.commune.name if outcome.enrichment.commune else None,
        "force": decision.force.value if decision.force else None,
        "unit_id": unit_id,
        "unit_name": unit.name if unit else None,
        "method": decision.method.value,
        "status": decision.status.value,
        "units": decision.units,
        "reason": decision.reason_code,
        "discrepancy": decision.discrepancy,
        "inferred": record.inferred if (record and routed) else None,
        "provenance": record.provenance if (record and routed) else None,
        "explanation": decision.explanation,
        "reference_version": _version_string(ref),
        "reference_versions": dict(decision.reference_versions),
        "at": when.isoformat(),
        "competent_unit_id": decision.competent_unit_id,
        "rules_version": decision.rules_version,
        "routes": routes,
    }


def _refused(reason: str, ref: ReferenceSnapshot) -> dict[str, Any]:
    """The answer to an input that is not a query at all (nothing was routed)."""
    return {
        "insee": None,
        "commune": None,
        "force": None,
        "unit_id": None,
        "unit_name": None,
        "method": None,
        "reason": reason,
        "reference_version": _version_string(ref),
    }


def _lines(source: str) -> Iterator[str]:
    if source == "-":
        yield from sys.stdin
    else:
        with open(source, encoding="utf-8") as fh:
            yield from fh


def explain_lines(lines: Iterable[str], ref: ReferenceSnapshot, on: date,
                  at: datetime | None = None) -> Iterator[dict]:
    """Answer every non-blank JSON Lines input; a bad line gives an answer with a reason."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            query = json.loads(line)
        except json.JSONDecodeError:
            yield {"line": number, **_refused(INVALID_JSON, ref)}
            continue
        if not isinstance(query, dict):
            yield {"line": number, **_refused(INVALID_INPUT, ref)}
            continue
        yield {"line": number, **explain_query(query, ref, on, number, at)}


@route_app.command("explain")
def explain(
    lat: Annotated[float | None, typer.Option("--lat", help="latitude, WGS 84")] = None,
    lon: Annotated[float | None, typer.Option("--lon", help="longitude, WGS 84")] = None,
    insee: Annotated[str | None, typer.Option("--insee", help="code INSEE de la commune")] = None,
    input_: Annotated[
        str | None,
        typer.Option("--input", help='JSON Lines de {"lat":…,"lon":…} ou {"insee":…} ; - : stdin'),
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="date de la compétence (défaut : ce jour)")
    ] = None,
    competence: Annotated[
        Path | None,
        typer.Option("--competence", help="CSV officiel de compétence à utiliser"),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="instant où s'appliquent les règles d'acheminement, ISO 8601 "
                     "(heure de Paris sans décalage ; défaut : maintenant), ex. "
                     "2026-11-29T02:00+01:00"),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="fichier de règles à vérifier à la place de celui livré"),
    ] = None,
    chain: Annotated[
        bool, typer.Option("--chain", help="afficher la chaîne des règles en texte (un lieu)")
    ] = False,
) -> None:
    """Afficher où un lieu est acheminé, en JSON (un objet par ligne avec --input)."""
    modes = [input_ is not None, insee is not None, lat is not None or lon is not None]
    if sum(modes) != 1:
        raise typer.BadParameter("donnez exactement un de --lat/--lon, --insee, --input")
    try:
        when = _instant(at) if at else datetime.now(UTC)
        day = date.fromisoformat(on) if on else when.date()
    except ValueError as exc:
        raise typer.BadParameter(f"--on/--at: {exc}") from exc
    ref = _reference(competence, rules)
    if input_ is not None:
        for answer in explain_lines(_lines(input_), ref, day, when):
            typer.echo(safe_json(json.dumps(answer, ensure_ascii=False)))
        return
    query: dict[str, Any] = {"insee": insee} if insee is not None else {"lat": lat, "lon": lon}
    answer = explain_query(query, ref, day, 0, when)
    if chain:
        typer.echo("\n".join(escape_untrusted(line) for line in chain_text(answer).split("\n")))
        return
    typer.echo(safe_json(json.dumps(answer, ensure_ascii=False)))


def _instant(text: str) -> datetime:
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=ZoneInfo(LOCAL_ZONE))


def chain_text(answer: dict[str, Any]) -> str:
    """The rule chains of an answer, for a human: one block per lane."""
    if answer.get("force") is None and not answer.get("routes"):
        return f"{answer.get('insee')}: {answer.get('reason')}"
    head = (f"{answer['commune']} ({answer['insee']}), compétence {answer['force']} : "
            f"{answer['competent_unit_id']} ; règles au {answer['at']} "
            f"({answer['rules_version']})")
    lines = [head]
    for lane, route in answer["routes"].items():
        taker = ", ".join(route["units"])
        rule = f" [{route['routing_rule']}]" if route["routing_rule"] else ""
        lines.append(f"{lane}: -> {taker}{rule}")
        lines += [f"    {line}" for line in route["chain"]]
    return "\n".join(lines)

"""The HTTP API (FastAPI): tokens, ``POST /v1/events``, ``GET /v1/events/{event_id}``.

Every answer a partner can get is in the OpenAPI document the app serves (and that is
committed as ``schemas/openapi/gateway.json``): schemathesis checks that the app keeps to
it. Refusals carry the stable reason codes and fixed French messages of the Kafka
acknowledgements (``Problem``), never a value the partner sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from vigie.acks.lifecycle import current_state
from vigie.contracts.enums import AckStatus
from vigie.contracts.models import Acknowledgement, PartnerEvent
from vigie.gateway import metrics
from vigie.gateway.acks import AckIndex
from vigie.gateway.auth import SCOPE, AuthError, Authority
from vigie.gateway.checks import Checked, Refusal, check_body
from vigie.gateway.limits import RateLimiter
from vigie.gateway.partners import GatewayPartners
from vigie.gateway.publisher import Publisher
from vigie.gateway.settings import GatewaySettings
from vigie.routing.policy import lane_for
from vigie.settings import Settings

TOKEN_PATH = "/v1/oauth/token"
API_VERSION = "1.0.0"


# -- what the API answers --------------------------------------------------------------------
class IssueOut(BaseModel):
    reason_code: str = Field(description="Code stable (contracts/reasons.py)")
    field: str = Field(description="Champ concerné (vide : le message entier)")
    message: str = Field(description="Texte fixe en français, sans valeur transmise")


class ItemProblem(BaseModel):
    index: int = Field(description="Rang de l'événement dans le lot (0 pour un seul)")
    event_id: str | None
    reason_code: str
    message: str
    detail: str | None = Field(None, description="Chemin des champs fautifs (anglais)")
    issues: list[IssueOut]


class Problem(BaseModel):
    """Every refusal: the code and text of the Kafka acknowledgement, and each problem."""

    status: int
    reason_code: str | None = None
    message: str
    items: list[ItemProblem] = Field(default_factory=list)


class Accepted(BaseModel):
    event_id: str
    status: Literal["ACCEPTED"] = "ACCEPTED"
    acknowledgements: str = Field(description="Où lire les accusés de réception")


class AcceptedBatch(BaseModel):
    events: list[Accepted]


class HistoryEntry(BaseModel):
    status: AckStatus
    at: datetime
    units: list[str]
    reason_code: str | None = None
    reason_message: str | None = None


class EventView(BaseModel):
    event_id: str
    status: AckStatus | None = Field(description="Où en est l'événement (hors DUPLICATE)")
    history: list[HistoryEntry]
    acknowledgements: list[Acknowledgement]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


class OAuthErrorOut(BaseModel):
    error: str
    error_description: str


# -- the app ---------------------------------------------------------------------------------
class ApiError(Exception):
    def __init__(self, status: int, message: str, *, reason_code: str | None = None,
                 items: list[ItemProblem] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problem = Problem(status=status, reason_code=reason_code, message=message,
                               items=items or [])
        self.headers = headers


@dataclass
class Gateway:
    """What the routes need; built by ``vigie.gateway.server`` (or a test)."""

    settings: Settings
    config: GatewaySettings
    partners: GatewayPartners
    publisher: Publisher
    index: AckIndex
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    authority: Authority = field(init=False)

    def __post_init__(self) -> None:
        self.authority = Authority(self.partners, self.config.signing_key(),
                                   self.config.token_ttl_seconds)


_oauth2 = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(
        tokenUrl=TOKEN_PATH, scopes={SCOPE: "publier et suivre ses événements"})),
    scheme_name="oauth2", auto_error=False,
    description="OAuth2 client credentials : jeton porteur (Bearer) signé par la passerelle.")

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Jeton absent, invalide ou expiré"},
    429: {"model": Problem, "description": "Trop de requêtes (en-tête Retry-After)"}}


def _item(refusal: Refusal) -> ItemProblem:
    return ItemProblem(
        index=refusal.index, event_id=refusal.event_id, reason_code=refusal.reason.value,
        message=refusal.reason.message_fr, detail=refusal.detail,
        issues=[IssueOut(reason_code=i.reason.value, field=i.field, message=i.message_fr)
                for i in refusal.issues])


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes (announced or streamed)."""
    too_large = ApiError(413, f"Requête trop volumineuse (maximum : {limit} octets).")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(gateway: Gateway) -> FastAPI:
    app = FastAPI(
        title="Vigie — passerelle des bailleurs",
        version=API_VERSION,
        description=(
            "Publier des événements (signalements, alertes) et suivre leurs accusés de "
            "réception sans client Kafka. Mêmes contrôles, mêmes codes de motif et mêmes "
            "messages que sur Kafka (docs/gateway.md)."),
        docs_url=None, redoc_url=None,
    )
    app.state.gateway = gateway
    app.add_middleware(metrics.RequestMetrics)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.problem.model_dump(mode="json"), status_code=exc.problem.status,
                            headers=exc.headers)

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse(OAuthErrorOut(error=exc.error, error_description=exc.message_fr)
                            .model_dump(), status_code=401)

    async def caller(authorization: str | None = Security(_oauth2)) -> str:
        """The partner id of the bearer token, once within its rate."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Authentification requise (jeton porteur OAuth2).",
                           headers={"WWW-Authenticate": "Bearer"})
        try:
            partner_id = gateway.authority.partner_of(token.strip())
        except AuthError as exc:
            raise ApiError(401, exc.message_fr,
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        partner = gateway.partners.get(partner_id)
        assert partner is not None  # partner_of checked it
        wait = gateway.limiter.take(partner_id,
                                    partner.rate_per_second or gateway.config.rate_per_second,
                                    partner.burst or gateway.config.burst)
        if wait > 0:
            raise ApiError(429, "Trop de requêtes : réessayez plus tard.",
                           headers={"Retry-After": RateLimiter.retry_after(wait)})
        return partner_id

    @app.post(TOKEN_PATH, response_model=TokenOut, tags=["authentification"],
              summary="Obtenir un jeton (OAuth2 client credentials)",
              responses={400: {"model": OAuthErrorOut}, 401: {"model": OAuthErrorOut},
                         413: {"model": Problem}})
    async def token(request: Request) -> TokenOut | JSONResponse:
        body = await _read_body(request, 8192)
        try:
            form = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=10)
        except (UnicodeDecodeError, ValueError):
            form = {}
        values = {k: v[0] for k, v in form.items() if v}
        if values.get("grant_type") != "client_credentials":
            return JSONResponse(OAuthErrorOut(
                error="unsupported_grant_type",
                error_description="Seul grant_type=client_credentials est accepté.",
            ).model_dump(), status_code=400)
        client_id, client_secret = _client_of(request, values)
        issued = gateway.authority.issue(client_id, client_secret)
        return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in,
                        scope=SCOPE)

    @app.post("/v1/events", status_code=202, response_model=Accepted | AcceptedBatch,
              tags=["événements"], summary="Publier un événement ou un lot",
              responses={**_AUTH,
                         403: {"model": Problem, "description": "Émetteur autre que le "
                               "titulaire du jeton (SENDER_MISMATCH)"},
                         413: {"model": Problem, "description": "Corps trop volumineux"},
                         422: {"model": Problem, "description": "Événement refusé, avec "
                               "les codes de motif des accusés Kafka"},
                         503: {"model": Problem, "description": "Broker indisponible : "
                               "renvoyer le même événement plus tard (idempotent)"}})
    async def post_events(request: Request,
                          partner_id: str = Depends(caller)) -> Accepted | AcceptedBatch:
        body = await _read_body(request, gateway.config.max_body_bytes)
        checked = check_body(body, partner_id, gateway.settings, gateway.clock(),
                             gateway.config.max_batch)
        if checked.refusals:
            for refusal in checked.refusals:
                metrics.EVENTS_REFUSED.labels(partner_id, refusal.reason.value).inc()
            _refuse(checked)
        # Idempotency: an event the pipeline already took is not published again (another
        # replica may not know it yet: the pipeline then answers DUPLICATE); the answer is
        # the same either way, built from the event id only.
        fresh = [(event, record) for event, record in checked.accepted
                 if not gateway.index.accepted(partner_id, event.event_id)]
        if fresh:
            try:
                await gateway.publisher.publish([record for _, record in fresh])
            except Exception:
                raise ApiError(503, "Publication impossible pour l'instant : renvoyez le "
                               "même événement (même identifiant) plus tard.",
                               headers={"Retry-After": "5"}) from None
            for event, _ in fresh:
                metrics.EVENTS_PUBLISHED.labels(partner_id, lane_for(event).value).inc()
        if len(fresh) < len(checked.accepted):
            metrics.EVENTS_REPEATED.labels(partner_id).inc(len(checked.accepted) - len(fresh))
        answers = [Accepted(event_id=e.event_id, acknowledgements=f"/v1/events/{e.event_id}")
                   for e, _ in checked.accepted]
        return AcceptedBatch(events=answers) if checked.batch else answers[0]

    @app.get("/v1/events/{event_id}", response_model=EventView, tags=["événements"],
             summary="Accusés de réception et historique d'un événement",
             responses={**_AUTH,
                        404: {"model": Problem, "description": "Aucun accusé pour cet "
                              "événement chez ce bailleur (pas encore, ou pas le sien)"},
                        503: {"model": Problem, "description": "Passerelle en démarrage"}})
    async def get_event(event_id: str, partner_id: str = Depends(caller)) -> EventView:
        acks = gateway.index.get(partner_id, event_id)
        if acks is None:
            if not gateway.index.ready:
                raise ApiError(503, "Passerelle en cours de démarrage : réessayez.",
                               headers={"Retry-After": "2"})
            raise ApiError(404, "Aucun accusé de réception pour cet événement (pas encore "
                           "traité, trop ancien, ou d'un autre émetteur).")
        history = [HistoryEntry(status=a.status, at=a.issued_at, units=a.units,
                                reason_code=a.reason_code, reason_message=a.reason_message)
                   for a in acks]
        return EventView(event_id=event_id, status=current_state(a.status for a in acks),
                         history=history, acknowledgements=acks)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Not authenticated, like the workers' (``vigie.workers.http``): the gateway's port
        faces partners, so a deployment exposes only ``/v1`` to them (docs/gateway.md)."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready = gateway.index.ready
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    app.openapi = lambda: _openapi(app, gateway.config.max_batch)  # type: ignore[method-assign]
    return app


def _client_of(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_id and client_secret from HTTP Basic (RFC 6749 §2.3.1) or the form."""
    import base64
    import binascii

    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        return user, password
    return form.get("client_id", ""), form.get("client_secret", "")


def _refuse(checked: Checked) -> None:
    items = [_item(r) for r in checked.refusals]
    if checked.sender_mismatch:
        raise ApiError(403, items[0].message if not checked.batch else
                       "Le lot contient un événement d'un autre émetteur.",
                       reason_code="SENDER_MISMATCH", items=items)
    first = items[0]
    raise ApiError(422, first.message if not checked.batch else
                   "Lot refusé : aucun événement publié (voir items).",
                   reason_code=first.reason_code, items=items)


def _openapi(app: FastAPI, max_batch: int) -> dict[str, Any]:
    """FastAPI's document, plus the bodies the routes read themselves (so that they can
    answer with reason codes): the event or batch, and the token request form."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    _, defs = models_json_schema([(PartnerEvent, "validation")],
                                 ref_template="#/components/schemas/{model}")
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    # Class docstrings are notes for Vigie's developers (English, reworded freely), not the
    # contract: left out, so that rewording one does not change the published document.
    for schema in schemas.values():
        schema.pop("description", None)
    event = {"$ref": "#/components/schemas/PartnerEvent"}
    doc["paths"]["/v1/events"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [
            event, {"type": "array", "items": event, "minItems": 1, "maxItems": max_batch}]}}},
    }
    doc["paths"][TOKEN_PATH]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["grant_type"],
            "properties": {"grant_type": {"type": "string", "enum": ["client_credentials"]},
                           "client_id": {"type": "string"},
                           "client_secret": {"type": "string"},
                           "scope": {"type": "string"}}}}},
    }
    app.openapi_schema = doc
    return doc

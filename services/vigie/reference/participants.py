"""The registry of participants: landlords (partners), police and gendarmerie units, and the
operations logins, with the Kafka client quotas each partner or unit login gets.

Why one registry: a partner's topics, its SCRAM login, its ACLs, its quotas, the workers'
list of partners and the Strimzi manifests of deploy/k8s all follow from "partner X takes
part". Kept in one reference file (``participants-oise.json``, beside the units), they cannot
disagree: ``kafka.admin.planned_topics``, ``kafka.acl.registry_plan``, ``kafka.quotas``,
``Settings.partners`` and ``vigie deploy render`` read it; ``vigie onboard``/``offboard`` edit
it. Pure data (no Kafka), like the rest of ``vigie.reference``.

Units are listed here by id only: what a unit is (force, kind, command centre) is routing
reference data (``units-oise.json``, topic ``ref.units.v1``). Every unit of that file has an
entry here (a test checks it); an entry may come first, so a unit's access exists before
routing sends it anything.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The shipped registry; ``VIGIE_REGISTRY_FILE`` points a deployment (or a test) elsewhere.
REGISTRY_FILE = DATA_DIR / "participants-oise.json"

#: Ids name Kafka topics (``partner.<id>.…``, ``force.<id>.…``) and logins: the topic scheme's
#: owner alphabet (vigie.contracts.topics), at most 60 characters.
ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$"

Kind = Literal["partner", "unit"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quotas(_Strict):
    """Kafka client quotas of one login (broker-enforced: a client above them is throttled,
    its requests delayed, never refused). Names are Kafka's quota keys."""

    #: Bytes per second the login may produce, over all brokers' share of it.
    producer_byte_rate: PositiveInt
    #: Bytes per second it may fetch (None: unlimited).
    consumer_byte_rate: PositiveInt | None = None
    #: Share of a broker's request-handler and network threads' time, in % of one thread.
    request_percentage: PositiveInt | None = None

    def kafka(self) -> dict[str, float]:
        """The set quota keys and values, as ``AlterClientQuotas`` and Strimzi take them."""
        return {k: float(v) for k, v in self.model_dump().items() if v is not None}


class Participant(_Strict):
    """A landlord or a unit: its id (topics, login) and, optionally, its own quotas."""

    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    #: None: the registry's default quotas for its kind.
    quotas: Quotas | None = None


class Operator(_Strict):
    """A login of Vigie itself: the administrator (super-user), the workers, or the partner
    gateway (``vigie gateway``, which publishes for partners without a Kafka client)."""

    login: str = Field(pattern=ID_PATTERN)
    role: Literal["admin", "worker", "gateway"]
    name: str


class DefaultQuotas(_Strict):
    partner: Quotas
    unit: Quotas


class Registry(_Strict):
    about: str = ""
    quotas: DefaultQuotas
    operations: tuple[Operator, ...]
    partners: tuple[Participant, ...]
    units: tuple[Participant, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        for kind, entries in (("partner", self.partners), ("unit", self.units)):
            ids = [p.id for p in entries]
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {kind} id in the registry")
        roles = sorted(o.role for o in self.operations)
        if roles != ["admin", "gateway", "worker"]:
            raise ValueError("the registry needs one admin, one worker and one gateway login, "
                             f"not {roles}")
        return self

    # -- reading -------------------------------------------------------------------------------
    def partner_ids(self) -> list[str]:
        """The partners, in registry order (the workers' round-robin order)."""
        return [p.id for p in self.partners]

    def unit_ids(self) -> list[str]:
        return sorted(u.id for u in self.units)

    def ids(self, kind: Kind) -> list[str]:
        return self.partner_ids() if kind == "partner" else self.unit_ids()

    def _operator(self, role: str) -> str:
        return next(o.login for o in self.operations if o.role == role)

    @property
    def admin_login(self) -> str:
        return self._operator("admin")

    @property
    def worker_login(self) -> str:
        return self._operator("worker")

    @property
    def gateway_login(self) -> str:
        return self._operator("gateway")

    def entry(self, kind: Kind, participant_id: str) -> Participant | None:
        entries = self.partners if kind == "partner" else self.units
        return next((p for p in entries if p.id == participant_id), None)

    def quotas_of(self, kind: Kind, participant_id: str) -> Quotas:
        """The participant's own quotas, else its kind's default."""
        entry = self.entry(kind, participant_id)
        if entry is not None and entry.quotas is not None:
            return entry.quotas
        return self.quotas.partner if kind == "partner" else self.quotas.unit

    # -- editing (new values: the model is frozen) ---------------------------------------------
    def with_participant(self, kind: Kind, participant: Participant) -> Registry:
        """The registry with ``participant`` added (or replaced, same id)."""
        field = "partners" if kind == "partner" else "units"
        kept = tuple(p for p in getattr(self, field) if p.id != participant.id)
        entries = (*kept, participant)
        if kind == "unit":
            entries = tuple(sorted(entries, key=lambda p: p.id))
        return self.model_copy(update={field: entries})

    def without_participant(self, kind: Kind, participant_id: str) -> Registry:
        field = "partners" if kind == "partner" else "units"
        kept = tuple(p for p in getattr(self, field) if p.id != participant_id)
        return self.model_copy(update={field: kept})


def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    """Read and validate a registry file."""
    return Registry.model_validate(json.loads(path.read_text(encoding="utf-8")))


def registry_json(registry: Registry) -> str:
    """The file's text: one stable layout, so an onboarding shows as a small diff."""
    data = registry.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def save_registry(registry: Registry, path: Path = REGISTRY_FILE) -> None:
    """Replace the file atomically (a worker starting meanwhile reads the old or the new
    registry, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(registry_json(registry))
    os.chmod(tmp, 0o644)
    Path(tmp).replace(path)

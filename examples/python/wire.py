"""What a Vigie client needs on the wire, in one readable file: schemas, framing, connection.

Standalone on purpose: only ``fastavro`` and ``confluent-kafka`` (librdkafka), no Vigie code,
so that a landlord's or a unit's IT team can copy this folder and the ``schemas/avro``
folder and run it. ``landlord.py`` and ``unit.py`` use it.

Wire format of every value (Avro "single-object encoding", Avro 1.12 specification)::

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | Avro body

The fingerprint names the schema version the body was written with: a reader looks it up
among the versions it knows (``schemas/avro/<message>/v<N>.avsc``). Vigie reads every
version it ever published, so a client may stay on an older one; it writes the newest.

Kafka key: the ROOT event id in UTF-8 (the ``event_id`` of a NEW, ``references[0]`` of an
UPDATE or CANCEL), and the murmur2 partitioner (``partitioner=murmur2_random`` in
librdkafka, whose default is CRC32): Vigie rejects a record that is not on the partition
murmur2 gives its key (``WRONG_PARTITION``).
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MARKER = b"\xc3\x01"
#: The repository's schemas, unless VIGIE_SCHEMA_DIR (or --schemas) says where a copy is.
DEFAULT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "avro"
_VERSION = re.compile(r"^v(\d+)\.avsc$")


class Schemas:
    """Every version of one message (``partner_event``, ``acknowledgement``...)."""

    def __init__(self, message: str, folder: Path | None = None) -> None:
        folder = folder or Path(os.environ.get("VIGIE_SCHEMA_DIR") or DEFAULT_SCHEMAS)
        self.message = message
        self.by_fingerprint: dict[bytes, Any] = {}
        versions: list[tuple[int, Any, bytes]] = []
        for path in sorted((folder / message).glob("v*.avsc")):
            match = _VERSION.match(path.name)
            if not match:
                continue
            # A fresh name table per file: v1 and v2 both define fr.vigie.PartnerEvent.
            parsed = fastavro.parse_schema(json.loads(path.read_text("utf-8")),
                                           named_schemas={})
            fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
            versions.append((int(match.group(1)), parsed, fp))
            self.by_fingerprint[fp] = parsed
        if not versions:
            raise SystemExit(f"Aucun schéma {message} dans {folder}")
        versions.sort(key=lambda v: v[0])
        _, self.latest, self.latest_fingerprint = versions[-1]

    def encode(self, record: dict[str, Any]) -> bytes:
        """Header + body with the newest schema (missing fields take their default)."""
        buf = BytesIO()
        buf.write(MARKER + self.latest_fingerprint)
        fastavro.schemaless_writer(buf, self.latest, record)
        return buf.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record, read with the version its header names and resolved to the newest."""
        if data[:2] != MARKER or len(data) < 10:
            raise ValueError("pas un message Avro single-object (C3 01 attendu)")
        writer = self.by_fingerprint.get(data[2:10])
        if writer is None:
            raise ValueError(f"version de schéma {self.message} inconnue : mettez vos "
                             "schémas à jour")
        body = BytesIO(data[10:])
        record: dict[str, Any] = fastavro.schemaless_reader(body, writer, self.latest)  # type: ignore[assignment]
        return record


# -- JSON <-> Avro records ---------------------------------------------------------------------
#: Fields holding instants (ISO 8601 in JSON, timestamp-millis in Avro).
INSTANTS = frozenset({"sent_at", "occurred_at", "expires_at", "issued_at", "routed_at", "at"})


def from_json(value: Any, name: str = "") -> Any:
    """A JSON value as fastavro writes it: ISO 8601 strings of instants become datetimes."""
    if isinstance(value, dict):
        return {k: from_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if name in INSTANTS and isinstance(value, str):
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise SystemExit(f"{name} : fuseau horaire manquant (ex. 2026-03-01T22:00:00Z)")
        return instant
    return value


def to_json(value: Any) -> Any:
    """A decoded record as JSON (instants in UTC, millisecond precision, ``Z``)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def root_id(event: dict[str, Any]) -> str:
    """The Kafka key of a partner message: its own id for a NEW, else the first reference."""
    if event.get("message_type", "NEW") == "NEW" or not event.get("references"):
        return str(event["event_id"])
    return str(event["references"][0])


#: Categories that always travel the urgent lane (``vigie.contracts.enums.URGENT_CATEGORIES``).
URGENT_CATEGORIES = frozenset({"STAFF_AGGRESSION", "STAFF_THREAT", "WEAPON"})


def is_alert(event: dict[str, Any]) -> bool:
    """Urgent lane (``partner.<p>.alerts.v1``): an urgent category, persons in danger, or
    staff involved with IMMEDIATE urgency (``vigie.routing.policy.lane_for``)."""
    return (event.get("category") in URGENT_CATEGORIES
            or bool(event.get("persons_in_danger"))
            or (bool(event.get("staff_involved")) and event.get("urgency") == "IMMEDIATE"))


# -- connection --------------------------------------------------------------------------------
def kafka_config(properties: Path | None = None) -> dict[str, str]:
    """librdkafka settings from the environment ``vigie broker client-config <login> --env``
    exports (VIGIE_BOOTSTRAP_SERVERS, VIGIE_SECURITY_PROTOCOL, VIGIE_SASL_USERNAME,
    VIGIE_SASL_PASSWORD, VIGIE_SSL_CAFILE, VIGIE_SASL_MECHANISM), then, if given, a file of
    properties on top: librdkafka's (``vigie broker client-config <login>`` prints one) or
    Java's (the ``<login>.properties`` file ``vigie onboard`` gives a new participant)."""
    env = os.environ
    config = {
        "bootstrap.servers": env.get("VIGIE_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "security.protocol": env.get("VIGIE_SECURITY_PROTOCOL", "PLAINTEXT"),
        # Kafka's murmur2, as Vigie checks (librdkafka's default would be CRC32).
        "partitioner": "murmur2_random",
    }
    if config["security.protocol"].upper().startswith("SASL"):
        config.update({
            "sasl.mechanism": env.get("VIGIE_SASL_MECHANISM", "SCRAM-SHA-512"),
            "sasl.username": env.get("VIGIE_SASL_USERNAME", ""),
            "sasl.password": env.get("VIGIE_SASL_PASSWORD", ""),
        })
    if env.get("VIGIE_SSL_CAFILE"):
        config["ssl.ca.location"] = env["VIGIE_SSL_CAFILE"]
    if properties is not None:
        for line in properties.read_text("utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                config[key.strip()] = value.strip()
        _from_java(config)
    return config


_JAAS = re.compile(r'username="(?P<user>[^"]*)"\s+password="(?P<password>[^"]*)"')


def _from_java(config: dict[str, str]) -> None:
    """Java client properties (the file ``vigie onboard`` writes for a new login, or
    ``vigie broker client-config <login> --java``) in librdkafka's words, in place."""
    jaas = config.pop("sasl.jaas.config", None)
    if jaas is not None and (match := _JAAS.search(jaas)):
        config["sasl.username"], config["sasl.password"] = match["user"], match["password"]
    if config.pop("ssl.truststore.type", "PEM").upper() == "PEM" and (
            location := config.pop("ssl.truststore.location", None)):
        config["ssl.ca.location"] = location


def login() -> str | None:
    """The SCRAM login in use (``partner-<p>`` or ``unit-<u>``), if any."""
    return os.environ.get("VIGIE_SASL_USERNAME") or None


def emit(kind: str, **fields: Any) -> None:
    """One JSON line on stdout per thing that happened (for scripts and tests)."""
    print(json.dumps({"type": kind, **to_json(fields)}, ensure_ascii=False), flush=True)


def say(text: str) -> None:
    """A line for the human at the terminal (stderr, in French)."""
    print(text, file=sys.stderr, flush=True)

"""Unit (police or gendarmerie) client of Vigie: read routed events, send statuses.

    eval "$(vigie broker client-config unit-pn-csp-creil --env)"   # or your own VIGIE_* values
    python examples/python/unit.py follow --unit pn-csp-creil                   # print them
    python examples/python/unit.py follow --unit pn-csp-creil --take-in-charge  # and take them
    python examples/python/unit.py status --unit pn-csp-creil ROOT_ID CLOSED
    python examples/python/unit.py feedback --unit pn-csp-creil    # why a status was refused
    python examples/python/unit.py status --unit gn-bt-meru ROOT_ID TRANSFER_REQUESTED \
        --transfer-to PN

A status cites the ROOT event id of the incident: the Kafka key of the routed record (the
``event_id`` of the partner's NEW, also for the copies of its UPDATE and CANCEL), and is
keyed by it. An urgent alert (topic ``force.<u>.alerts.v1``) must be taken in charge within
300 s or Vigie escalates it to the departmental command centre (docs/fr/guide-unite.md).

stdout: one JSON line per fact (``routed``, ``status_sent``, ``feedback``); stderr: French
text. Needs ``fastavro`` and ``confluent-kafka``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wire import Schemas, emit, from_json, kafka_config, say, to_json

STATUSES = ("TAKEN_IN_CHARGE", "PATROL_DISPATCHED", "CLOSED", "TRANSFER_REQUESTED")


class StatusSender:
    """StatusUpdate producer on ``force.<u>.status.v1``, keyed by the root event id."""

    def __init__(self, unit: str, properties: Path | None) -> None:
        self.unit = unit
        self.schemas = Schemas("status_update")
        self.producer = Producer({**kafka_config(properties), "enable.idempotence": "true",
                                  "acks": "all"})

    def send(self, root_id: str, status: str, transfer_to: str | None = None) -> None:
        value = self.schemas.encode({
            "event_id": root_id,
            "unit_id": self.unit,
            "status": status,
            "at": datetime.now(UTC),
            "transfer_to_force": transfer_to,
        })
        delivered: list[Any] = []

        def report(err: KafkaError | None, message: Any) -> None:
            if err is not None:
                raise KafkaException(err)
            delivered.append(message)

        topic = f"force.{self.unit}.status.v1"
        self.producer.produce(topic, value=value, key=root_id.encode("utf-8"),
                              on_delivery=report)
        if self.producer.flush(30) or not delivered:
            raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT))
        record = delivered[0]
        emit("status_sent", topic=topic, partition=record.partition(), offset=record.offset(),
             event_id=root_id, status=status)
        say(f"Statut {status} envoyé pour {root_id}.")


def follow(args: argparse.Namespace) -> int:
    """Print what is routed to the unit; with --take-in-charge, take each new case."""
    unit = args.unit
    config = kafka_config(args.config)
    config.pop("partitioner", None)  # a producer setting
    config.update({
        # The ACLs allow only groups named unit-<u>-...; committed offsets: resume on restart.
        "group.id": args.group or f"unit-{unit}-routage",
        "auto.offset.reset": "earliest",
        # Vigie writes the routed copies in transactions: read only committed ones.
        "isolation.level": "read_committed",
    })
    consumer = Consumer(config)
    consumer.subscribe([f"force.{unit}.alerts.v1", f"force.{unit}.incidents.v1"])
    schemas = Schemas("routed_event")
    sender = StatusSender(unit, args.config) if args.take_in_charge else None
    taken: set[str] = set()
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    continue
                raise KafkaException(error)
            value, key = message.value(), message.key()
            if not value or key is None:  # Vigie never writes one: not a routed copy
                continue
            try:
                copy = schemas.decode(value)
            except ValueError as exc:  # never stop the watch for one unreadable record
                say(f"Message illisible ignoré ({message.topic()} offset {message.offset()}) : "
                    f"{exc}")
                continue
            event, decision = copy["event"], copy["decision"]
            # The key IS the root id: cite it, whatever the copy (NEW, UPDATE, CANCEL).
            root = key.decode("utf-8")
            emit("routed", topic=message.topic(), key=root, event_id=event["event_id"],
                 message_type=event["message_type"], status=event["status"],
                 category=event["category"], unit_id=copy["unit_id"], lane=decision["lane"],
                 units=decision["units"], routing_rule=decision.get("routing_rule"))
            urgent = "ALERTE " if decision["lane"] == "ALERT" else ""
            say(f"{urgent}{event['message_type']} {event['category']} ({root}) "
                f"pour {copy['unit_id']} : {decision['explanation']}")
            wanted = args.event_id in (root, event["event_id"])
            if (sender is not None and event["message_type"] != "CANCEL"
                    and root not in taken and (args.event_id is None or wanted)):
                sender.send(root, "TAKEN_IN_CHARGE")
                taken.add(root)
            if wanted:
                return 0
    finally:
        consumer.close()
    if args.event_id is not None:
        say(f"{args.event_id} : rien reçu dans le délai.")
        return 1
    return 0


def feedback(args: argparse.Namespace) -> int:
    """Vigie's answers to the unit's refused statuses (``force.<u>.feedback.v1``)."""
    config = kafka_config(args.config)
    config.pop("partitioner", None)
    config.update({"group.id": args.group or f"unit-{args.unit}-retours",
                   "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer = Consumer(config)
    consumer.subscribe([f"force.{args.unit}.feedback.v1"])
    schemas = Schemas("unit_feedback")
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error, value = message.error(), message.value()
            if error is not None:
                if error.code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    continue
                raise KafkaException(error)
            if not value:
                continue
            answer = schemas.decode(value)
            emit("feedback", **{k: answer.get(k) for k in (
                "event_id", "status", "reason_code", "reason_message", "issued_at")})
            say(f"Statut {answer['status']} refusé pour {answer['event_id']} : "
                f"{answer['reason_code']} — {answer['reason_message']}")
            if args.event_id is not None and answer["event_id"] == args.event_id:
                return 0
    finally:
        consumer.close()
    return 1 if args.event_id is not None else 0


def status(args: argparse.Namespace) -> int:
    if args.status == "TRANSFER_REQUESTED" and args.transfer_to is None:
        say("Précisez --transfer-to PN ou GN pour une demande de transfert.")
        return 2
    StatusSender(args.unit, args.config).send(args.root_id, args.status, args.transfer_to)
    return 0


def encode_status(args: argparse.Namespace) -> int:
    update = json.loads(args.update.read_text("utf-8"))
    args.out.write_bytes(Schemas("status_update").encode(from_json(update)))
    return 0


def decode_routed(args: argparse.Namespace) -> int:
    print(json.dumps(to_json(Schemas("routed_event").decode(args.file.read_bytes())),
                     ensure_ascii=False, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Client unité de Vigie (exemple).")
    parser.add_argument("--config", type=Path,
                        help="propriétés librdkafka (vigie broker client-config unit-<u>)")
    commands = parser.add_subparsers(dest="command", required=True)
    f = commands.add_parser("follow", help="lire les événements acheminés à l'unité")
    f.add_argument("--unit", required=True)
    f.add_argument("--take-in-charge", action="store_true",
                   help="prendre en compte (TAKEN_IN_CHARGE) chaque nouvelle affaire (avec "
                   "--event-id : celle-là seulement)")
    f.add_argument("--event-id", help="s'arrêter après cet événement (id ou id racine)")
    f.add_argument("--group", help="groupe de consommateurs (unit-<u>-... ; défaut "
                   "unit-<u>-routage)")
    f.add_argument("--timeout", type=float, default=60.0)
    f.set_defaults(run=follow)
    b = commands.add_parser("feedback", help="lire les réponses aux statuts refusés")
    b.add_argument("--unit", required=True)
    b.add_argument("--event-id", help="s'arrêter à la réponse sur cet événement")
    b.add_argument("--group", help="groupe de consommateurs (unit-<u>-...)")
    b.add_argument("--timeout", type=float, default=60.0)
    b.set_defaults(run=feedback)
    s = commands.add_parser("status", help="envoyer un statut")
    s.add_argument("--unit", required=True)
    s.add_argument("root_id", help="identifiant racine (la clé Kafka de l'événement reçu)")
    s.add_argument("status", choices=STATUSES)
    s.add_argument("--transfer-to", choices=("PN", "GN"))
    s.set_defaults(run=status)
    e = commands.add_parser("encode-status", help="écrire les octets d'un statut (sans Kafka)")
    e.add_argument("update", type=Path)
    e.add_argument("out", type=Path)
    e.set_defaults(run=encode_status)
    d = commands.add_parser("decode-routed", help="afficher un RoutedEvent binaire en JSON")
    d.add_argument("file", type=Path)
    d.set_defaults(run=decode_routed)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KafkaException as exc:
        say(f"Erreur Kafka : {exc.args[0]}")
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Landlord (bailleur) client of Vigie: publish a PartnerEvent, read its acknowledgements.

    eval "$(vigie broker client-config partner-opac-oise --env)"   # or your own VIGIE_* values
    python examples/python/landlord.py publish evenement.json      # publish, wait for ROUTED
    python examples/python/landlord.py acks --partner opac-oise     # follow every ack
    python examples/python/landlord.py sandbox --partner opac-oise  # copies of TEST events
    python examples/python/landlord.py encode evenement.json out.bin   # bytes only, no Kafka

``evenement.json`` holds the PartnerEvent fields (docs/fr/guide-bailleur.md); instants in
ISO 8601 with a zone. Without ``event_id`` one is drawn (uuid4) and printed, without
``sent_at`` it is now: keep that id to re-send the same event (Vigie answers DUPLICATE).

stdout: one JSON line per fact (``published``, ``ack``), for your scripts; stderr: French
text for a human. Exit status: 0 when the awaited status came, 2 when the event was
REJECTED or EXPIRED, 1 on time-out. Needs ``fastavro`` and ``confluent-kafka``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wire import (
    Schemas,
    emit,
    from_json,
    is_alert,
    kafka_config,
    root_id,
    say,
)

#: The first answer to any message: one of these always comes (docs/acknowledgements.md).
ROUTING_OUTCOMES = frozenset({"ROUTED", "REJECTED", "EXPIRED", "DUPLICATE"})
FAILED = frozenset({"REJECTED", "EXPIRED"})


def load_event(path: Path) -> dict[str, Any]:
    """The event of a JSON file, with ``event_id`` and ``sent_at`` filled in when absent."""
    event: dict[str, Any] = json.loads(path.read_text("utf-8"))
    event.setdefault("event_id", str(uuid.uuid4()))
    event.setdefault("sent_at", datetime.now(UTC).isoformat())
    return event


def topic_for(event: dict[str, Any]) -> str:
    """``partner.<p>.alerts.v1`` for the urgent lane, else ``partner.<p>.incidents.v1``."""
    lane = "alerts" if is_alert(event) else "incidents"
    return f"partner.{event['partner_id']}.{lane}.v1"


def ack_consumer(partner: str, properties: Path | None) -> Consumer:
    """A consumer of ``partner.<p>.acks.v1`` in the group ``partner-<p>-accuses``: the ACLs
    allow only groups named ``partner-<p>-...``; committed offsets make it resume where it
    stopped. read_committed: Vigie writes its acknowledgements in transactions."""
    config = kafka_config(properties)
    config.pop("partitioner", None)  # a producer setting
    config.update({
        "group.id": f"partner-{partner}-accuses",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": "true",
    })
    consumer = Consumer(config)
    consumer.subscribe([f"partner.{partner}.acks.v1"])
    return consumer


def wait_for_acks(consumer: Consumer, event_id: str | None, wanted: set[str],
                  timeout: float) -> int:
    """Print the acknowledgements (of ``event_id``, or all) until one in ``wanted`` arrives
    (or, ``wanted`` empty, until ``timeout``)."""
    schemas = Schemas("acknowledgement")
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        error, value = message.error(), message.value()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(error)
        if not value:  # Vigie never writes one: not an acknowledgement
            continue
        try:
            ack = schemas.decode(value)
        except ValueError as exc:  # never stop the watch for one unreadable record
            say(f"Message illisible ignoré (offset {message.offset()}) : {exc}")
            continue
        if event_id is not None and ack["event_id"] != event_id:
            continue
        if ack["ack_id"] in seen:  # the same answer again (a re-read): not news
            continue
        seen.add(ack["ack_id"])
        emit("ack", **{k: ack.get(k) for k in (
            "event_id", "status", "units", "reason_code", "reason_message", "routing_rule",
            "competent_unit_id", "issued_at")})
        reason = f" ({ack['reason_code']} : {ack['reason_message']})" if ack["reason_code"] else ""
        say(f"{ack['event_id']} : {ack['status']} {', '.join(ack['units'])}{reason}")
        if ack["status"] in FAILED and event_id is not None:
            return 2  # final: correct the event and send it again (guide, "Codes de refus")
        if ack["status"] in wanted:
            return 0
    if not wanted:  # following, not waiting: the time-out is the end of the watch
        return 0
    say("Délai dépassé sans la réponse attendue.")
    return 1


def publish(args: argparse.Namespace) -> int:
    event = load_event(args.event)
    payload = Schemas("partner_event").encode(from_json(event))
    key = root_id(event).encode("utf-8")
    topic = topic_for(event)
    consumer = ack_consumer(event["partner_id"], args.config)
    try:
        producer = Producer({
            **kafka_config(args.config),
            # Idempotent producer: a retry after a network error never writes twice.
            "enable.idempotence": "true",
            "acks": "all",
        })
        delivered: list[Any] = []

        def report(err: KafkaError | None, message: Any) -> None:
            if err is not None:
                raise KafkaException(err)
            delivered.append(message)

        producer.produce(topic, value=payload, key=key, on_delivery=report)
        if producer.flush(30) or not delivered:
            say("Publication non confirmée par Kafka dans les 30 s.")
            return 1
        record = delivered[0]
        emit("published", topic=record.topic(), partition=record.partition(),
             offset=record.offset(), key=key.decode(), event_id=event["event_id"])
        say(f"Publié {event['event_id']} sur {record.topic()} "
            f"(partition {record.partition()}, offset {record.offset()}).")
        wanted = set(args.wait_for) if args.wait_for else set(ROUTING_OUTCOMES)
        return wait_for_acks(consumer, event["event_id"], wanted, args.timeout)
    finally:
        consumer.close()


def acks(args: argparse.Namespace) -> int:
    consumer = ack_consumer(args.partner, args.config)
    try:
        wanted = set(args.wait_for) if args.wait_for else set()
        return wait_for_acks(consumer, args.event_id, wanted, args.timeout)
    finally:
        consumer.close()


def sandbox(args: argparse.Namespace) -> int:
    """The copies of the partner's TEST events: what the units would have received."""
    config = kafka_config(args.config)
    config.pop("partitioner", None)
    config.update({"group.id": f"partner-{args.partner}-bac-a-sable",
                   "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer = Consumer(config)
    consumer.subscribe([f"partner.{args.partner}.sandbox.v1"])
    schemas = Schemas("routed_event")
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error, value, key = message.error(), message.value(), message.key()
            if error is not None:
                if error.code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    continue
                raise KafkaException(error)
            if not value or key is None:
                continue
            copy = schemas.decode(value)
            event = copy["event"]
            emit("sandbox", key=key.decode("utf-8"), event_id=event["event_id"],
                 status=event["status"], unit_id=copy["unit_id"],
                 lane=copy["decision"]["lane"], explanation=copy["decision"]["explanation"])
            say(f"Bac à sable : {event['event_id']} aurait été envoyé à {copy['unit_id']}.")
            if args.event_id == event["event_id"]:
                return 0
    finally:
        consumer.close()
    return 1 if args.event_id is not None else 0


def encode(args: argparse.Namespace) -> int:
    event = json.loads(args.event.read_text("utf-8"))
    args.out.write_bytes(Schemas("partner_event").encode(from_json(event)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Client bailleur de Vigie (exemple).")
    parser.add_argument("--config", type=Path,
                        help="propriétés librdkafka (vigie broker client-config partner-<p>)")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("publish", help="publier un événement et attendre sa réponse")
    p.add_argument("event", type=Path)
    p.add_argument("--wait-for", action="append", metavar="STATUT",
                   help="statut attendu (répétable) ; défaut : la première réponse")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(run=publish)
    a = commands.add_parser("acks", help="suivre les accusés de réception")
    a.add_argument("--partner", required=True)
    a.add_argument("--event-id")
    a.add_argument("--wait-for", action="append", metavar="STATUT")
    a.add_argument("--timeout", type=float, default=60.0)
    a.set_defaults(run=acks)
    b = commands.add_parser("sandbox", help="lire le bac à sable (copies des événements TEST)")
    b.add_argument("--partner", required=True)
    b.add_argument("--event-id")
    b.add_argument("--timeout", type=float, default=60.0)
    b.set_defaults(run=sandbox)
    e = commands.add_parser("encode", help="écrire les octets d'un événement (sans Kafka)")
    e.add_argument("event", type=Path)
    e.add_argument("out", type=Path)
    e.set_defaults(run=encode)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KafkaException as exc:
        say(f"Erreur Kafka : {exc.args[0]}")
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())

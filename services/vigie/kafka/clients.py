"""The one place that builds Kafka clients, always from ``Settings``.

Why: a client built from a bare bootstrap string connects in PLAINTEXT and silently ignores
``VIGIE_SECURITY_PROTOCOL``, the SASL login and the CA, so the partners' and units' tools
could not reach the secured cluster (issue 13). Every producer, consumer and admin client of
Vigie — worker, CLI, console, broker set-up, tests and bench — comes from here, and so
carries the login of the process's ``VIGIE_*`` environment.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from vigie.kafka import partitioning
from vigie.settings import Settings

if TYPE_CHECKING:  # confluent-kafka is imported only where librdkafka is really used
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient

#: librdkafka's own log lines go through Python logging (structured like the rest), not to
#: stderr.
LIBRDKAFKA_LOG = logging.getLogger("vigie.librdkafka")


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Connection keyword arguments shared by every aiokafka client: servers, and for a
    secured cluster the protocol, a TLS context trusting ``ssl_cafile`` (host name checked)
    and the SASL login."""
    options: dict[str, Any] = dict(bootstrap_servers=settings.bootstrap_servers)
    if settings.security_protocol == "PLAINTEXT":
        return options
    options["security_protocol"] = settings.security_protocol
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        cafile = str(settings.ssl_cafile) if settings.ssl_cafile else None
        options["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if settings.security_protocol.startswith("SASL"):
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=(
                settings.sasl_password.get_secret_value() if settings.sasl_password else None
            ),
        )
    return options


def producer(settings: Settings, **options: Any) -> AIOKafkaProducer:
    """A producer (not started). Its partitioner is Kafka's murmur2, the one the
    partitioning contract requires of partner records (docs/security.md): aiokafka's
    default, computed by ``vigie.kafka.partitioning`` (faster, and cached per key: the
    worker hashes each input's key for its check and its outputs carry the same key)."""
    options.setdefault("partitioner", partitioning.partitioner)
    return AIOKafkaProducer(**aiokafka_options(settings), **options)


def consumer(settings: Settings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer (not started). Topics given here, rather than ``subscribe()``d after
    ``start()``, make ``start()`` raise an authorisation failure instead of only logging it."""
    return AIOKafkaConsumer(*topics, **aiokafka_options(settings), **options)


def admin(settings: Settings, **options: Any) -> AIOKafkaAdminClient:
    """An aiokafka admin client (not started)."""
    return AIOKafkaAdminClient(**aiokafka_options(settings), **options)


def librdkafka_config(settings: Settings) -> dict[str, str]:
    """The same connection as librdkafka (confluent-kafka, and most partners' clients)
    properties. ``ssl.ca.location`` left out means librdkafka's own CA store."""
    config = {"bootstrap.servers": settings.bootstrap_servers,
              "security.protocol": settings.security_protocol}
    if settings.security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = settings.sasl_mechanism
        if settings.sasl_username is not None:
            config["sasl.username"] = settings.sasl_username
        if settings.sasl_password is not None:
            config["sasl.password"] = settings.sasl_password.get_secret_value()
    if settings.ssl_cafile is not None and settings.security_protocol in ("SSL", "SASL_SSL"):
        config["ssl.ca.location"] = str(settings.ssl_cafile)
    return config


def librdkafka_admin(settings: Settings) -> AdminClient:
    """A confluent-kafka admin client: it has the public ACL API aiokafka lacks."""
    from confluent_kafka.admin import AdminClient

    return AdminClient({**librdkafka_config(settings), "log_level": 3})


def rd_consumer(settings: Settings, **config: Any) -> Consumer:
    """A librdkafka consumer (the routing engine's, and its state restore's): ``config``
    holds librdkafka property names (``group.id``, ``isolation.level``...)."""
    from confluent_kafka import Consumer

    return Consumer({**librdkafka_config(settings), "logger": LIBRDKAFKA_LOG, **config})


def rd_producer(settings: Settings, **config: Any) -> Producer:
    """A librdkafka producer. Its partitioner is ``murmur2_random``, Kafka's murmur2 like
    ``producer()`` and the partitioning contract (docs/security.md); ``config`` may add
    ``transactional.id`` and the like."""
    from confluent_kafka import Producer

    return Producer({**librdkafka_config(settings), "logger": LIBRDKAFKA_LOG,
                     "partitioner": "murmur2_random", **config})

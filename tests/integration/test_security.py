"""Authentication and authorisation on a real secure broker, proven with two real clients.

Why two clients: a denial seen by aiokafka alone could be an aiokafka quirk (it logs some
authorisation errors instead of raising them); librdkafka (confluent-kafka) is what most
partners' tooling uses. Every case names the principal, the operation, the resource and the
exact error both clients receive, so a failure says which isolation broke.

The secure broker (``SecureBroker``, spare ports, its own state folder) is the session's
``secure_broker`` fixture (tests/integration/secure_tools.py), shared with the hostile-partner
tests; the plaintext ``broker`` fixture is neither used nor disturbed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from tests.factories import partner_event, record_for
from tests.integration.secure_tools import (
    PARTNER_A,
    PARTNER_B,
    UNIT_X,
    UNIT_Y,
    produce_as,
    publish_site,
    read_committed_as,
    worker_logged_in,
)
from vigie.broker.secure import (
    ADMIN,
    GATEWAY,
    WORKER,
    ClientConfig,
    SecureBroker,
    partner_principal,
    unit_principal,
)
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, LocateMethod
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.gateway.acks import AckIndex, tail_acks
from vigie.gateway.publisher import KafkaPublisher
from vigie.gateway.webhooks import group_of
from vigie.kafka.acl import gateway_group_prefix
from vigie.reference.sites import load_sample_sites
from vigie.settings import Settings

confluent_kafka = pytest.importorskip("confluent_kafka")

pytestmark = pytest.mark.integration

PA, PB = partner_principal(PARTNER_A), partner_principal(PARTNER_B)
UX, UY = unit_principal(UNIT_X), unit_principal(UNIT_Y)
CLIENTS = ["aiokafka", "librdkafka"]
TIMEOUT = 15.0

# aiokafka logs every refused metadata refresh; the assertions below are what matters.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def _aiokafka_write(config: ClientConfig, topic: str) -> str:
    """Produce one record; return 'ok' or the error's class name."""

    async def go() -> str:
        producer = AIOKafkaProducer(**config.aiokafka(), request_timeout_ms=5000)
        await producer.start()
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, b"x", key=b"k"), TIMEOUT)
            return "ok"
        except KafkaError as exc:
            return type(exc).__name__
        finally:
            await producer.stop()

    return asyncio.run(go())


def _aiokafka_read(config: ClientConfig, topic: str, group: str) -> str:
    """Join ``group`` on ``topic`` and read one record; 'ok' or the error's class name."""

    async def go() -> str:
        consumer = AIOKafkaConsumer(
            topic, **config.aiokafka(), group_id=group, auto_offset_reset="earliest",
            request_timeout_ms=5000,
        )
        try:
            # Subscribing in the constructor makes start() wait for the topic's metadata,
            # which is where aiokafka raises a refused DESCRIBE instead of only logging it.
            await asyncio.wait_for(consumer.start(), TIMEOUT)
            await asyncio.wait_for(consumer.getone(), TIMEOUT)
            return "ok"
        except KafkaError as exc:
            return type(exc).__name__
        finally:
            await consumer.stop()

    return asyncio.run(go())


def _quiet(conf: dict[str, Any]) -> dict[str, Any]:
    return {**conf, "log_level": 0}


def _librdkafka_write(config: ClientConfig, topic: str) -> str:
    """Produce one record with librdkafka; 'ok' or the delivery error's code name."""
    producer = confluent_kafka.Producer(_quiet(config.librdkafka()))
    outcome: list[Any] = []
    producer.produce(topic, b"x", key=b"k", on_delivery=lambda err, _msg: outcome.append(err))
    producer.flush(TIMEOUT)
    assert outcome, f"no delivery report for {topic} within {TIMEOUT}s"
    return "ok" if outcome[0] is None else str(outcome[0].name())


def _librdkafka_read(config: ClientConfig, topic: str, group: str) -> str:
    """Subscribe with ``group`` and poll one record; 'ok' or the error's code name."""
    consumer = confluent_kafka.Consumer(_quiet({
        **config.librdkafka(), "group.id": group, "auto.offset.reset": "earliest",
    }))
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            return "ok" if error is None else str(error.name())
        return "timeout"
    finally:
        consumer.close()


def _write(client: str, config: ClientConfig, topic: str) -> str:
    return (_aiokafka_write if client == "aiokafka" else _librdkafka_write)(config, topic)


def _read(client: str, config: ClientConfig, topic: str, group: str) -> str:
    return (_aiokafka_read if client == "aiokafka" else _librdkafka_read)(config, topic, group)


#: What each client reports for a refused topic or group.
TOPIC_DENIED = {"aiokafka": TopicAuthorizationFailedError.__name__,
                "librdkafka": "TOPIC_AUTHORIZATION_FAILED"}
GROUP_DENIED = {"aiokafka": GroupAuthorizationFailedError.__name__,
                "librdkafka": "GROUP_AUTHORIZATION_FAILED"}


@dataclass(frozen=True)
class Case:
    """One attempt: ``principal`` does ``operation`` on ``topic`` (reading with ``group``)."""

    principal: str
    operation: str  # WRITE or READ
    topic: str
    group: str = ""
    why: str = ""

    @property
    def id(self) -> str:
        return f"{self.principal}-{self.operation}-{self.topic}"


def _group(principal: str) -> str:
    return f"{principal}-test-{uuid.uuid4().hex[:6]}"


def _gateway_group() -> str:
    """A group the gateway login may join: its webhook dispatchers' prefix (default app id,
    the secure broker's)."""
    return f"{gateway_group_prefix(Settings(_env_file=None).app_id)}test-{uuid.uuid4().hex[:6]}"


DENIED = [
    Case(PA, "WRITE", topics.partner_incidents(PARTNER_B), why="partner A cannot write B's input"),
    Case(PA, "READ", topics.partner_acks(PARTNER_B), _group(PA), "partner A cannot read B's acks"),
    Case(PA, "READ", topics.unit_incidents(UNIT_X), _group(PA), "a partner cannot read a unit"),
    Case(PA, "WRITE", topics.partner_acks(PARTNER_A), why="a partner cannot forge its own acks"),
    Case(UX, "READ", topics.unit_alerts(UNIT_Y), _group(UX), "unit X cannot read Y's alerts"),
    Case(UX, "WRITE", topics.partner_incidents(PARTNER_A), why="a unit cannot write a partner"),
    Case(UX, "WRITE", topics.unit_status(UNIT_Y), why="unit X cannot write Y's status"),
    Case(WORKER, "WRITE", topics.partner_incidents(PARTNER_A),
         why="the worker login cannot impersonate a partner"),
    Case(GATEWAY, "WRITE", topics.unit_status(UNIT_X),
         why="the gateway login cannot impersonate a unit"),
    Case(GATEWAY, "READ", topics.unit_incidents(UNIT_X), _gateway_group(),
         "the gateway login cannot read what units receive"),
    Case(GATEWAY, "READ", topics.partner_incidents(PARTNER_A), _gateway_group(),
         "the gateway login writes partners' input topics but cannot read them back"),
]

ALLOWED = [
    Case(PA, "WRITE", topics.partner_incidents(PARTNER_A), why="partner writes its incidents"),
    Case(PA, "WRITE", topics.partner_alerts(PARTNER_A), why="partner writes its alerts"),
    Case(PA, "READ", topics.partner_acks(PARTNER_A), _group(PA), "partner reads its acks"),
    Case(UX, "READ", topics.unit_incidents(UNIT_X), _group(UX), "unit reads its incidents"),
    Case(UX, "WRITE", topics.unit_status(UNIT_X), why="unit writes its status"),
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case", DENIED, ids=[c.id for c in DENIED])
def test_denied(secure_broker: SecureBroker, case: Case, client: str) -> None:
    config = secure_broker.client_config(case.principal)
    if case.operation == "WRITE":
        got = _write(client, config, case.topic)
    else:
        got = _read(client, config, case.topic, case.group)
    assert got == TOPIC_DENIED[client], (
        f"{case.why}: User:{case.principal} {case.operation} {case.topic} via {client} "
        f"should fail with {TOPIC_DENIED[client]}, got {got}"
    )
    print(f"DENIED {client}: User:{case.principal} {case.operation} {case.topic} -> {got}")


@pytest.mark.parametrize("client", CLIENTS)
def test_denied_foreign_consumer_group(secure_broker: SecureBroker, client: str) -> None:
    """Partner A reading its own acks but in partner B's group prefix: the group is refused
    (otherwise A could join B's group, steal its partitions and move its offsets)."""
    group = _group(PB)
    got = _read(client, secure_broker.client_config(PA), topics.partner_acks(PARTNER_A), group)
    assert got == GROUP_DENIED[client], (
        f"User:{PA} READ group {group} via {client} should fail with {GROUP_DENIED[client]}, "
        f"got {got}"
    )
    print(f"DENIED {client}: User:{PA} READ group:{group} -> {got}")


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case", ALLOWED, ids=[c.id for c in ALLOWED])
def test_allowed(secure_broker: SecureBroker, case: Case, client: str) -> None:
    config = secure_broker.client_config(case.principal)
    if case.operation == "WRITE":
        got = _write(client, config, case.topic)
    else:
        got = _read(client, config, case.topic, f"{case.group}-{client}")
    assert got == "ok", (
        f"{case.why}: User:{case.principal} {case.operation} {case.topic} via {client} "
        f"should succeed, got {got}"
    )


def test_gateway_login_publishes_and_reads_acks(secure_broker: SecureBroker) -> None:
    """``vigie gateway``'s own Kafka code, logged in as ``vigie-gateway`` with nothing but
    ``gateway_acls``: its idempotent producer publishes to a partner's input topic (no
    IDEMPOTENT_WRITE on the cluster: WRITE on a topic is enough since KIP-679), its GET index
    reads the acks outside any group up to the end, a webhook dispatcher's group reads them;
    a group outside its prefix is refused."""
    settings = secure_broker.settings_for(GATEWAY)
    config = secure_broker.client_config(GATEWAY)
    value = f"gateway-{uuid.uuid4().hex}".encode()

    async def go() -> None:
        publisher = KafkaPublisher(settings, TIMEOUT)
        await publisher.start()
        try:
            await publisher.publish([(topics.partner_incidents(PARTNER_A), b"gw-e1", value)])
        finally:
            await publisher.stop()
        index, stop = AckIndex(10), asyncio.Event()
        reader = asyncio.create_task(tail_acks(settings, [PARTNER_A, PARTNER_B], index, 1.0,
                                               stop))
        deadline = time.monotonic() + TIMEOUT
        while not index.ready and not reader.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await reader  # raises what refused it, if anything did
        assert index.ready

    asyncio.run(go())
    kept = asyncio.run(read_committed_as(secure_broker.client_config(ADMIN),
                                         topics.partner_incidents(PARTNER_A), None,
                                         lambda value: value, until=lambda got: value in got,
                                         timeout=TIMEOUT, settle=0.0))
    assert value in kept
    dispatcher_group = group_of(settings, PARTNER_A)
    assert _aiokafka_read(config, topics.partner_acks(PARTNER_A), dispatcher_group) == "ok"
    assert _aiokafka_read(config, topics.partner_acks(PARTNER_A), _group(PA)) == \
        GROUP_DENIED["aiokafka"]


# -- authentication and transport --------------------------------------------------------------
def _aiokafka_connect(bootstrap: str, **kwargs: Any) -> str:
    """Open one connection (TLS handshake + SASL); 'ok' or the error's class name."""
    host, port = bootstrap.rsplit(":", 1)

    async def go() -> str:
        try:
            conn = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=5000, **kwargs), TIMEOUT
            )
        except (KafkaError, ssl.SSLError) as exc:
            return type(exc).__name__
        conn.close()
        return "ok"

    return asyncio.run(go())


def _librdkafka_connect(conf: dict[str, Any]) -> str:
    """'ok' once metadata comes back, else the first specific error librdkafka reports
    through ``error_cb`` (_AUTHENTICATION, _SSL, _TRANSPORT; not the generic follow-up
    _ALL_BROKERS_DOWN)."""
    errors: list[Any] = []
    client = confluent_kafka.Producer(_quiet({**conf, "error_cb": errors.append}))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        client.poll(0.2)  # serves error_cb
        generic = confluent_kafka.KafkaError._ALL_BROKERS_DOWN
        specific = [e.name() for e in errors if e.code() != generic]
        if specific:
            return str(specific[0])
        try:
            client.list_topics(timeout=0.5)
            return "ok"
        except confluent_kafka.KafkaException:
            continue
    return str(errors[0].name()) if errors else "timeout"


def _aiokafka_sasl(config: ClientConfig, **override: Any) -> dict[str, Any]:
    kwargs = config.aiokafka()
    kwargs.pop("bootstrap_servers")
    return {**kwargs, **override}


def test_wrong_password_rejected(secure_broker: SecureBroker) -> None:
    config = secure_broker.client_config(PA)
    got = _aiokafka_connect(config.bootstrap, **_aiokafka_sasl(config, sasl_plain_password="x"))
    assert got == SaslAuthenticationFailed.__name__, f"User:{PA} wrong password (aiokafka): {got}"
    rd = _librdkafka_connect({**config.librdkafka(), "sasl.password": "x"})
    assert rd == "_AUTHENTICATION", f"User:{PA} wrong password (librdkafka): {rd}"
    print(f"DENIED: User:{PA} with a wrong password -> aiokafka {got}, librdkafka {rd}")


def test_unknown_user_rejected(secure_broker: SecureBroker) -> None:
    config = secure_broker.client_config(PA)
    got = _aiokafka_connect(
        config.bootstrap, **_aiokafka_sasl(config, sasl_plain_username="partner-intrus")
    )
    assert got == SaslAuthenticationFailed.__name__, f"unknown user (aiokafka): {got}"
    rd = _librdkafka_connect({**config.librdkafka(), "sasl.username": "partner-intrus"})
    assert rd == "_AUTHENTICATION", f"unknown user (librdkafka): {rd}"


def test_plaintext_connection_to_tls_listener_fails(secure_broker: SecureBroker) -> None:
    got = _aiokafka_connect(secure_broker.bootstrap)
    assert got == KafkaConnectionError.__name__, f"PLAINTEXT client (aiokafka): {got}"
    rd = _librdkafka_connect({"bootstrap.servers": secure_broker.bootstrap})
    # The broker drops the non-TLS bytes: librdkafka reports the disconnect (_TRANSPORT) or,
    # when it only counts it, that no broker is reachable (_ALL_BROKERS_DOWN).
    assert rd in {"_TRANSPORT", "_ALL_BROKERS_DOWN"}, f"PLAINTEXT client (librdkafka): {rd}"
    print(f"DENIED: PLAINTEXT client on the SASL_SSL listener -> aiokafka {got}, librdkafka {rd}")


def test_tls_without_the_local_ca_fails(secure_broker: SecureBroker) -> None:
    """A client that does not trust the local CA refuses the broker: the certificate is what
    stops a man in the middle from collecting SCRAM exchanges."""
    config = secure_broker.client_config(PA)
    got = _aiokafka_connect(
        config.bootstrap, **_aiokafka_sasl(config, ssl_context=ssl.create_default_context())
    )
    assert got == ssl.SSLCertVerificationError.__name__, f"untrusted CA (aiokafka): {got}"
    # "probe": the system's CA store, where the local CA is not.
    rd = _librdkafka_connect({**config.librdkafka(), "ssl.ca.location": "probe"})
    assert rd in {"_SSL", "_TRANSPORT"}, f"untrusted CA (librdkafka): {rd}"
    print(f"DENIED: TLS client without the local CA -> aiokafka {got}, librdkafka {rd}")


def test_secrets_are_private(secure_broker: SecureBroker) -> None:
    """Passwords and keys are readable by their owner only."""
    for path in [secure_broker.properties_file, *secure_broker.secrets_dir.iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    assert secure_broker.secrets_dir.stat().st_mode & 0o077 == 0


# -- a real worker on the secure broker --------------------------------------------------------
def test_worker_routes_over_sasl_ssl(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """A real ``vigie worker`` logged in as ``vigie-worker`` (SASL_SSL, SCRAM-SHA-512, the
    local CA) with nothing but the ACLs of ``worker_acls()``: it provisions the topics it
    lacks (``ensure_topics``), loads the reference data, joins its group, and routes one
    incident in a Kafka transaction. The routed copy is read by the competent unit's login
    and the acknowledgement by the partner's, both ``read_committed``."""
    started = time.monotonic()
    model = next(s for s in load_sample_sites() if s.insee_code == "60175")  # Creil: PN
    site = model.model_copy(update={"site_id": f"{PARTNER_A}-secure-{uuid.uuid4().hex[:8]}",
                                    "partner_id": PARTNER_A})
    asyncio.run(publish_site(secure_broker, site))

    with worker_logged_in(secure_broker, tmp_path) as worker:
        try:
            event = partner_event(PARTNER_A, fresh=True, site_id=site.site_id, location=None)
            topic, key, value = record_for(event)
            asyncio.run(produce_as(secure_broker.client_config(PA), topic, key, value))

            routed = [r for r in asyncio.run(read_committed_as(
                secure_broker.client_config(UY), topics.unit_incidents(UNIT_Y), _group(UY),
                lambda raw: decode(raw, RoutedEvent),
                until=lambda found: any(r.event.event_id == event.event_id for r in found),
            )) if r.event.event_id == event.event_id]
            acks = [a for a in asyncio.run(read_committed_as(
                secure_broker.client_config(PA), topics.partner_acks(PARTNER_A), _group(PA),
                lambda raw: decode(raw, Acknowledgement),
                until=lambda found: any(a.event_id == event.event_id for a in found),
            )) if a.event_id == event.event_id]
            assert worker.alive()
        except BaseException:
            print(worker.log_tail(5000))
            raise

    # Exactly one routed copy, to the competent unit, placed by the site the loader read.
    assert [(r.unit_id, r.decision.method) for r in routed] == [(UNIT_Y, LocateMethod.SITE)], (
        f"routed copies of {event.event_id} on {topics.unit_incidents(UNIT_Y)}: {routed}"
    )
    assert routed[0].enrichment.site is not None
    assert routed[0].enrichment.site.site_id == site.site_id
    # Exactly one acknowledgement, ROUTED to that unit, on the partner's own ack topic.
    assert [(a.status, a.units) for a in acks] == [(AckStatus.ROUTED, [UNIT_Y])], acks
    # The supervisor never had to restart it (an authorisation failure would crash it).
    log = worker.log_path.read_text()
    assert "restarting" not in log
    # And no request of any of its clients was refused on the way.
    assert "not authorized" not in log and "AuthorizationFailed" not in log, log[-5000:]
    print(f"worker over SASL_SSL: routed + acknowledged in {time.monotonic() - started:.1f}s")

"""Kafka failures are said in one French sentence that names the refused topic and login."""

from __future__ import annotations

import logging
import ssl

from aiokafka import errors

from vigie.kafka.errors import TopicsNotFound, client_causes, explain
from vigie.settings import Settings

SETTINGS = Settings(_env_file=None, bootstrap_servers="b:9094", security_protocol="SASL_SSL",
                    sasl_username="unit-pn-csp-creil")


def test_a_refused_topic_names_the_topic_and_the_login() -> None:
    one = explain(errors.TopicAuthorizationFailedError("force.x.status.v1"), SETTINGS)
    assert one.startswith("accès refusé par Kafka au topic force.x.status.v1 pour "
                          "l'identifiant unit-pn-csp-creil")
    several = explain(errors.TopicAuthorizationFailedError({"b.v1", "a.v1"}), SETTINGS)
    assert "aux topics a.v1, b.v1 pour" in several
    group = explain(errors.GroupAuthorizationFailedError("g1"), SETTINGS)
    assert "au groupe de consommateurs g1" in group


def test_a_bare_connection_error_is_explained_by_what_the_client_logged() -> None:
    bare = errors.KafkaConnectionError("Unable to bootstrap from [('b', 9094)]")
    assert explain(bare, SETTINGS).startswith("broker Kafka injoignable à b:9094 (SASL_SSL)")
    with client_causes() as causes:
        logging.getLogger("aiokafka.client").error(
            'Unable connect to "%s:%s": %s', "b", 9094, errors.SaslAuthenticationFailed("x"))
    assert explain(bare, SETTINGS, causes).startswith("authentification refusée")
    tls = [ssl.SSLCertVerificationError("certificate verify failed")]
    assert explain(bare, SETTINGS, tls).startswith("connexion TLS impossible")


def test_client_logs_are_kept_not_printed(capsys) -> None:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("aiokafka.consumer")
    with client_causes():
        logger.error("Topic %s is not authorized", "force.x.alerts.v1")
    assert capsys.readouterr().err == ""
    assert logging.getLogger("aiokafka").propagate  # restored


def test_without_login_and_missing_topics() -> None:
    plain = Settings(_env_file=None)
    refused = explain(errors.TopicAuthorizationFailedError("t"), plain)
    assert "une connexion sans identifiant" in refused
    assert explain(TopicsNotFound(["b", "a"]), plain) == (
        "topic introuvable sur 127.0.0.1:9092 (PLAINTEXT) : a, b.")

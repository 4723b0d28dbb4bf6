"""Every Kafka client is built from Settings, so a tool run with a login connects with it."""

from __future__ import annotations

import os
import ssl
from unittest import mock

from pydantic import SecretStr

from vigie.kafka import clients
from vigie.settings import Settings


def _secured() -> Settings:
    return Settings(_env_file=None, bootstrap_servers="broker:9094",
                    security_protocol="SASL_SSL", sasl_username="partner-opac-oise",
                    sasl_password=SecretStr("s3cret"), ssl_cafile=None)


def test_plaintext_is_the_bootstrap_string_only() -> None:
    settings = Settings(_env_file=None, bootstrap_servers="127.0.0.1:1234")
    assert clients.aiokafka_options(settings) == {"bootstrap_servers": "127.0.0.1:1234"}
    assert clients.librdkafka_config(settings) == {
        "bootstrap.servers": "127.0.0.1:1234", "security.protocol": "PLAINTEXT"}


def test_sasl_ssl_carries_the_login_and_a_verifying_tls_context() -> None:
    settings = _secured()
    options = clients.aiokafka_options(settings)
    context = options.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode is ssl.CERT_REQUIRED
    assert options == {
        "bootstrap_servers": "broker:9094", "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "partner-opac-oise",
        "sasl_plain_password": "s3cret",
    }
    assert clients.librdkafka_config(settings) == {
        "bootstrap.servers": "broker:9094", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "partner-opac-oise",
        "sasl.password": "s3cret",
    }


async def test_clients_are_built_with_those_options() -> None:
    settings = _secured()
    producer = clients.producer(settings, acks="all")
    consumer = clients.consumer(settings, "t1", group_id=None)
    admin = clients.admin(settings)
    for client in (producer.client, consumer._client, admin._client):
        assert client._security_protocol == "SASL_SSL"
        assert client._sasl_plain_username == "partner-opac-oise"
        assert client._ssl_context is not None


def test_settings_travel_to_a_child_process_whole() -> None:
    settings = Settings(_env_file=None, partners=["a", "b"], sasl_username="u",
                        sasl_password=SecretStr("p"), security_protocol="SASL_SSL")
    env = settings.environment()
    assert env["VIGIE_PARTNERS"] == '["a", "b"]' and env["VIGIE_SASL_PASSWORD"] == "p"
    assert "VIGIE_SSL_CAFILE" not in env  # unset: left out, not "None"
    with mock.patch.dict(os.environ, env, clear=True):
        assert Settings(_env_file=None) == settings

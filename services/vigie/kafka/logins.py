"""SCRAM logins on a running cluster: create or change a password, delete a login.

Through confluent-kafka's admin API (``AlterUserScramCredentials``, Kafka >= 2.7), which
aiokafka lacks; the broker stores only the salted SCRAM hash. The local secure broker writes
its first logins at format time instead (``vigie.broker.secure``), before any admin can
connect; after that, every login goes through here.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from vigie.kafka import clients
from vigie.kafka.acl import settle
from vigie.settings import Settings

if TYPE_CHECKING:
    from confluent_kafka.admin import UserScramCredentialAlteration

#: The mechanism of every Vigie login (the clusters enable SCRAM-SHA-512 only).
MECHANISM = "SCRAM-SHA-512"
#: Kafka's minimum for SCRAM-SHA-512 is 4096 iterations.
ITERATIONS = 8192


class LoginError(RuntimeError):
    """The broker refused to create or delete a login."""


def new_password() -> str:
    """A random password (192 bits, url-safe: nothing that breaks JAAS or properties files)."""
    return secrets.token_urlsafe(24)


def _alter(
    settings: Settings, alterations: list[UserScramCredentialAlteration], timeout: float
) -> None:
    admin = clients.librdkafka_admin(settings)
    futures = admin.alter_user_scram_credentials(alterations, request_timeout=timeout)
    failed = [f"{user}: {exc}"
              for user, (_, exc) in settle(futures, timeout).items() if exc is not None]
    del admin
    if failed:
        raise LoginError("; ".join(failed))


def set_password(settings: Settings, user: str, password: str, timeout: float = 30.0) -> None:
    """Create the login, or change its password (rotation: the old one stops working for
    new connections at once; open connections stay logged in until they reconnect)."""
    from confluent_kafka.admin import (
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS)
    _alter(settings, [UserScramCredentialUpsertion(user, info, password.encode())], timeout)


def delete_login(settings: Settings, user: str, timeout: float = 30.0) -> bool:
    """Delete the login's credential; False when it had none (already offboarded)."""
    from confluent_kafka.admin import ScramMechanism, UserScramCredentialDeletion

    try:
        _alter(settings, [UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)],
               timeout)
    except LoginError as exc:
        if "RESOURCE_NOT_FOUND" in str(exc) or "does not exist" in str(exc).lower():
            return False
        raise
    return True

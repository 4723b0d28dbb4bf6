"""Kafka failures said plainly, in French, for the partner-, unit- and operations-facing tools.

Why: a landlord's operator who runs ``vigie publish`` with the wrong login must read "access
refused to that topic for your login", not an aiokafka stack trace. The text names topics and
logins that come from the command line or a file: print it with ``vigie.terminal.safe_text``.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterable, Iterator

from aiokafka import errors as kafka_errors

from vigie.settings import Settings


class TopicsNotFound(LookupError):
    """Named topics that the broker does not have (or that this login may not see)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(names)
        super().__init__(", ".join(self.names))


#: What the tools turn into one line and a non-zero exit instead of a stack trace.
FAILURES: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaError, TopicsNotFound, ssl.SSLError, ConnectionError,
)


def _names(exc: BaseException, one: str, several: str) -> str:
    """``one`` or ``several`` followed by the topic or group names an aiokafka authorisation
    error carries (one name, or a set of them)."""
    found: set[str] = set()
    for arg in exc.args:
        if isinstance(arg, str):
            found.add(arg)
        elif isinstance(arg, Iterable):
            found |= {str(a) for a in arg}
    return f"{several if len(found) > 1 else one} {', '.join(sorted(found)) or '?'}"


class _Causes(logging.Handler):
    """Keeps the errors aiokafka logs: it logs why a connection failed (a refused login, an
    unknown certificate), then raises a bare "unable to bootstrap" connection error."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        self.seen += [a for a in args if isinstance(a, BaseException)]


@contextlib.contextmanager
def client_causes() -> Iterator[list[BaseException]]:
    """Within the block, aiokafka's log lines are kept (for ``explain``), not printed: a
    tool that says what went wrong in one line must not be drowned in the client's own."""
    logger = logging.getLogger("aiokafka")
    handler, propagate, level = _Causes(), logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    if logger.getEffectiveLevel() > logging.WARNING:  # someone silenced the client: listen
        logger.setLevel(logging.WARNING)
    try:
        yield handler.seen
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(level)


def explain(exc: BaseException, settings: Settings,
            causes: Iterable[BaseException] = ()) -> str:
    """One French sentence for a failure of ``FAILURES``; ``causes``: what the client
    logged before it (``client_causes``), which may say why a connection failed."""
    if isinstance(exc, kafka_errors.KafkaConnectionError):
        specific = [c for c in causes if isinstance(c, ssl.SSLError | kafka_errors.KafkaError)
                    and not isinstance(c, kafka_errors.KafkaConnectionError)]
        if specific:
            exc = specific[-1]
    login = (f"l'identifiant {settings.sasl_username}" if settings.sasl_username
             else "une connexion sans identifiant")
    where = f"{settings.bootstrap_servers} ({settings.security_protocol})"
    if isinstance(exc, kafka_errors.TopicAuthorizationFailedError):
        return (f"accès refusé par Kafka {_names(exc, 'au topic', 'aux topics')} pour {login}"
                " : il n'est pas à vous, ou ce droit ne vous est pas accordé.")
    if isinstance(exc, kafka_errors.GroupAuthorizationFailedError):
        groups = _names(exc, "au groupe de consommateurs", "aux groupes de consommateurs")
        return f"accès refusé par Kafka {groups} pour {login}."
    if isinstance(exc, kafka_errors.TransactionalIdAuthorizationFailed
                  | kafka_errors.ClusterAuthorizationFailedError):
        return f"accès refusé par Kafka pour {login} : {type(exc).__name__}."
    if isinstance(exc, kafka_errors.SaslAuthenticationFailed
                  | kafka_errors.AuthenticationFailedError
                  | kafka_errors.UnsupportedSaslMechanismError):
        return (f"authentification refusée par Kafka pour {login} : vérifiez "
                "VIGIE_SASL_USERNAME, VIGIE_SASL_PASSWORD et VIGIE_SASL_MECHANISM.")
    if isinstance(exc, ssl.SSLError):
        return (f"connexion TLS impossible à {where} : certificat du broker non reconnu "
                "(VIGIE_SSL_CAFILE) ou broker sans TLS.")
    if isinstance(exc, TopicsNotFound):
        return f"topic introuvable sur {where} : {exc}."
    if isinstance(exc, kafka_errors.KafkaConnectionError | ConnectionError):
        return (f"broker Kafka injoignable à {where} : vérifiez VIGIE_BOOTSTRAP_SERVERS et "
                "VIGIE_SECURITY_PROTOCOL.")
    if isinstance(exc, kafka_errors.KafkaTimeoutError):
        return f"Kafka n'a pas répondu à temps ({where})."
    return f"erreur Kafka ({type(exc).__name__}) : {exc}"

"""The local broker with authentication (SASL_SSL, SCRAM-SHA-512) and deny-by-default ACLs.

Why: one topic per partner and per unit only isolates anyone if the broker knows who is
connecting and refuses what is not theirs. This module makes the local broker prove it: every
partner, unit, the workers and the gateway get their own SCRAM login, TLS hides passwords and
payloads on the wire, and ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``
refuses whatever ``vigie.kafka.acl.acl_plan`` (the deployment's plan, not this module's) does
not allow. See docs/security.md.

Everything secret (passwords, keystores) is generated on first start into
``<state>/secure/secrets`` (git-ignored, directory 0700, files 0600) and reused afterwards.
Nothing here needs a new Python dependency: certificates come from the JDK's ``keytool``
(the broker needs Java anyway), SCRAM credentials are written at format time by
``kafka-storage format --add-scram``, and ACLs are created through confluent-kafka's admin API
(``vigie.kafka.acl.apply_acls``).

No password ever appears on a command line (world-readable in ``/proc/<pid>/cmdline`` while
the tool runs): keytool reads the store password from its environment (``-storepass:env``),
and the Kafka tools read their arguments from a java ``@argfile`` (see
``LocalBroker._run_tool``), written 0600 in the secrets folder and deleted once they exit.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from vigie.broker.local import KAFKA_CONF_DIR, BrokerError, LocalBroker, broker_answers
from vigie.kafka import clients
from vigie.kafka.acl import (
    ADMIN,
    GATEWAY,
    WORKER,
    AclError,
    AclRule,
    acl_plan,
    apply_acls,
    partner_principal,
    unit_principal,
)
from vigie.settings import Settings

SECURE_CONF_DIR = KAFKA_CONF_DIR / "secure"
SCRAM_MECHANISM = "SCRAM-SHA-512"
#: The login the co-located broker uses on the controller listener (SASL/PLAIN, loopback).
CONTROLLER = "controller"
#: Certificates are for local work only: short enough to be renewed by a fresh state dir.
CERT_VALIDITY_DAYS = 825
BROKER_SAN = "dns:localhost,ip:127.0.0.1"
#: The environment variable keytool reads the store password from (``-storepass:env``).
STOREPASS_ENV = "VIGIE_KEYTOOL_STOREPASS"


# -- client settings ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientConfig:
    """How one principal connects to the secure broker.

    Its ``settings`` are what that principal's ``VIGIE_*`` environment gives (``environment``
    prints it): every Vigie tool and worker run with them connects as that principal,
    through ``vigie.kafka.clients``."""

    bootstrap: str
    username: str
    password: str = field(repr=False)
    ca_file: Path
    mechanism: str = SCRAM_MECHANISM
    security_protocol: str = "SASL_SSL"
    #: librdkafka's ``message.max.bytes`` for a partner (None: librdkafka's default).
    max_message_bytes: int | None = None

    def settings(self, base: Settings | None = None) -> Settings:
        """``base`` (default: the process's settings) logged in as this principal."""
        return (base or Settings()).model_copy(update={
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_username": self.username,
            "sasl_password": SecretStr(self.password),
            "ssl_cafile": self.ca_file,
        })

    def environment(self) -> dict[str, str]:
        """The ``VIGIE_*`` variables that log a Vigie tool or worker in as this principal."""
        return {
            "VIGIE_BOOTSTRAP_SERVERS": self.bootstrap,
            "VIGIE_SECURITY_PROTOCOL": self.security_protocol,
            "VIGIE_SASL_MECHANISM": self.mechanism,
            "VIGIE_SASL_USERNAME": self.username,
            "VIGIE_SASL_PASSWORD": self.password,
            "VIGIE_SSL_CAFILE": str(self.ca_file),
        }

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient:
        TLS trusting the local CA only, host name included (127.0.0.1 is in the broker
        certificate's subjectAltName)."""
        return clients.aiokafka_options(self.settings())

    def librdkafka(self) -> dict[str, str]:
        """Configuration for confluent-kafka / librdkafka clients.

        For a partner, ``message.max.bytes`` is the partner topics' ``max.message.bytes``:
        librdkafka fills a record batch up to its ``message.max.bytes`` (1,000,000 by
        default), and the broker refuses a whole batch above the topic's limit, so a partner
        left on the default would see batches of small, valid events refused under load.

        ``partitioner``: Kafka's murmur2, as the workers expect of every keyed record
        (librdkafka's default, ``consistent_random``, is CRC32: its records would be
        rejected ``WRONG_PARTITION``)."""
        config = {**clients.librdkafka_config(self.settings()), "partitioner": "murmur2_random"}
        if self.max_message_bytes is not None:
            config["message.max.bytes"] = str(self.max_message_bytes)
        return config

    def java_properties(self) -> str:
        """A ``--command-config`` file body for the Kafka Java tools."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{self.username}" password="{self.password}";'
        )
        return "\n".join([
            f"security.protocol={self.security_protocol}",
            f"sasl.mechanism={self.mechanism}",
            f"sasl.jaas.config={jaas}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_file}",
            "",
        ])


# -- secrets on disk ---------------------------------------------------------------------------
def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, from its first byte (no umask window)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def _new_password() -> str:
    # url-safe alphabet: no '=', ',' or '"' that would break --add-scram or JAAS quoting.
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SecureBroker(LocalBroker):
    """The local broker on SASL_SSL with one SCRAM login per partner, unit and the workers.

    ``units`` defaults to the shipped reference units; the state lives in ``<state>/secure``
    so that a plaintext broker's data and the secure one's never mix.
    """

    units: tuple[str, ...] | None = None

    # -- folders ---------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir / "secure"

    @property
    def secrets_dir(self) -> Path:
        return self.state_dir / "secrets"

    @property
    def private_dir(self) -> Path:
        return self.secrets_dir

    @property
    def credentials_file(self) -> Path:
        return self.secrets_dir / "credentials.json"

    @property
    def ca_file(self) -> Path:
        """The CA certificate (PEM) clients trust; not secret, but kept beside the rest."""
        return self.secrets_dir / "ca.pem"

    @property
    def properties_template(self) -> Path:
        return SECURE_CONF_DIR / "server.properties.template"

    def unit_ids(self) -> list[str]:
        if self.units is not None:
            return sorted(set(self.units))
        from vigie.reference.units import load_units_file

        return sorted({u.unit_id for u in load_units_file().units})

    def principals(self) -> list[str]:
        """Every SCRAM login: admin, the worker, the gateway, one per partner and one per
        unit."""
        return [
            ADMIN, WORKER, GATEWAY,
            *(partner_principal(p) for p in sorted(set(self.settings.partners))),
            *(unit_principal(u) for u in self.unit_ids()),
        ]

    # -- credentials -------------------------------------------------------------------------
    def _load_credentials(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.credentials_file.read_text()))
        except FileNotFoundError:
            return {"store_password": _new_password(), "users": {}, "registered": []}

    def _save_credentials(self, data: dict[str, Any]) -> None:
        _write_private(self.credentials_file, json.dumps(data, indent=2, sort_keys=True))

    def ensure_credentials(self) -> dict[str, Any]:
        """Give every principal (and the controller login) a password, generated once."""
        data = self._load_credentials()
        users: dict[str, str] = data.setdefault("users", {})
        for name in [CONTROLLER, *self.principals()]:
            users.setdefault(name, _new_password())
        self._save_credentials(data)
        return data

    def remember_login(self, principal: str, password: str) -> None:
        """Record a login created on the running broker by ``vigie onboard`` (already in
        its metadata: marked registered), so the local tools can log in as it."""
        data = self._load_credentials()
        data.setdefault("users", {})[principal] = password
        data["registered"] = sorted({*data.get("registered", []), principal})
        self._save_credentials(data)

    def forget_login(self, principal: str) -> None:
        """Drop a login removed by ``vigie offboard``."""
        data = self._load_credentials()
        data.get("users", {}).pop(principal, None)
        data["registered"] = [p for p in data.get("registered", []) if p != principal]
        self._save_credentials(data)

    def password(self, principal: str) -> str:
        """The stored password of a principal (KeyError for an unknown one)."""
        return str(self._load_credentials()["users"][principal])

    def settings_for(self, principal: str) -> Settings:
        """This broker's settings logged in as ``principal`` (what its ``VIGIE_*``
        environment would give a Vigie tool or worker)."""
        return self.client_config(principal).settings(self.settings)

    def client_config(self, principal: str) -> ClientConfig:
        """Connection settings for one principal (``admin``, ``vigie-worker``,
        ``partner-<id>``, ``unit-<id>``)."""
        limit = (self.settings.partner_topic_max_message_bytes
                 if principal.startswith(partner_principal("")) else None)
        return ClientConfig(self.bootstrap, principal, self.password(principal), self.ca_file,
                            max_message_bytes=limit)

    # -- certificates ------------------------------------------------------------------------
    def _keytool(self, *steps: Sequence[str], password: str) -> None:
        """Run keytool steps concurrently (each is a JVM start, ~1 s on a small machine):
        callers only group steps that do not depend on one another.

        The store password goes through the environment (readable by this user only), not
        ``-storepass <password>`` (readable by every user in ``/proc/<pid>/cmdline``)."""
        # A short-lived JVM starts about twice as fast with the C1 compiler only.
        fast = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-J-XX:-UsePerfData"]
        env = {**os.environ, STOREPASS_ENV: password}
        procs = [
            (step, subprocess.Popen(
                ["keytool", *fast, *step, "-storetype", "PKCS12",
                 "-storepass:env", STOREPASS_ENV, "-noprompt"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                cwd=self.secrets_dir, env=env,
            ))
            for step in steps
        ]
        for step, proc in procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                raise BrokerError(f"keytool {' '.join(step)} failed:\n{out}")

    def ensure_certificates(self, store_password: str) -> None:
        """A local CA and a broker certificate for localhost/127.0.0.1 that it signs.

        keytool ships with every JDK/JRE the broker runs on, so TLS needs nothing more. The
        CA's private key never leaves ``ca.p12``; clients get ``ca.pem`` only.
        """
        keystore, truststore = self.secrets_dir / "broker.p12", self.secrets_dir / "trust.p12"
        if keystore.exists() and truststore.exists() and self.ca_file.exists():
            return
        if _which("keytool") is None:
            raise BrokerError("keytool (from the JDK) is missing: install openjdk-17-jre-headless.")
        self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in ("ca.p12", "broker.p12", "trust.p12", "broker.csr", "broker.pem", "ca.pem"):
            (self.secrets_dir / name).unlink(missing_ok=True)
        pw, days = store_password, str(CERT_VALIDITY_DAYS)
        key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", days]
        self._keytool(
            ["-genkeypair", "-alias", "ca", *key, "-dname", "CN=Vigie local CA",
             "-ext", "bc:c=ca:true,pathlen:0", "-ext", "ku:c=keyCertSign,cRLSign",
             "-keystore", "ca.p12"],
            ["-genkeypair", "-alias", "broker", *key, "-dname", "CN=localhost",
             "-ext", f"san={BROKER_SAN}", "-keystore", "broker.p12"],
            password=pw,
        )
        self._keytool(
            ["-exportcert", "-alias", "ca", "-rfc", "-keystore", "ca.p12", "-file", "ca.pem"],
            ["-certreq", "-alias", "broker", "-keystore", "broker.p12", "-file", "broker.csr"],
            password=pw,
        )
        self._keytool(
            ["-gencert", "-alias", "ca", "-keystore", "ca.p12", "-rfc",
             "-infile", "broker.csr", "-outfile", "broker.pem", "-validity", days,
             "-ext", f"san={BROKER_SAN}", "-ext", "ku:c=digitalSignature,keyEncipherment",
             "-ext", "eku=serverAuth,clientAuth"],
            ["-importcert", "-alias", "ca", "-file", "ca.pem", "-keystore", "trust.p12"],
            password=pw,
        )
        # The signed certificate replaces the self-signed one once its issuer is trusted.
        self._keytool(["-importcert", "-alias", "ca", "-file", "ca.pem",
                       "-keystore", "broker.p12"], password=pw)
        self._keytool(["-importcert", "-alias", "broker", "-file", "broker.pem",
                       "-keystore", "broker.p12"], password=pw)
        for path in self.secrets_dir.iterdir():
            path.chmod(0o600)

    # -- LocalBroker hooks -------------------------------------------------------------------
    def _template_values(self) -> dict[str, object]:
        data = self._load_credentials()
        return {
            **super()._template_values(),
            "admin_user": ADMIN,
            "admin_password": data["users"][ADMIN],
            "controller_user": CONTROLLER,
            "controller_password": data["users"][CONTROLLER],
            "store_password": data["store_password"],
            "keystore": self.secrets_dir / "broker.p12",
            "truststore": self.secrets_dir / "trust.p12",
        }

    def _render_properties(self) -> None:
        # The rendered file holds passwords: owner-only, like the secrets folder.
        super()._render_properties()
        self.properties_file.chmod(0o600)

    def _format_args(self) -> list[str]:
        """SCRAM credentials of every principal, written into the metadata log at format
        time, so the broker's own inter-broker login (admin) exists before it starts.
        They hold passwords: ``format_storage`` passes them in an argument file, not argv."""
        users = self._load_credentials()["users"]
        return [
            arg
            for name in self.principals()
            for arg in ("--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={users[name]}]")
        ]

    def format_storage(self) -> None:
        already = (self.data_dir / "meta.properties").exists()
        super().format_storage()
        if not already:
            data = self._load_credentials()
            data["registered"] = self.principals()
            self._save_credentials(data)

    def _answers(self) -> bool:
        return broker_answers(self.settings_for(ADMIN))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> int:
        """Generate what is missing (passwords, certificates), start, then make sure every
        principal can log in and has exactly the ACLs of ``acl_plan`` (idempotent)."""
        if self.pid() is None:
            self.fetch()
            data = self.ensure_credentials()
            self.ensure_certificates(data["store_password"])
        pid = super().start(timeout)
        self.register_new_principals()
        self.apply_acls()
        return pid

    def register_new_principals(self) -> list[str]:
        """Create SCRAM logins for principals added after format (a new partner or unit),
        with Kafka's ConfigCommand (one JVM per login: rare, so simplicity wins).

        The new password travels in the tool's argument file and the admin's in its
        ``--command-config`` file; both are owner-only and deleted when the tool is done."""
        data = self.ensure_credentials()
        missing = [p for p in self.principals() if p not in set(data.get("registered", []))]
        if not missing:
            return []
        command_config = self.secrets_dir / "admin.properties"
        _write_private(command_config, self.client_config(ADMIN).java_properties())
        try:
            for name in missing:
                result = self._run_tool(
                    "org.apache.kafka.tools.ConfigCommand", "--bootstrap-server", self.bootstrap,
                    "--command-config", str(command_config), "--alter", "--entity-type", "users",
                    "--entity-name", name, "--add-config",
                    f"{SCRAM_MECHANISM}=[password={data['users'][name]}]",
                )
                if result.returncode != 0:
                    raise BrokerError(f"SCRAM login for {name} failed:\n{result.stderr}")
                data["registered"] = [*data.get("registered", []), name]
                self._save_credentials(data)
        finally:
            command_config.unlink(missing_ok=True)
        return missing

    def plan(self) -> list[AclRule]:
        return acl_plan(self.settings.partners, self.unit_ids(), self.settings.app_id)

    def apply_acls(self) -> int:
        """Create every binding of the plan as the admin; return how many were sent."""
        rules = self.plan()
        try:
            apply_acls(self.settings_for(ADMIN), rules)
        except AclError as exc:
            raise BrokerError(str(exc)) from exc
        return len(rules)


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name)

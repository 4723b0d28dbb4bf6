"""Run one PostgreSQL cluster on loopback for the follow-up store, as the broker is run.

Debian's PostgreSQL server binaries (package ``postgresql-15``) are used as they are, no
service and no system cluster: ``initdb`` on first start into the state folder, ``pg_ctl``
to start and stop, TCP on 127.0.0.1 only, no Unix socket (no /var/run to own), a login
``vigie`` with a password generated once (SCRAM) and a database ``vigie``. PostgreSQL refuses
to run as root; when Vigie runs as root (CI, containers), the server runs as the ``postgres``
system user that the Debian package creates, and its folder is handed over to that user.
In production ``VIGIE_DATABASE_URL`` points at a managed server and none of this runs.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vigie.settings import Settings

#: Where Debian installs the server binaries, newest first; PATH is tried last.
DEBIAN_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
SERVER_USER = "postgres"
LOGIN = "vigie"
DATABASE = "vigie"


class DatabaseError(RuntimeError):
    """The local PostgreSQL could not be found, initialised, started or stopped."""


def server_binary(name: str) -> str:
    for folder in DEBIAN_BIN_DIRS:
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise DatabaseError(
            f"{name} not found: install Debian's PostgreSQL server (apt-get install "
            "postgresql-15), or set VIGIE_DATABASE_URL to a running server"
        )
    return found


@dataclass(frozen=True)
class LocalPostgres:
    """One local cluster: its folder, port and login, derived from settings."""

    settings: Settings

    @property
    def root(self) -> Path:
        return self.settings.db_dir or self.settings.state_dir / "postgres"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def secret_file(self) -> Path:
        """The login's password, owner-only; kept out of the data folder (handed over to the
        server's user when running as root)."""
        return self.settings.state_dir / "postgres.secret"

    @property
    def port(self) -> int:
        return self.settings.db_port

    def password(self) -> str:
        if not self.secret_file.exists():
            self.secret_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(24))
        return self.secret_file.read_text().strip()

    def url(self) -> str:
        """The libpq URL of the ``vigie`` database (what ``VIGIE_DATABASE_URL`` would hold)."""
        return f"postgresql://{LOGIN}:{self.password()}@127.0.0.1:{self.port}/{DATABASE}"

    # -- running as the server's user ------------------------------------------------------
    def _as_server_user(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise DatabaseError(
                "running as root, and no 'postgres' user to run PostgreSQL as "
                "(install Debian's postgresql-15)") from exc

    def _run(self, args: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        user = self._as_server_user()

        def drop() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        return subprocess.run(  # type: ignore[call-overload]
            list(args), preexec_fn=drop, capture_output=True, text=True, check=False,
            cwd="/", **kwargs)

    def _hand_over(self, path: Path) -> None:
        """Give ``path`` to the server's user, and check it can reach it."""
        user = self._as_server_user()
        if user is None:
            return
        os.chown(path, user.pw_uid, user.pw_gid)
        for parent in path.parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                raise DatabaseError(
                    f"{parent} is not searchable by the '{SERVER_USER}' user: choose another "
                    "VIGIE_DB_DIR (e.g. under /tmp or the project's .vigie folder)")

    # -- lifecycle -------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """``initdb`` once: UTF-8, SCRAM for TCP, the ``vigie`` login as superuser of its own
        cluster (it creates its database; nobody else can connect: loopback only)."""
        if self.initialised():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.root)
        pwfile = self.root / ".pwfile"
        pwfile.write_text(self.password() + "\n")
        pwfile.chmod(0o600)
        self._hand_over(pwfile)
        try:
            result = self._run([
                server_binary("initdb"), "-D", str(self.data_dir), "-U", LOGIN,
                f"--pwfile={pwfile}", "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise DatabaseError(f"initdb failed: {result.stderr.strip()[-2000:]}")

    def running(self) -> bool:
        if not self.initialised():
            return False
        result = self._run([server_binary("pg_ctl"), "status", "-D", str(self.data_dir)])
        return result.returncode == 0

    def start(self, timeout: float = 60.0) -> None:
        """Initialise if needed, start, wait until it accepts connections, create the
        database. Idempotent: a running cluster is left as it is."""
        self.init()
        if not self.running():
            if _port_open(self.port):
                raise DatabaseError(f"port {self.port} is taken: set VIGIE_DB_PORT")
            self.log_file.touch(exist_ok=True)
            self._hand_over(self.log_file)
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                       "-c unix_socket_directories='' -c max_connections=40 "
                       "-c fsync=on -c synchronous_commit=on")
            result = self._run([
                server_binary("pg_ctl"), "start", "-D", str(self.data_dir), "-l",
                str(self.log_file), "-o", options, "-w", "-t", str(int(timeout)),
            ])
            if result.returncode != 0:
                tail = self.log_file.read_text(errors="replace")[-2000:]
                raise DatabaseError(f"PostgreSQL did not start: {result.stderr.strip()} {tail}")
        self._wait(timeout)
        self._create_database()

    def _wait(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self._admin_url(), connect_timeout=3):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise DatabaseError(f"PostgreSQL does not accept connections: {exc}") from exc
                time.sleep(0.2)

    def _admin_url(self) -> str:
        return f"postgresql://{LOGIN}:{self.password()}@127.0.0.1:{self.port}/postgres"

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(self._admin_url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self, timeout: float = 30.0) -> bool:
        """Fast shutdown (clients disconnected, everything committed stays); True if it ran."""
        if not self.running():
            return False
        result = self._run([server_binary("pg_ctl"), "stop", "-D", str(self.data_dir),
                            "-m", "fast", "-w", "-t", str(int(timeout))])
        if result.returncode != 0:
            raise DatabaseError(f"PostgreSQL did not stop: {result.stderr.strip()}")
        return True

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0

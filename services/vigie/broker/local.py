"""Run one Apache Kafka 4 node (KRaft, broker + controller) on loopback, without Docker.

The jars come from Maven Central through ``deploy/kafka/pom.xml`` and are cached per pom
content, so changing the pinned version fetches again and nothing else does. Storage is
formatted once; data, logs and the pid live in the state folder and survive stop/start.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from vigie.settings import PROJECT_DIR, Settings

KAFKA_CONF_DIR = PROJECT_DIR / "deploy" / "kafka"
MIN_JAVA = 17


class BrokerError(RuntimeError):
    """The local broker could not be fetched, formatted, started or stopped."""


@dataclass(frozen=True)
class LocalBroker:
    """One local broker: its ports and folders, derived from settings."""

    settings: Settings

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "kafka-data"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "kafka.pid"

    @property
    def properties_file(self) -> Path:
        return self.state_dir / "server.properties"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.settings.broker_port}"

    @property
    def libs_dir(self) -> Path:
        digest = hashlib.sha256(self.settings.kafka_pom.read_bytes()).hexdigest()[:12]
        return self.settings.cache_dir / f"kafka-libs-{digest}"

    # -- fetch -------------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Download the broker jars once; later calls return the cached folder."""
        done_marker = self.libs_dir / ".complete"
        if done_marker.exists():
            return self.libs_dir
        require_java()
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is missing: install it, e.g. `apt-get install maven`.")
        tmp = self.libs_dir.with_suffix(".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(self.settings.kafka_pom),
            "dependency:copy-dependencies", "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"Maven could not fetch Kafka:\n{result.stdout}\n{result.stderr}")
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        tmp.rename(self.libs_dir)
        done_marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        return self.libs_dir

    # -- format ------------------------------------------------------------------------------
    @property
    def properties_template(self) -> Path:
        """The server.properties template; the secure broker (broker/secure.py) has its own."""
        return KAFKA_CONF_DIR / "server.properties.template"

    def _template_values(self) -> dict[str, object]:
        """Placeholders of the template; subclasses add theirs (passwords, keystores)."""
        return {
            "broker_port": self.settings.broker_port,
            "controller_port": self.settings.controller_port,
            "log_dirs": self.data_dir,
            "partitions": self.settings.partitions,
        }

    def _render_properties(self) -> None:
        template = Template(self.properties_template.read_text())
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(template.substitute(self._template_values()))

    def _jvm(self) -> list[str]:
        classpath = os.pathsep.join([str(self.libs_dir / "*")])
        return [
            java_binary(), *self.settings.kafka_heap.split(),
            "-Dlog4j2.configurationFile=" + str(KAFKA_CONF_DIR / "log4j2.properties"),
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp", classpath,
        ]

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [*self._jvm(), main_class, *args]

    @property
    def private_dir(self) -> Path:
        """Where short-lived files holding secrets are written (the secure broker's is 0700)."""
        return self.state_dir

    def _run_tool(self, main_class: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a short-lived Kafka tool with its main class and arguments in a java
        ``@argfile`` (0600, deleted on return).

        Why: a process's command line is world-readable (``/proc/<pid>/cmdline``, ``ps``)
        while it runs, and the secure broker's tools take SCRAM passwords as arguments
        (``--add-scram``, ``--add-config``). The java launcher reads the file itself, so the
        command line shows ``@<file>`` only. ``-XX:-UsePerfData`` keeps the JVM from
        copying its arguments into ``/tmp/hsperfdata_<user>`` as well.
        """
        self.private_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".java-args-", dir=self.private_dir)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(argfile_text([main_class, *args]))
            return subprocess.run(
                [*self._jvm(), "-XX:-UsePerfData", f"@{name}"],
                capture_output=True, text=True, check=False,
            )
        finally:
            Path(name).unlink(missing_ok=True)

    def _format_args(self) -> list[str]:
        """Extra `StorageTool format` arguments (the secure broker adds SCRAM credentials)."""
        return []

    def cluster_id(self) -> str:
        """The id this node's storage is formatted with: a new one for a lone broker; the
        nodes of one cluster (vigie.broker.cluster) share theirs."""
        return new_cluster_id()

    def format_storage(self) -> None:
        """Format the KRaft storage once: a formatted folder keeps its data across restarts."""
        if (self.data_dir / "meta.properties").exists():
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        result = self._run_tool(
            # One argument: an id may start with "-", which the tool would read as an option.
            "kafka.tools.StorageTool", "format", f"--cluster-id={self.cluster_id()}",
            "-c", str(self.properties_file), *self._format_args(),
        )
        if result.returncode != 0:
            raise BrokerError(f"Kafka storage format failed:\n{result.stdout}\n{result.stderr}")

    # -- lifecycle ---------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The pid of the running broker, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"kafka.Kafka" not in cmdline.read_bytes():
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def start(self, timeout: float = 90.0) -> int:
        """Fetch, format and start in the background; return once the broker answers."""
        running = self.pid()
        if running is not None:
            return running
        return self.wait_answering(self.launch(), timeout)

    def launch(self) -> subprocess.Popen[bytes]:
        """Fetch, format and start the process without waiting for it to answer: the nodes
        of a cluster answer only once a majority of controllers runs, so they are all
        launched before any is waited for."""
        for port in (self.settings.broker_port, self.settings.controller_port):
            if port_open(port):
                raise BrokerError(f"port {port} is already in use by another process")
        self.fetch()
        self._render_properties()
        self.format_storage()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / "kafka.out").open("ab") as stdout:
            process = subprocess.Popen(
                self._java("kafka.Kafka", str(self.properties_file)),
                stdout=stdout, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        return process

    def wait_answering(self, process: subprocess.Popen[bytes], timeout: float = 90.0) -> int:
        """Return the pid once the launched broker answers a client; stop it and raise if it
        exits or stays silent past ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(
                    f"Kafka exited with code {process.returncode}; see {self.log_dir}/kafka.out"
                )
            if port_open(self.settings.broker_port) and self._answers():
                return process.pid
            time.sleep(0.3)
        self.stop()
        raise BrokerError(f"Kafka did not answer within {timeout:.0f}s; see {self.log_dir}")

    def _answers(self) -> bool:
        """True once a client gets metadata; the secure broker probes with its admin login."""
        plaintext = {"bootstrap_servers": self.bootstrap, "security_protocol": "PLAINTEXT"}
        return broker_answers(self.settings.model_copy(update=plaintext))

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop gracefully (SIGTERM: controlled shutdown), SIGKILL after the timeout."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would (chaos and recovery tests)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
            self.pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (reaped or not by us)."""
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split(") ", 1)[1][:1] != "Z"


def new_cluster_id() -> str:
    """A Kafka cluster id: a url-safe base64 UUID (what `StorageTool random-uuid` prints)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def argfile_text(args: list[str]) -> str:
    """A java launcher argument file: one double-quoted argument per line.

    Inside quotes the launcher takes everything literally except ``\\`` escapes, so
    backslashes and quotes are escaped and spaces, ``#`` or a leading ``@`` or ``-`` are kept.
    """
    def quote(arg: str) -> str:
        if "\n" in arg or "\r" in arg:
            raise BrokerError(f"a Java tool argument cannot hold a line break: {arg[:40]!r}")
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "".join(quote(arg) + "\n" for arg in args)


def java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            f"Java >= {MIN_JAVA} is missing: install it, "
            "e.g. `apt-get install openjdk-17-jre-headless`."
        )
    return java


def require_java() -> None:
    """Kafka 4 needs Java 17 or newer: say so plainly instead of a JVM stack trace."""
    result = subprocess.run(
        [java_binary(), "-version"], capture_output=True, text=True, check=False
    )
    first = (result.stderr or result.stdout).splitlines()[0] if result.returncode == 0 else ""
    try:
        major = int(first.split('"')[1].split(".")[0])
    except (IndexError, ValueError) as exc:
        raise BrokerError(f"cannot read the Java version from: {first!r}") from exc
    if major < MIN_JAVA:
        raise BrokerError(f"Kafka 4 needs Java >= {MIN_JAVA}, found {major}.")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def broker_answers(settings: Settings, timeout: float = 5.0) -> bool:
    """True when a Kafka client logged in as ``settings`` says can fetch cluster metadata
    (the broker is really up, and for the secure broker its admin login works)."""
    from vigie.kafka import clients

    async def probe() -> bool:
        admin = clients.admin(settings, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), timeout)
            await asyncio.wait_for(admin.list_topics(), timeout)
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    try:
        return asyncio.run(probe())
    except RuntimeError:  # called from inside a running loop
        print("broker_answers() must not run inside an event loop", file=sys.stderr)
        return False

"""The runnable clients of ``examples/`` (issue 18), Python and Java, against a real worker.

What a landlord's and a unit's IT teams will copy must work as written: the Java example is
built with Maven from ``examples/java/pom.xml`` (once per session, offline when ``~/.m2``
already has everything, and skipped when the jar is newer than its sources and schemas), its
bytes are compared with the golden vectors, and both clients run as separate processes with
nothing of Vigie but their ``VIGIE_*`` connection variables:

- each landlord client publishes an urgent alert and reads its ``ROUTED`` acknowledgement;
- the Python unit client reads the copy of an UPDATE and takes the incident in charge citing
  the key of that copy, the ROOT id; the Java unit client takes its alert in charge;
- the same status again is refused, and the Python unit client reads why on its feedback
  topic (STATUS_NOT_ALLOWED);
- each landlord client then reads its ``TAKEN_IN_CHARGE``;
- a third alert nobody answers is escalated after the (shortened) deadline, the two taken in
  charge are not;
- on the secured broker, a landlord onboarded by ``vigie onboard partner`` runs the Java
  example with the access file it was given: a real incident is ROUTED, a TEST event gets its
  sandbox answer and reaches no unit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import partner_event
from tests.integration.kafka_tools import WorkerProcess, consume, run
from vigie.broker.local import LocalBroker
from vigie.broker.secure import ADMIN, WORKER, SecureBroker
from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.enums import AckStatus, Category, EventStatus, MessageType
from vigie.contracts.mapping import to_jsonable
from vigie.contracts.models import Acknowledgement, PartnerEvent, RoutedEvent
from vigie.reference.participants import REGISTRY_FILE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
JAVA = EXAMPLES / "java"
VECTORS = ROOT / "tests" / "vectors"
CREIL = "60175"
#: Escalation deadline of this module's worker: long enough for a client to start and answer
#: (seconds), short enough to see the unanswered alert escalate.
TAKEOVER_DELAY = 20


def _newest_input() -> float:
    """The newest modification time among what the Java build reads."""
    paths = [JAVA / "pom.xml", *JAVA.joinpath("src").rglob("*.java"),
             *(ROOT / "schemas" / "avro").rglob("*.avsc")]
    return max(p.stat().st_mtime for p in paths)


@pytest.fixture(scope="session")
def java_classpath() -> str:
    """``examples/java`` built (``mvn package``); its runtime class path."""
    jar = JAVA / "target" / "vigie-examples.jar"
    if not jar.exists() or jar.stat().st_mtime < _newest_input():
        mvn = shutil.which("mvn")
        assert mvn is not None, "Maven is needed to build examples/java (scripts/check-tools.sh)"
        build = [mvn, "-q", "-B", "-f", str(JAVA / "pom.xml"), "package"]
        offline = subprocess.run([*build[:3], "-o", *build[3:]], capture_output=True,
                                 text=True, timeout=600, check=False)
        if offline.returncode != 0:  # the first build on a machine fetches from Maven Central
            online = subprocess.run(build, capture_output=True, text=True, timeout=900,
                                    check=False)
            assert online.returncode == 0, online.stdout + online.stderr
    return f"{jar}{os.pathsep}{JAVA / 'target' / 'lib' / '*'}"


def _env(bootstrap: str) -> dict[str, str]:
    """A partner's shell: its connection variables, nothing else of Vigie's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(VIGIE_BOOTSTRAP_SERVERS=bootstrap, VIGIE_SECURITY_PROTOCOL="PLAINTEXT")
    return env


def _run(command: list[str], env: dict[str, str], timeout: float = 120
         ) -> tuple[int, list[dict[str, Any]], str]:
    """(exit status, the JSON lines of stdout, stderr) of one client run."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, lines, done.stderr


def python_client(name: str, *args: str) -> list[str]:
    return [sys.executable, str(EXAMPLES / "python" / f"{name}.py"), *args]


def java_client(classpath: str, name: str, *args: str) -> list[str]:
    return ["java", "-cp", classpath, f"fr.vigie.examples.{name}", *args]


def _write(folder: Path, name: str, value: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


# -- bytes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("vector, client, command", [
    ("partner_event_v2", "Landlord", "encode"),
    ("status_update_v1", "Unit", "encode-status"),
])
def test_java_example_writes_the_golden_bytes(java_classpath: str, vector: str, client: str,
                                              command: str, tmp_path: Path) -> None:
    """Apache Avro's BinaryMessageEncoder (single-object: C3 01, CRC-64-AVRO fingerprint)
    writes, from the vector's JSON, the very bytes Vigie's codec wrote for it."""
    value = json.loads((VECTORS / f"{vector}.json").read_text(encoding="utf-8"))["value"]
    source, out = _write(tmp_path, "in.json", value), tmp_path / "out.bin"
    done = subprocess.run(java_client(java_classpath, client, command, str(source), str(out)),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (VECTORS / f"{vector}.bin").read_bytes()


# -- live -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def routing(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[WorkerProcess, list[str]]]:
    """One worker for the module, serving two landlords of its own (Python's and Java's)."""
    suffix = uuid.uuid4().hex[:6]
    partners = [f"bailleur-py-{suffix}", f"bailleur-java-{suffix}"]
    folder = tmp_path_factory.mktemp("examples-worker")
    settings = broker.settings.model_copy(update={
        "app_id": f"vigie-examples-{suffix}", "state_dir": folder, "partners": partners})
    worker = WorkerProcess(settings=settings, log_path=folder / "worker.log",
                           extra_env={"VIGIE_ALERT_TAKEOVER_DELAY_SECONDS":
                                      str(TAKEOVER_DELAY)})
    worker.start()
    try:
        yield worker, partners
    finally:
        worker.stop()


def _alert(partner: str) -> PartnerEvent:
    return partner_event(partner, CREIL, fresh=True, category=Category.STAFF_AGGRESSION)


def _only(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["type"] == kind]


def test_clients_publish_route_take_in_charge_and_read_acks(
        broker: LocalBroker, routing: tuple[WorkerProcess, list[str]], java_classpath: str,
        tmp_path: Path) -> None:
    worker, (partner_py, partner_java) = routing
    env = _env(broker.settings.bootstrap_servers)
    group = uuid.uuid4().hex[:6]

    # Python landlord: an alert, then an UPDATE of it (keyed by the alert's id, the root).
    alert_py = _alert(partner_py)
    code, out, err = _run(python_client("landlord", "publish", str(_write(
        tmp_path, "alert-py.json", to_jsonable(alert_py)))), env)
    assert code == 0, err + worker.log_tail()
    published, acks = _only(out, "published"), _only(out, "ack")
    assert published[0]["key"] == alert_py.event_id
    assert published[0]["topic"] == topics.partner_alerts(partner_py)
    assert [a["status"] for a in acks] == ["ROUTED"], out
    unit_py = acks[0]["units"][0]
    update = partner_event(partner_py, CREIL, fresh=True, category=Category.STAFF_AGGRESSION,
                           message_type=MessageType.UPDATE, references=[alert_py.event_id])
    code, out, err = _run(python_client("landlord", "publish", str(_write(
        tmp_path, "update-py.json", to_jsonable(update)))), env)
    assert code == 0, err + worker.log_tail()
    assert _only(out, "published")[0]["key"] == alert_py.event_id  # the root, not its own id
    assert [a["status"] for a in _only(out, "ack")] == ["ROUTED"], out

    # Java landlord: an alert.
    alert_java = _alert(partner_java)
    code, out, err = _run(java_client(java_classpath, "Landlord", "publish", str(_write(
        tmp_path, "alert-java.json", to_jsonable(alert_java)))), env)
    assert code == 0, err + worker.log_tail()
    assert _only(out, "published")[0]["key"] == alert_java.event_id
    assert _only(out, "published")[0]["topic"] == topics.partner_alerts(partner_java)
    acks = _only(out, "ack")
    assert [a["status"] for a in acks] == ["ROUTED"], out
    unit_java = acks[0]["units"][0]

    # Python unit: reads the UPDATE's copy and takes the incident in charge citing its key.
    code, out, err = _run(python_client(
        "unit", "follow", "--unit", unit_py, "--event-id", update.event_id, "--take-in-charge",
        "--group", f"unit-{unit_py}-{group}-py"), env)
    assert code == 0, err + worker.log_tail()
    copy = next(r for r in _only(out, "routed") if r["event_id"] == update.event_id)
    assert copy["key"] == alert_py.event_id and copy["message_type"] == "UPDATE"
    assert [(s["event_id"], s["status"]) for s in _only(out, "status_sent")] == [
        (alert_py.event_id, "TAKEN_IN_CHARGE")]
    # Java unit: reads its alert and takes it in charge.
    code, out, err = _run(java_client(
        java_classpath, "Unit", "follow", "--unit", unit_java, "--event-id",
        alert_java.event_id, "--take-in-charge", "--group", f"unit-{unit_java}-{group}-java"),
        env)
    assert code == 0, err + worker.log_tail()
    assert [(s["event_id"], s["status"]) for s in _only(out, "status_sent")] == [
        (alert_java.event_id, "TAKEN_IN_CHARGE")]

    # Taken in charge twice: refused, and the unit is told why on its feedback topic.
    code, out, err = _run(python_client("unit", "status", "--unit", unit_py,
                                        alert_py.event_id, "TAKEN_IN_CHARGE"), env)
    assert code == 0, err
    code, out, err = _run(python_client(
        "unit", "feedback", "--unit", unit_py, "--event-id", alert_py.event_id,
        "--group", f"unit-{unit_py}-{group}-retours"), env)
    assert code == 0, err + worker.log_tail()
    (answer,) = [f for f in _only(out, "feedback") if f["event_id"] == alert_py.event_id]
    assert (answer["status"], answer["reason_code"]) == ("TAKEN_IN_CHARGE", "STATUS_NOT_ALLOWED")

    # Each landlord client reads that its alert was taken in charge.
    code, out, err = _run(python_client(
        "landlord", "acks", "--partner", partner_py, "--event-id", alert_py.event_id,
        "--wait-for", "TAKEN_IN_CHARGE"), env)
    assert code == 0, err + worker.log_tail()
    assert _only(out, "ack")[-1]["units"] == [unit_py]
    code, out, err = _run(java_client(
        java_classpath, "Landlord", "acks", "--partner", partner_java, "--event-id",
        alert_java.event_id, "--wait-for", "TAKEN_IN_CHARGE"), env)
    assert code == 0, err + worker.log_tail()
    assert _only(out, "ack")[-1]["units"] == [unit_java]

    # An alert nobody answers, sent last: once it is escalated, the deadlines of the two
    # taken in charge have passed too, and neither was escalated.
    ignored = _alert(partner_py)
    code, out, err = _run(python_client("landlord", "publish", str(_write(
        tmp_path, "ignored.json", to_jsonable(ignored)))), env)
    assert code == 0, err + worker.log_tail()
    seen = _statuses(broker, [partner_py, partner_java], ignored.event_id)
    assert seen[ignored.event_id] == [AckStatus.ROUTED, AckStatus.ESCALATED]
    assert seen[alert_py.event_id] == [AckStatus.ROUTED, AckStatus.TAKEN_IN_CHARGE]
    assert seen[update.event_id] == [AckStatus.ROUTED]
    assert seen[alert_java.event_id] == [AckStatus.ROUTED, AckStatus.TAKEN_IN_CHARGE]


def _statuses(broker: LocalBroker, partners: list[str], escalated: str
              ) -> dict[str, list[AckStatus]]:
    """Every partner's acknowledgements by event id (repeats of one ack_id dropped), read
    until ``escalated`` is escalated."""
    def until(records: list[Any]) -> bool:
        return any((a := decode(r.value, Acknowledgement)).event_id == escalated
                   and a.status is AckStatus.ESCALATED for r in records)

    records = run(consume(broker.settings, [topics.partner_acks(p) for p in partners],
                          until=until, timeout=TAKEOVER_DELAY + 60, settle=2.0))
    seen: dict[str, list[AckStatus]] = defaultdict(list)
    ids: set[str] = set()
    for record in records:
        ack = decode(record.value, Acknowledgement)
        if ack.ack_id not in ids:
            ids.add(ack.ack_id)
            seen[ack.event_id or "?"].append(ack.status)
    return seen


# -- a new landlord, onboarded on the secured broker -----------------------------------------
def test_onboarded_landlord_runs_the_java_example(
        secure_broker: SecureBroker, java_classpath: str, tmp_path: Path) -> None:
    """``vigie onboard partner`` gives a new landlord its topics, login and access file; the
    Java example, with nothing but that file, publishes a real incident and reads ROUTED,
    then a TEST event: ROUTED with TEST_EVENT, its copy in the landlord's sandbox, on no
    unit's topic. (The id is unique to this test: test_onboarding.py onboards and removes
    ``nouveau-bailleur`` itself on the same session broker.)"""
    new = f"nouveau-bailleur-{uuid.uuid4().hex[:6]}"
    registry = tmp_path / "participants.json"
    shutil.copy(REGISTRY_FILE, registry)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(secure_broker.settings_for(ADMIN).environment())
    env.update(VIGIE_REGISTRY_FILE=str(registry), PYTHONPATH=str(ROOT / "services"))
    done = subprocess.run([sys.executable, "-m", "vigie", "onboard", "partner", new,
                           "--credentials-dir", str(tmp_path / "acces")], env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    access = tmp_path / "acces" / f"partner-{new}.properties"
    assert access.is_file()

    # The workers read a new landlord's topics from their next start (the registry's list).
    folder = tmp_path / "worker"
    folder.mkdir()
    settings = secure_broker.settings_for(WORKER).model_copy(update={
        "state_dir": folder, "partners": [*secure_broker.settings.partners, new]})
    worker = WorkerProcess(settings=settings, log_path=folder / "worker.log",
                           extra_env={"VIGIE_REGISTRY_FILE": str(registry)})
    worker.start(timeout=150)
    try:
        # Nothing of Vigie's in the landlord's environment: only its access file.
        plain = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
        config = ["--config", str(access)]
        real = partner_event(new, CREIL, fresh=True)
        code, out, err = _run(java_client(java_classpath, "Landlord", *config, "publish",
                                          str(_write(tmp_path, "real.json", to_jsonable(real)))),
                              plain)
        assert code == 0, err + worker.log_tail()
        assert [a["status"] for a in _only(out, "ack")] == ["ROUTED"], out

        trial = partner_event(new, CREIL, fresh=True, status=EventStatus.TEST)
        code, out, err = _run(java_client(java_classpath, "Landlord", *config, "publish",
                                          str(_write(tmp_path, "test.json", to_jsonable(trial)))),
                              plain)
        assert code == 0, err + worker.log_tail()
        (ack,) = _only(out, "ack")
        assert (ack["status"], ack["reason_code"]) == ("ROUTED", "TEST_EVENT"), out
        assert ack["units"], "the units it would have reached"
        code, out, err = _run(java_client(java_classpath, "Landlord", *config, "sandbox",
                                          "--partner", new, "--event-id", trial.event_id), plain)
        assert code == 0, err + worker.log_tail()
        copies = [c for c in _only(out, "sandbox") if c["event_id"] == trial.event_id]
        assert {c["unit_id"] for c in copies} == set(ack["units"])
        assert {c["key"] for c in copies} == {trial.event_id}
    finally:
        worker.stop()

    # No unit received the TEST event; the real one did.
    units = secure_broker.unit_ids()
    admin = secure_broker.settings_for(ADMIN)
    records = run(consume(admin, [t for u in units for t in (topics.unit_alerts(u),
                                                             topics.unit_incidents(u))],
                          until=lambda rs: True, timeout=30, settle=2.0))
    seen = set()
    for record in records:
        try:
            seen.add(decode(record.value, RoutedEvent).event.event_id)
        except DecodeError:  # other tests wrote raw bytes to some unit topics
            continue
    assert real.event_id in seen
    assert trial.event_id not in seen

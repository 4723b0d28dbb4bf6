"""Vigie's own tools on the secured broker, each run as the real ``vigie`` command with the
``VIGIE_*`` environment of one login (issue 13): a partner publishes, a unit follows what is
routed to it and answers, operations load reference data — each with nothing but its own
ACLs. Aimed at another principal's topics, the same commands are refused by the broker and
say so in one French line with a non-zero exit, never a stack trace.

One real worker (login ``vigie-worker``) routes what the partner publishes, as in
test_hostile_partner.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import partner_event
from tests.integration.kafka_tools import WorkerProcess
from tests.integration.secure_tools import (
    PARTNER_A,
    PARTNER_B,
    UNIT_X,
    UNIT_Y,
    read_committed_as,
    worker_logged_in,
)
from vigie.broker.secure import ADMIN, WORKER, SecureBroker, partner_principal, unit_principal
from vigie.cli.errors import KAFKA_FAILURE
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, ForceStatus
from vigie.contracts.models import Acknowledgement, PartnerEvent, SiteRecord, StatusUpdate
from vigie.reference.sites import load_sample_sites

pytestmark = pytest.mark.integration

PA, PB = partner_principal(PARTNER_A), partner_principal(PARTNER_B)
UX, UY = unit_principal(UNIT_X), unit_principal(UNIT_Y)
SERVICES = Path(__file__).resolve().parents[2] / "services"


def _env(broker: SecureBroker, principal: str) -> dict[str, str]:
    """A shell logged in as ``principal``: its ``VIGIE_*`` variables and nothing else of
    Vigie's; wide, unbuffered output so that ids are never wrapped or held back."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(broker.client_config(principal).environment())
    env.update(VIGIE_PARTNERS=json.dumps(broker.settings.partners), COLUMNS="250",
               PYTHONUNBUFFERED="1", PYTHONPATH=str(SERVICES))
    return env


def vigie(broker: SecureBroker, principal: str, *args: str, cwd: Path,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigie", *args], env=_env(broker, principal),
                          cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], *names: str) -> str:
    """Exit status of a Kafka failure, one line on stderr naming the refused topic(s), no
    stack trace anywhere."""
    output = result.stdout + result.stderr
    assert result.returncode == KAFKA_FAILURE, output
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Erreur : ")]
    assert len(errors) == 1 and lines == errors, output  # nothing but that one line
    assert "accès refusé" in errors[0], output
    for name in names:
        assert name in errors[0], output
    print(f"REFUSED: {errors[0]}")
    return errors[0]


@pytest.fixture(scope="module")
def worker(secure_broker: SecureBroker, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[WorkerProcess]:
    """One worker logged in as ``vigie-worker`` (its own login only), for the module."""
    with worker_logged_in(secure_broker, tmp_path_factory.mktemp("cli-worker")) as process:
        yield process


@pytest.fixture
def event_file(tmp_path: Path) -> tuple[PartnerEvent, Path]:
    """A NEW incident of partner A in Creil (the police's pn-csp-creil), as a JSON file."""
    event = partner_event(PARTNER_A, "60175", fresh=True)
    path = tmp_path / "event.json"
    path.write_text(event.model_dump_json(), encoding="utf-8")
    return event, path


def _tail_until(broker: SecureBroker, principal: str, unit: str, wanted: str, cwd: Path,
                timeout: float = 60.0) -> tuple[int, str]:
    """``vigie tail --from-beginning`` until ``wanted`` shows (then Ctrl-C); (exit, output)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vigie", "tail", "--unit", unit, "--from-beginning"],
        env=_env(broker, principal), cwd=cwd, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    output = ""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while wanted not in output and time.monotonic() < deadline:
            if process.poll() is not None:
                output += process.stdout.read()
                break
            if selector.select(timeout=0.5):
                output += process.stdout.readline()
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        rest, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        rest, _ = process.communicate()
    return process.returncode, output + rest


# -- each login doing its job --------------------------------------------------------------
def test_partner_publishes_unit_tails_and_answers(
        secure_broker: SecureBroker, worker: WorkerProcess,
        event_file: tuple[PartnerEvent, Path], tmp_path: Path) -> None:
    event, path = event_file

    # The partner: vigie publish checks, publishes on its own topic and prints its ack.
    published = vigie(secure_broker, PA, "publish", str(path), "--timeout", "90", cwd=tmp_path)
    assert published.returncode == 0, published.stdout + published.stderr + worker.log_tail()
    assert event.event_id in published.stdout and "ROUTED" in published.stdout, published.stdout
    assert "Traceback" not in published.stdout + published.stderr
    # What went out is on the partner's incidents topic, keyed by its id (read by the admin).
    on_topic = asyncio.run(read_committed_as(
        secure_broker.client_config(ADMIN), topics.partner_incidents(PARTNER_A), None,
        lambda raw: decode(raw, PartnerEvent),
        until=lambda found: any(e.event_id == event.event_id for e in found), settle=0.5))
    assert [e.event_id for e in on_topic].count(event.event_id) == 1

    # The unit: vigie tail shows the routed event the worker sent it.
    code, shown = _tail_until(secure_broker, UY, UNIT_Y, event.event_id, cwd=tmp_path)
    assert event.event_id in shown, shown
    assert code == 0 and "Traceback" not in shown, shown

    # The unit answers: vigie ack writes its status topic; the partner hears of it.
    answered = vigie(secure_broker, UY, "ack", "--unit", UNIT_Y, event.event_id,
                     ForceStatus.TAKEN_IN_CHARGE.value, cwd=tmp_path)
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert f"TAKEN_IN_CHARGE envoyé pour {event.event_id}" in answered.stdout
    statuses = asyncio.run(read_committed_as(
        secure_broker.client_config(ADMIN), topics.unit_status(UNIT_Y), None,
        lambda raw: decode(raw, StatusUpdate),
        until=lambda found: any(s.event_id == event.event_id for s in found), settle=0.5))
    assert [(s.unit_id, s.status) for s in statuses if s.event_id == event.event_id] == [
        (UNIT_Y, ForceStatus.TAKEN_IN_CHARGE)]
    acks = asyncio.run(read_committed_as(
        secure_broker.client_config(PA), topics.partner_acks(PARTNER_A), None,
        lambda raw: decode(raw, Acknowledgement),
        until=lambda found: any(a.event_id == event.event_id
                                and a.status is AckStatus.TAKEN_IN_CHARGE for a in found),
        settle=0.5))
    assert [a.status for a in acks if a.event_id == event.event_id] == [
        AckStatus.ROUTED, AckStatus.TAKEN_IN_CHARGE]


def test_operations_load_sites(secure_broker: SecureBroker, tmp_path: Path) -> None:
    model = next(s for s in load_sample_sites() if s.partner_id == PARTNER_A)
    site = model.model_copy(update={"site_id": f"{PARTNER_A}-cli-{uuid.uuid4().hex[:8]}"})
    path = tmp_path / "sites.json"
    path.write_text(json.dumps([site.model_dump(mode="json")]), encoding="utf-8")

    loaded = vigie(secure_broker, ADMIN, "ref", "load", "sites", str(path), cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "1 enregistrement(s) publié(s) (sites)" in loaded.stdout
    sites = asyncio.run(read_committed_as(
        secure_broker.client_config(WORKER), topics.REF_SITES, None,
        lambda raw: decode(raw, SiteRecord),
        until=lambda found: any(s.site_id == site.site_id for s in found), settle=0.5))
    assert [s for s in sites if s.site_id == site.site_id] == [site]


# -- the same commands aimed at someone else's topics --------------------------------------
def test_partner_cannot_publish_as_another(
        secure_broker: SecureBroker, tmp_path: Path) -> None:
    as_b = partner_event(PARTNER_B, "60175", fresh=True)
    path = tmp_path / "event-b.json"
    path.write_text(as_b.model_dump_json(), encoding="utf-8")
    refused = vigie(secure_broker, PA, "publish", str(path), "--timeout", "5", cwd=tmp_path)
    line = assert_refused(refused, PA)
    assert PARTNER_B in line
    # Nothing reached B's topics.
    seen = asyncio.run(read_committed_as(
        secure_broker.client_config(ADMIN), topics.partner_incidents(PARTNER_B), None,
        lambda raw: decode(raw, PartnerEvent), until=lambda found: True, timeout=10))
    assert as_b.event_id not in {e.event_id for e in seen}


def test_unit_cannot_tail_or_answer_for_another(
        secure_broker: SecureBroker, tmp_path: Path) -> None:
    assert_refused(vigie(secure_broker, UY, "tail", "--unit", UNIT_X, cwd=tmp_path),
                   topics.unit_alerts(UNIT_X), topics.unit_incidents(UNIT_X), UY)
    assert_refused(vigie(secure_broker, UY, "ack", "--unit", UNIT_X, str(uuid.uuid4()),
                         ForceStatus.TAKEN_IN_CHARGE.value, cwd=tmp_path),
                   topics.unit_status(UNIT_X), UY)


def test_partner_cannot_load_reference_data(
        secure_broker: SecureBroker, tmp_path: Path) -> None:
    path = tmp_path / "sites.json"
    path.write_text(json.dumps([load_sample_sites()[0].model_dump(mode="json")]),
                    encoding="utf-8")
    assert_refused(vigie(secure_broker, PA, "ref", "load", "sites", str(path), cwd=tmp_path),
                   topics.REF_SITES, PA)


def test_partner_cannot_run_the_simulator(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """The simulator loads reference data first: an operations' right, not a partner's."""
    assert_refused(vigie(secure_broker, PA, "simulate", "--count", "1", cwd=tmp_path),
                   topics.REF_SITES, PA)


def test_wrong_password_is_said_plainly(secure_broker: SecureBroker, tmp_path: Path) -> None:
    env = _env(secure_broker, UY) | {"VIGIE_SASL_PASSWORD": "pas-le-bon"}
    result = subprocess.run([sys.executable, "-m", "vigie", "tail", "--unit", UNIT_Y],
                            env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == KAFKA_FAILURE and "Traceback" not in output, output
    assert result.stderr.startswith("Erreur : authentification refusée"), output
    assert len(result.stderr.strip().splitlines()) == 1, output

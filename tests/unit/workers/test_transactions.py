"""The worker's transactional producer around librdkafka: an id that survives the
supervisor's restarts (so a restart aborts what a crash left open), and the watchdog that
fail-stops a transactional call blocked past its timeout (librdkafka #5456)."""

from __future__ import annotations

import threading

import pytest

from vigie.settings import Settings
from vigie.workers.supervisor import WORKER_ID_ENV
from vigie.workers.transactions import Watchdog, transactional_id, worker_instance


def test_a_supervised_worker_keeps_its_transactional_id_across_restarts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKER_ID_ENV, "host-a-1234")
    settings = Settings(app_id="vigie-test")
    assert transactional_id(settings, worker_instance()) == "vigie-test-route-host-a-1234"
    assert worker_instance() == worker_instance()


def test_unsupervised_workers_get_distinct_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKER_ID_ENV, raising=False)
    assert worker_instance() != worker_instance()


def test_the_watchdog_stops_a_call_blocked_past_its_time() -> None:
    hung = threading.Event()
    reasons: list[str] = []

    def on_hang(reason: str) -> None:
        reasons.append(reason)
        hung.set()

    watchdog = Watchdog(on_hang)
    watchdog.arm(0.1, "a transaction commit")
    assert hung.wait(5.0)
    assert reasons and reasons[0].startswith("a transaction commit blocked past its timeout")


def test_a_disarmed_watchdog_stays_quiet() -> None:
    hung = threading.Event()
    watchdog = Watchdog(lambda _reason: hung.set())
    watchdog.arm(0.1, "a transaction commit")
    watchdog.disarm()
    assert not hung.wait(1.5)

"""An alert timer survives a SIGKILL of the worker: the alert still escalates on time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import partner_event, record_for
from tests.integration.kafka_tools import consume, produce, run
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category
from vigie.contracts.models import Acknowledgement
from vigie.settings import Settings

pytestmark = pytest.mark.integration

DELAY = 45.0  # longer than a worker restart after SIGKILL (session timeout + recovery)


def _ack(settings: Settings, partner: str, event_id: str, status: AckStatus,
         timeout: float) -> Acknowledgement:
    records = run(consume(settings, [topics.partner_acks(partner)], until=lambda rs: any(
        (a := decode(r.value, Acknowledgement)).event_id == event_id and a.status is status
        for r in rs), timeout=timeout, settle=0))
    return next(a for r in records if (a := decode(r.value, Acknowledgement)).event_id
                == event_id and a.status is status)


def test_alert_escalates_on_time_after_sigkill(start_worker, kafka_settings, partners) -> None:  # type: ignore[no-untyped-def]
    settings, partner = kafka_settings, partners[0]
    env = {"VIGIE_ALERT_TAKEOVER_DELAY_SECONDS": str(DELAY)}
    worker = start_worker(extra_env=env)
    alert = partner_event(partner, "60175", fresh=True, category=Category.STAFF_AGGRESSION)
    _topic, key, value = record_for(alert)
    run(produce(settings, [(topics.partner_alerts(partner), key, value)]))
    routed = _ack(settings, partner, alert.event_id, AckStatus.ROUTED, timeout=60)

    worker.kill()  # SIGKILL while the timer runs: no shutdown, nothing flushed by us
    start_worker(extra_env=env)  # same app id: same consumer group and table changelog
    back = (datetime.now(UTC) - routed.issued_at).total_seconds()

    escalated = _ack(settings, partner, alert.event_id, AckStatus.ESCALATED, timeout=90)
    late = (escalated.issued_at - routed.issued_at).total_seconds()
    print(f"\nworker killed at once, ready again {back:.1f}s after routing; "
          f"escalated {late:.1f}s after routing (delay {DELAY:.0f}s)")
    # Never early; at the deadline when a worker is up by then, else soon after it is back.
    # Measured: about 11 s after the deadline following a SIGKILL (4.2 s for a 4 s delay
    # without a crash, see test_acknowledgement_loop): see the issue note on EOS recovery.
    assert DELAY <= late <= max(DELAY, back) + 15
    assert escalated.units == ["pn-cic-oise"]

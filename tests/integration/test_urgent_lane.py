"""The urgent lane overtakes an incident backlog (issue: "no incident backlog delays them").

6,000 incidents wait in the partners' topics before the worker starts; ten urgent alerts
are published once it is ready. The worker's own send times (the acknowledgements' record
timestamps, one clock) say how many incidents it had answered when the last alert was
answered: the alerts must not have waited for the backlog. Everything is then checked to
end in exactly one acknowledgement, the alerts' copies on the unit alert topics.
"""

from __future__ import annotations

import time

import pytest

from tests.factories import partner_event, record_for
from tests.integration.kafka_tools import consume, produce, run
from tests.integration.scenarios import COMMUNES
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.enums import AckStatus, Category
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.kafka.admin import ensure_topics
from vigie.reference.snapshot import ReferenceStore

pytestmark = pytest.mark.integration

BACKLOG = 6000
ALERTS = 10


def test_alerts_overtake_an_incident_backlog(  # type: ignore[no-untyped-def]
    start_worker, kafka_settings, partners
) -> None:
    units = sorted(ReferenceStore.with_defaults().snapshot().units)
    settings = kafka_settings.model_copy(update={"partners": partners})
    run(ensure_topics(settings, units))
    backlog = [partner_event(partners[i % 2], COMMUNES[i % len(COMMUNES)], fresh=True)
               for i in range(BACKLOG)]
    assert run(produce(settings, [record_for(e) for e in backlog])) == BACKLOG

    start_worker()
    time.sleep(0.5)
    alerts = [partner_event(partners[i % 2], COMMUNES[i % len(COMMUNES)], fresh=True,
                            category=Category.STAFF_AGGRESSION) for i in range(ALERTS)]
    # On the partners' alerts topics: the urgent lane (routing.policy.lane_for).
    assert run(produce(settings, [record_for(e) for e in alerts])) == ALERTS

    acks_topics = {topics.partner_acks(p) for p in partners}
    alert_topics = [topics.unit_alerts(u) for u in units]
    found = run(consume(
        settings, [*acks_topics, *alert_topics],
        until=lambda rs: sum(r.topic in acks_topics for r in rs) >= BACKLOG + ALERTS,
        timeout=240, settle=2.0,
    ))
    acks = [(r.timestamp, decode(r.value, Acknowledgement)) for r in found
            if r.topic in acks_topics]
    alert_ids = {e.event_id for e in alerts}
    assert len(acks) == BACKLOG + ALERTS
    assert {a.status for _, a in acks} == {AckStatus.ROUTED}
    assert {a.event_id for _, a in acks} == alert_ids | {e.event_id for e in backlog}
    copies = [decode(r.value, RoutedEvent) for r in found if r.topic in alert_topics]
    assert {c.event.event_id for c in copies if c.event.partner_id in partners} == alert_ids

    last_alert = max(ts for ts, a in acks if a.event_id in alert_ids)
    answered_before = sum(ts < last_alert for ts, a in acks if a.event_id not in alert_ids)
    print(f"incidents answered before the last alert: {answered_before} of {BACKLOG}")
    assert answered_before < BACKLOG / 4, answered_before

"""The urgent lane overtakes an incident backlog (issue: "no incident backlog delays them").

12,000 incidents wait in the partners' topics before the worker starts; ten urgent alerts
are published once it is ready. The record timestamps (the alerts' send times, the
acknowledgements' send times: one machine, one clock) say how many incidents the worker
answered between the first alert's publication and the last alert's answer. With the lane
that is at most about one pass; without it the alerts would wait for the backlog still
queued, which the test also checks was there. How many incidents were answered before the
alerts were even published depends on the machine's speed, not on the lane, so it is not
counted. Everything is then checked to end in exactly one acknowledgement, the alerts'
copies on the unit alert topics.
"""

from __future__ import annotations

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

BACKLOG = 12000
# At most this many incidents may be answered while the alerts wait: a pass takes 256 per
# partner (scheduler.INCIDENT_SHARE), and an alert that arrives during one joins its commit.
WINDOW_BOUND = 1500
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
    alerts = [partner_event(partners[i % 2], COMMUNES[i % len(COMMUNES)], fresh=True,
                            category=Category.STAFF_AGGRESSION) for i in range(ALERTS)]
    # On the partners' alerts topics: the urgent lane (routing.policy.lane_for).
    assert run(produce(settings, [record_for(e) for e in alerts])) == ALERTS

    acks_topics = {topics.partner_acks(p) for p in partners}
    alert_inputs = {topics.partner_alerts(p) for p in partners}
    alert_topics = [topics.unit_alerts(u) for u in units]
    found = run(consume(
        settings, [*acks_topics, *alert_inputs, *alert_topics],
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

    first_sent = min(r.timestamp for r in found if r.topic in alert_inputs)
    last_answered = max(ts for ts, a in acks if a.event_id in alert_ids)
    incident_times = [ts for ts, a in acks if a.event_id not in alert_ids]
    before = sum(ts < first_sent for ts in incident_times)
    while_waiting = sum(first_sent <= ts <= last_answered for ts in incident_times)
    after = sum(ts > last_answered for ts in incident_times)
    print(f"incidents answered: {before} before the alerts were sent, {while_waiting} while "
          f"they waited ({last_answered - first_sent} ms), {after} after the last alert")
    # The backlog was still there: without the lane the alerts would have waited for it.
    assert after >= BACKLOG / 4, (before, while_waiting, after)
    assert while_waiting <= WINDOW_BOUND, (before, while_waiting, after)

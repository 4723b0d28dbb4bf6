"""The engine's partitioned event state: entries and timers live with their partition."""

from __future__ import annotations

import json
from dataclasses import replace

from vigie.contracts.enums import AckStatus, Lane
from vigie.pipeline.messages import EventRecord
from vigie.settings import Settings
from vigie.workers.state import EventState, changelog_topic


def _record(event_id: str, deadline: float | None = None) -> EventRecord:
    return EventRecord(event_id=event_id, partner_id="opac-oise", status=AckStatus.ROUTED,
                       source="partner.opac-oise.alerts.v1/0/1", units=("pn-csp-creil",),
                       lane=Lane.ALERT, lifecycle=(AckStatus.ROUTED,),
                       alert_deadline=deadline)


def test_put_returns_the_changelog_record_on_the_same_partition() -> None:
    settings = Settings(app_id="vigie-x")
    state = EventState(settings)
    out = state.put(_record("e1"), 2)
    assert out.topic == changelog_topic(settings) == "vigie-x-events-changelog"
    assert out.partition == 2 and out.key == b"e1"
    assert EventRecord.from_json(json.loads(out.value)) == _record("e1")
    assert state.lookup("e1", 2) == _record("e1")
    assert state.lookup("e1", 1) is None  # entries live with their partition only


def test_deadlines_follow_the_latest_record_and_come_due_oldest_first() -> None:
    state = EventState(Settings())
    state.put(_record("late", deadline=200.0), 0)
    state.put(_record("early", deadline=100.0), 1)
    state.put(_record("future", deadline=900.0), 1)
    assert state.due(now=300.0) == [("early", 1), ("late", 0)]
    assert state.next_deadline() == 100.0
    state.put(_record("early", deadline=None), 1)  # taken in charge: no more timer
    assert state.due(now=300.0) == [("late", 0)]
    assert sorted(state.open_alert_units()) == [("pn-csp-creil",), ("pn-csp-creil",)]


def test_drop_forgets_entries_and_timers_of_revoked_partitions() -> None:
    state = EventState(Settings())
    state.put(_record("a", deadline=1.0), 0)
    state.put(_record("b", deadline=1.0), 3)
    state.drop([0])
    assert state.partitions == {3}
    assert state.lookup("a", 0) is None
    assert state.due(now=10.0) == [("b", 3)]


def test_last_inputs_gives_the_highest_source_offset_per_input_partition() -> None:
    """What a take-over resumes after when the group's offset fetch lags behind the state."""
    state = EventState(Settings())
    state.put(replace(_record("a"), source="partner.opac-oise.alerts.v1/0/7"), 0)
    state.put(replace(_record("b"), source="partner.opac-oise.alerts.v1/0/41"), 0)
    state.put(replace(_record("c"), source="partner.opac-oise.incidents.v1/1/3"), 1)
    state.put(replace(_record("d"), source="escalation-timer"), 1)  # not an input: ignored
    assert state.last_inputs() == {("partner.opac-oise.alerts.v1", 0): 41,
                                   ("partner.opac-oise.incidents.v1", 1): 3}

"""The pass scheduler of the routing engine, without Kafka: the lane of each input topic,
which partitions each pass fetches and in which order (alerts first, each partner in turn),
the alert passes that commit alone but never twice in a row, and the time budget that stops
incidents (never alerts or statuses) and leaves the rest to be read again."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from vigie.contracts import topics
from vigie.contracts.enums import Lane
from vigie.workers.scheduler import (
    ALERT_SHARE,
    INCIDENT_SHARE,
    STATUS_SHARE,
    Lanes,
    Owned,
    PassScheduler,
    Take,
)

PARTNERS = ["opac-oise", "clesence", "oise-habitat"]
UNIT = "pn-csp-creil"


@dataclass(frozen=True)
class Rec:
    """A fetched record as the scheduler sees it: where it is, nothing else."""

    topic: str
    partition: int
    offset: int


class Clock:
    """A clock the test moves: each reading advances it by ``step`` seconds."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def owned_all(lanes: Lanes, partitions: tuple[int, ...] = (0, 1)) -> Owned:
    return lanes.split({TopicPartition(t, p) for p in partitions for t in lanes.inputs})


def test_lanes_know_each_input_topic() -> None:
    lanes = Lanes(["opac-oise", "clesence"], [UNIT])
    assert lanes.lane_of(topics.partner_alerts("clesence")) is Lane.ALERT
    assert lanes.lane_of(topics.partner_incidents("opac-oise")) is Lane.INCIDENT
    assert lanes.lane_of(topics.unit_status(UNIT)) is None  # the status relay
    assert lanes.alerts[topics.partner_alerts("opac-oise")] == "opac-oise"
    assert set(lanes.inputs) == {
        topics.partner_alerts("opac-oise"), topics.partner_incidents("opac-oise"),
        topics.partner_alerts("clesence"), topics.partner_incidents("clesence"),
        topics.unit_status(UNIT),
    }


def test_split_groups_owned_partitions_by_lane_and_partner() -> None:
    lanes = Lanes(["opac-oise", "clesence"], [UNIT])
    owned = {TopicPartition(t, p) for p in (0, 1) for t in lanes.inputs}
    split = lanes.split(owned)
    assert split.all == owned
    assert split.alerts_by_partner["clesence"] == [
        TopicPartition(topics.partner_alerts("clesence"), p) for p in (0, 1)]
    assert split.incidents_by_partner["opac-oise"] == [
        TopicPartition(topics.partner_incidents("opac-oise"), p) for p in (0, 1)]
    assert split.statuses == [TopicPartition(topics.unit_status(UNIT), p) for p in (0, 1)]
    assert len(split.alerts) == 4


def test_urgent_takes_are_each_partners_alerts_in_turn_then_the_statuses() -> None:
    lanes = Lanes(PARTNERS, [UNIT])
    scheduler = PassScheduler(lanes)
    owned = owned_all(lanes)
    firsts = []
    for _ in range(4):
        plan = scheduler.next_pass(owned)
        alert_takes, status_take = plan.urgent[:-1], plan.urgent[-1]
        assert [t.share for t in alert_takes] == [ALERT_SHARE] * 3
        assert [lanes.alerts[t.partitions[0].topic] for t in alert_takes] == plan.order
        assert status_take == Take(owned.statuses, STATUS_SHARE)
        firsts.append(plan.order[0])
        plan.incident_takes(alerts_found=False)
    # The rotation: no partner is always fetched first.
    assert firsts == ["opac-oise", "clesence", "oise-habitat", "opac-oise"]


def test_a_pass_with_alerts_commits_them_alone_but_never_twice_in_a_row() -> None:
    lanes = Lanes(PARTNERS, [UNIT])
    scheduler = PassScheduler(lanes)
    owned = owned_all(lanes)
    verdicts = [scheduler.next_pass(owned).incident_takes(alerts_found=True) for _ in range(3)]
    assert verdicts[0] is None and verdicts[2] is None
    second = verdicts[1]
    assert second is not None  # a flooded alert topic does not stop every incident
    assert {lanes.incidents[t.partitions[0].topic] for t in second} == set(PARTNERS)
    assert all(t.share == INCIDENT_SHARE for t in second)


def test_incident_takes_follow_the_pass_order_and_skip_partners_owning_nothing() -> None:
    lanes = Lanes(PARTNERS, [UNIT])
    scheduler = PassScheduler(lanes, incident_share=7)
    owned = lanes.split({TopicPartition(topics.partner_incidents(p), 3)
                         for p in ("clesence", "oise-habitat")})
    scheduler.next_pass(owned).incident_takes(alerts_found=False)  # rotate once
    plan = scheduler.next_pass(owned)
    assert plan.urgent == []  # no alert or status partition owned
    takes = plan.incident_takes(alerts_found=False)
    assert takes == [Take([TopicPartition(topics.partner_incidents("clesence"), 3)], 7),
                     Take([TopicPartition(topics.partner_incidents("oise-habitat"), 3)], 7)]


def test_admit_processes_in_order_and_commits_past_the_last_record() -> None:
    lanes = Lanes(PARTNERS, [UNIT])
    owned = owned_all(lanes)
    alerts = TopicPartition(topics.partner_alerts("clesence"), 1)
    incidents = TopicPartition(topics.partner_incidents("opac-oise"), 0)
    batch = {alerts: [Rec(alerts.topic, 1, 40), Rec(alerts.topic, 1, 41)],
             incidents: [Rec(incidents.topic, 0, o) for o in (7, 8, 9)]}
    seen: list[Rec] = []
    admitted = PassScheduler(lanes, clock=Clock(0.0)).admit(batch, owned, seen.append)
    assert seen == [*batch[alerts], *batch[incidents]]
    assert admitted.commit == {alerts: 42, incidents: 10}
    assert admitted.rewind == {} and admitted.processed == 5


def test_the_budget_stops_incidents_and_leaves_the_rest_to_read_again() -> None:
    lanes = Lanes(PARTNERS, [UNIT])
    owned = owned_all(lanes)
    alerts = TopicPartition(topics.partner_alerts("clesence"), 0)
    status = TopicPartition(topics.unit_status(UNIT), 0)
    first = TopicPartition(topics.partner_incidents("opac-oise"), 0)
    second = TopicPartition(topics.partner_incidents("clesence"), 0)
    batch = {alerts: [Rec(alerts.topic, 0, o) for o in range(5)],
             status: [Rec(status.topic, 0, o) for o in range(3)],
             first: [Rec(first.topic, 0, o) for o in range(100, 110)],
             second: [Rec(second.topic, 0, o) for o in range(50, 60)]}
    seen: list[Rec] = []
    # Every clock reading is 10 ms later; a 35 ms budget: the start, then three incidents.
    scheduler = PassScheduler(lanes, budget_seconds=0.035, clock=Clock(0.01))
    admitted = scheduler.admit(batch, owned, seen.append)
    assert seen[:8] == [*batch[alerts], *batch[status]]  # urgent work is never cut
    assert [r.offset for r in seen[8:]] == [100, 101, 102]
    assert admitted.commit == {alerts: 5, status: 3, first: 103}
    assert admitted.rewind == {first: 103, second: 50}


def test_records_of_partitions_no_longer_owned_are_skipped() -> None:
    lanes = Lanes(PARTNERS, [UNIT])
    owned = owned_all(lanes, partitions=(0,))
    gone = TopicPartition(topics.partner_incidents("opac-oise"), 2)
    seen: list[Rec] = []
    admitted = PassScheduler(lanes).admit({gone: [Rec(gone.topic, 2, 1)]}, owned, seen.append)
    assert seen == [] and admitted.commit == {} and admitted.rewind == {}


def test_an_idle_pass_waits_no_longer_than_the_next_alert_deadline() -> None:
    scheduler = PassScheduler(Lanes(PARTNERS, [UNIT]), idle_wait_ms=500)
    assert scheduler.idle_wait_ms(None, now=1000.0) == 500
    assert scheduler.idle_wait_ms(1000.2, now=1000.0) == 201
    assert scheduler.idle_wait_ms(1005.0, now=1000.0) == 500
    assert scheduler.idle_wait_ms(990.0, now=1000.0) == 0  # overdue: do not wait


def test_alerts_arriving_mid_pass_stop_its_incidents() -> None:
    lanes = Lanes(PARTNERS, [UNIT])
    incidents = TopicPartition(topics.partner_incidents(PARTNERS[0]), 0)
    alerts = TopicPartition(topics.partner_alerts(PARTNERS[0]), 0)
    owned = lanes.split({incidents, alerts})
    scheduler = PassScheduler(lanes, budget_seconds=60.0)
    batch = {alerts: [Rec(alerts.topic, 0, 7)],
             incidents: [Rec(incidents.topic, 0, o) for o in range(10)]}
    done: list[int] = []
    checks = iter([False, False, False, True])
    admitted = scheduler.admit(batch, owned, lambda r: done.append(r.offset),
                               interrupt=lambda: next(checks, True))
    # The alert already in the batch is processed; three incidents, then the interrupt.
    assert done == [7, 0, 1, 2]
    assert admitted.interrupted
    assert admitted.commit == {alerts: 8, incidents: 3}
    assert admitted.rewind == {incidents: 3}

"""The reference loader applies routing rules and availability declarations from their
compacted topics to the store (no broker: records as the loader receives them)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.factories import unit_availability, unit_rules
from vigie.contracts import topics
from vigie.contracts.codec import encode
from vigie.kafka.acl import WORKER, Operation, acl_plan
from vigie.kafka.admin import planned_topics
from vigie.kafka.publish import reference_records
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings
from vigie.workers.reference_loader import REFERENCE_TOPICS, ReferenceLoader


def test_rules_and_availability_records_reach_the_store() -> None:
    store = ReferenceStore.with_defaults()
    loader = ReferenceLoader(store, Settings())
    applied: list[str] = []
    loader.on_update = applied.append
    changed = unit_rules("gn-bt-meru", hours=None, version="rules-test")
    down = unit_availability("gn-bt-meru", datetime(2031, 1, 1, tzinfo=UTC))
    before = store.snapshot().versions
    for topic, key, value in reference_records(rules=[changed], availability=[down]):
        loader.apply(topic, key, value)
    snapshot = store.snapshot()
    assert snapshot.rules.lookup("gn-bt-meru") == changed
    assert snapshot.availability["gn-bt-meru"] == down
    assert snapshot.versions["rules"] != before["rules"]
    assert snapshot.versions["availability"] != before["availability"]
    assert applied == [topics.REF_RULES, topics.REF_AVAILABILITY]
    loader.apply(topics.REF_RULES, b"x", b"not avro")  # skipped with a warning, not fatal
    assert store.snapshot() is snapshot


def test_rules_records_keep_their_history_under_compaction() -> None:
    later = unit_rules("gn-bt-meru", effective_from=date(2027, 1, 1))
    [(topic, key, value)] = reference_records(rules=[later])
    assert topic == topics.REF_RULES and key == b"gn-bt-meru|2027-01-01"
    assert value == encode(later)


def test_the_new_topics_are_planned_and_read_only_for_the_worker() -> None:
    names = {s.name: s for s in planned_topics(Settings(), ["gn-bt-meru"])}
    for topic in (topics.REF_RULES, topics.REF_AVAILABILITY):
        assert topic in REFERENCE_TOPICS
        assert names[topic].config == {"cleanup.policy": "compact"}
        granted = {r.operation for r in acl_plan(["opac-oise"], ["gn-bt-meru"], "vigie")
                   if r.principal == WORKER and r.resource_name == topic}
        assert granted == {Operation.READ, Operation.DESCRIBE}

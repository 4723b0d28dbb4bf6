"""Metrics without a broker: label values bounded, diversions counted by rule, lane and unit
(the live proof is in tests/integration/test_observability.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from prometheus_client import REGISTRY

from tests.factories import partner_event, record_for
from tests.stages import NOW, Table, inbound
from vigie import metrics
from vigie.contracts.enums import Category, Lane
from vigie.metrics import OTHER, BoundedLabel
from vigie.pipeline.intake import IntakeProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings

NIGHT = datetime.fromisoformat("2026-11-29T02:00+01:00")


def test_bounded_label_caps_distinct_values() -> None:
    label = BoundedLabel(limit=2)
    assert [label(v) for v in ("x", "y", "z", "x")] == ["x", "y", OTHER, "x"]


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_diversions_are_counted_by_rule_lane_and_unit() -> None:
    labels = {"rule": "OUTSIDE_HOURS", "lane": "alert", "unit": "gn-bt-meru"}
    metrics.init_unit_series(["gn-bt-meru"])
    before = _sample("vigie_diversions_total", labels)
    store = ReferenceStore.with_defaults()
    night = Settings(routing_clock_at=NIGHT, alert_takeover_delay_seconds=60)
    intake = IntakeProcessor(store, night, lambda: NOW)
    alert = partner_event("opac-oise", "60395", fresh=True, category=Category.STAFF_THREAT,
                          sent_at=NOW - timedelta(minutes=1))
    result = intake.handle(inbound(record_for(alert)), Table().get)
    metrics.record_intake(Lane.ALERT.value.lower(), result, None)
    assert _sample("vigie_diversions_total", labels) == before + 1
    assert _sample("vigie_diversions_total", {**labels, "rule": "OVERFLOW"}) == 0.0
    metrics.set_unavailable_units(["gn-bt-meru"], ["gn-bt-meru", "gn-bt-chambly"])
    assert _sample("vigie_unit_unavailable", {"unit": "gn-bt-meru"}) == 1.0
    assert _sample("vigie_unit_unavailable", {"unit": "gn-bt-chambly"}) == 0.0

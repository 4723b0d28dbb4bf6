"""Reference data change routing on the fly: a site update on ref.sites.v1, no restart."""

from __future__ import annotations

import time

import pytest

from tests.factories import partner_event, record_for
from tests.integration.kafka_tools import consume, produce, run
from vigie.contracts import topics
from vigie.contracts.codec import decode
from vigie.contracts.models import Acknowledgement, SiteRecord
from vigie.kafka.publish import publish_reference
from vigie.reference.sites import load_sample_sites
from vigie.settings import Settings

pytestmark = pytest.mark.integration


def _site(partner: str, like: str) -> SiteRecord:
    """A site of the test partner at the place of a sample site in the commune ``like``."""
    model = next(s for s in load_sample_sites() if s.insee_code == like)
    return model.model_copy(update={"site_id": f"{partner}-0001", "partner_id": partner})


def _routed_units(settings: Settings, partner: str, event_id: str) -> list[str]:
    acks_topic = topics.partner_acks(partner)
    found = run(consume(settings, [acks_topic], until=lambda rs: any(
        decode(r.value, Acknowledgement).event_id == event_id for r in rs), timeout=30, settle=0))
    return next(a.units for r in found if (a := decode(r.value, Acknowledgement)).event_id
                == event_id)


def _route_until(settings: Settings, partner: str, site_id: str, expected: list[str]) -> float:
    """Publish events at the site until one is routed to ``expected``; return the seconds."""
    started = time.monotonic()
    units: list[str] = []
    while time.monotonic() - started < 60:
        event = partner_event(partner, fresh=True, site_id=site_id, location=None)
        run(produce(settings, [record_for(event)]))
        units = _routed_units(settings, partner, event.event_id)
        if units == expected:
            return time.monotonic() - started
    raise AssertionError(f"still routed to {units}, expected {expected}")


def test_site_update_changes_routing_without_restart(  # type: ignore[no-untyped-def]
    start_worker, kafka_settings, partners
) -> None:
    settings, partner = kafka_settings, partners[0]
    worker = start_worker()
    in_creil = _site(partner, "60175")
    run(publish_reference(settings, sites=[in_creil]))
    _route_until(settings, partner, in_creil.site_id, ["pn-csp-creil"])

    # The landlord's building record is corrected: it is in Méru (gendarmerie zone).
    moved = _site(partner, "60395").model_copy(update={"site_id": in_creil.site_id})
    run(publish_reference(settings, sites=[moved]))
    took = _route_until(settings, partner, in_creil.site_id, ["gn-bt-meru"])
    assert took < 10, f"the update took {took:.1f}s to apply"
    assert worker.process is not None and worker.process.poll() is None  # no restart

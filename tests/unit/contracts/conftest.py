"""Shared samples for the contract tests: one valid model per message type."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel

from vigie.contracts.enums import (
    AckStatus,
    Category,
    DecisionStatus,
    Force,
    ForceStatus,
    HotspotTrigger,
    Lane,
    LocateMethod,
    NoticeKind,
    ReporterRole,
    UnitKind,
)
from vigie.contracts.models import (
    Acknowledgement,
    Address,
    CompetenceRecord,
    Coordinates,
    DeadLetter,
    Enrichment,
    KafkaCoordinates,
    Location,
    PartnerEvent,
    PreventionNotice,
    RoutedEvent,
    RoutingDecision,
    SiteRecord,
    StatusUpdate,
    UnitRecord,
)

NOW = datetime(2025, 3, 14, 22, 0, tzinfo=UTC)
EVENT_ID = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"
#: Planted in free text: must never show up in an error detail or an issue message.
SECRET = "Mme DUPONT-SECRET 06 12 34 56 78"

#: Inputs tried by the fuzz tests, per kind; reported in the terminal summary.
FUZZ_COUNTS: Counter[str] = Counter()


def make_event(**changes: object) -> PartnerEvent:
    base = PartnerEvent(
        event_id=EVENT_ID,
        partner_id="oise-habitat",
        sent_at=datetime(2025, 3, 14, 21, 42, 7, 250000, tzinfo=UTC),
        occurred_at=datetime(2025, 3, 14, 21, 35, tzinfo=UTC),
        category=Category.FIRE,
        site_id="OH-12",
        location=Location(
            coordinates=Coordinates(lat=49.4431, lon=2.0833),
            address=Address(street="12 rue de Gascogne", postcode="60000", insee_code="60057"),
        ),
        description=f"Feu de poubelles, témoin {SECRET}",
        source_system="ikos 4.2",
        reporter_role=ReporterRole.CARETAKER,
    )
    return base.model_copy(update=changes) if changes else base


def samples() -> list[BaseModel]:
    site = SiteRecord(
        site_id="OH-12",
        partner_id="oise-habitat",
        residence_name="Argentine",
        street="12 rue de Gascogne",
        postcode="60000",
        commune_name="Beauvais",
        insee_code="60057",
        lat=49.44,
        lon=2.08,
        homes=148,
    )
    source = KafkaCoordinates(topic="partner.oise-habitat.alerts.v1", partition=1, offset=2**40)
    return [
        make_event(),
        site,
        CompetenceRecord(
            insee_code="60057",
            commune_name="Beauvais",
            force=Force.PN,
            unit_id="csp-beauvais",
            service_name="CSP Beauvais",
            postcodes=["60000"],
            effective_from=date(2025, 1, 1),
            version="2025-01",
            provenance="arrêté préfectoral",
        ),
        UnitRecord(unit_id="bta-chaumont", force=Force.GN, kind=UnitKind.BRIGADE, name="BTA"),
        RoutedEvent(
            unit_id="csp-beauvais",
            routed_at=NOW,
            event=make_event(),
            enrichment=Enrichment(site=site, zsp=True),
            decision=RoutingDecision(
                status=DecisionStatus.ROUTED,
                units=["csp-beauvais"],
                force=None,
                lane=Lane.ALERT,
                method=LocateMethod.SITE,
                reference_versions={"competence": "2025-01"},
                explanation="site connu",
            ),
        ),
        Acknowledgement(
            ack_id="c0ffee00-1234-4abc-8def-0123456789ab",
            partner_id="oise-habitat",
            event_id=None,
            status=AckStatus.REJECTED,
            issued_at=NOW,
            reason_code="BAD_MARKER",
            source=source,
        ),
        StatusUpdate(
            event_id=EVENT_ID,
            unit_id="csp-beauvais",
            status=ForceStatus.TRANSFER_REQUESTED,
            at=NOW,
            transfer_to_force=Force.GN,
        ),
        DeadLetter(
            failed_at=NOW,
            stage="gateway",
            reason_code="TRUNCATED",
            reason="body ends before the record does",
            source=source,
            payload=bytes(range(256)),
        ),
        PreventionNotice(
            notice_id="5b0e7c1a-2f41-4c3d-a8e9-7b6d5c4f3e21",
            episode_id="8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f",
            kind=NoticeKind.OPEN,
            trigger=HotspotTrigger.RISE,
            issued_at=NOW,
            partner_id="oise-habitat",
            site_id="OH-12",
            unit_id="pn-csp-beauvais",
            insee_code="60057",
            commune_name="Beauvais",
            residence_name="Résidence Argentine",
            address="12 rue de Gascogne, 60000 Beauvais",
            qpv_name="Argentine",
            zsp=False,
            category_group="DAMAGE",
            categories=["DAMAGE", "GRAFFITI"],
            window_start=NOW,
            window_end=NOW,
            observed=15,
            expected=4.0,
            baseline_days=182,
            p_value=1.99e-5,
            thresholds_version="prevention-oise-2026-11-29",
            explanation="Hausse inhabituelle.",
        ),
    ]


@pytest.fixture
def event() -> PartnerEvent:
    return make_event()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FUZZ_COUNTS:
        total = sum(FUZZ_COUNTS.values())
        parts = ", ".join(f"{k}={v}" for k, v in sorted(FUZZ_COUNTS.items()))
        terminalreporter.write_line(f"contracts fuzz: {total} inputs tried ({parts})")

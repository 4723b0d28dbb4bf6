"""The three stages on the default reference data, with a clock the tests can move."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.stages import NOW
from vigie.pipeline.escalation import EscalationProcessor
from vigie.pipeline.intake import IntakeProcessor
from vigie.pipeline.status import StatusProcessor
from vigie.reference.snapshot import ReferenceStore
from vigie.settings import Settings


@pytest.fixture(scope="module")
def store() -> ReferenceStore:
    return ReferenceStore.with_defaults()


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def stages(store: ReferenceStore, clock: list[datetime]
           ) -> tuple[IntakeProcessor, StatusProcessor, EscalationProcessor]:
    """(intake, status relay, escalation), alerts due for escalation after 60 s."""
    settings = Settings(alert_takeover_delay_seconds=60)
    now = lambda: clock[0]  # noqa: E731
    return (IntakeProcessor(store, settings, now), StatusProcessor(store, settings, now),
            EscalationProcessor(store, now))

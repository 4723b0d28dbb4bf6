"""The contract tests' fixed event (``tests.factories.partner_event``) and the fuzz tally."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.factories import partner_event
from vigie.contracts.models import PartnerEvent

#: Inputs tried by the fuzz tests, per kind; reported in the terminal summary.
FUZZ_COUNTS: Counter[str] = Counter()


@pytest.fixture
def event() -> PartnerEvent:
    return partner_event()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FUZZ_COUNTS:
        total = sum(FUZZ_COUNTS.values())
        parts = ", ".join(f"{k}={v}" for k, v in sorted(FUZZ_COUNTS.items()))
        terminalreporter.write_line(f"contracts fuzz: {total} inputs tried ({parts})")

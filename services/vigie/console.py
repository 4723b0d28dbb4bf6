"""The live console of ``make run``: what the bus is doing, refreshed in place.

It reads the acknowledgement and unit topics like any partner or force would (from their
end), so what it shows is what really crossed the broker. Never shows partner free text;
what it does show of partners' and units' data (ids, commune and site names, reason codes)
goes through ``vigie.terminal.safe_text``, never as markup.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vigie.contracts import topics
from vigie.contracts.codec import DecodeError, decode
from vigie.contracts.enums import AckStatus, MessageType
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.kafka import clients
from vigie.settings import Settings
from vigie.terminal import safe_text


@dataclass
class BusView:
    acks: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    routed_by_unit: Counter[str] = field(default_factory=Counter)
    routed_by_force: Counter[str] = field(default_factory=Counter)
    alerts_routed: int = 0
    escalations: int = 0
    dead_letters: int = 0
    #: Events the routing rules sent away from their competent unit, by rule (first
    #: routings and escalations; follow-ups repeat their original's rule and are not counted).
    diversions: Counter[str] = field(default_factory=Counter)
    recent: deque[tuple[str, ...]] = field(default_factory=lambda: deque(maxlen=12))

    def on_ack(self, ack: Acknowledgement) -> None:
        self.acks[ack.status.value] += 1
        if ack.status is AckStatus.REJECTED:
            self.rejected[ack.reason_code or "?"] += 1
        if ack.status is AckStatus.ESCALATED:
            self.escalations += 1

    def on_routed(self, routed: RoutedEvent) -> None:
        decision = routed.decision
        self.routed_by_unit[routed.unit_id] += 1
        self.routed_by_force[decision.force.value if decision.force else "triage"] += 1
        if decision.lane.value == "ALERT":
            self.alerts_routed += 1
        rule = decision.routing_rule
        if rule and routed.event.message_type is MessageType.NEW:
            self.diversions[rule] += 1
        commune = routed.enrichment.commune.name if routed.enrichment.commune else "?"
        self.recent.appendleft((
            routed.routed_at.astimezone().strftime("%H:%M:%S"),
            routed.event.partner_id,
            routed.event.category.value,
            commune,
            routed.unit_id,
            decision.lane.value,
            decision.method.value,
            f"{rule} ← {decision.competent_unit_id}" if rule else "",
        ))

    def render(self, metrics_url: str) -> Group:
        recent = Table(title="Derniers événements routés", expand=True)
        for column in ("heure", "bailleur", "catégorie", "commune", "unité", "voie", "méthode",
                       "règle"):
            recent.add_column(column)
        for row in self.recent:
            style = "bold red" if row[5] == "ALERT" else None
            recent.add_row(*(safe_text(cell) for cell in row), style=style)
        totals = Table.grid(padding=(0, 3))
        totals.add_row(
            f"acquittements: {sum(self.acks.values())}", _counts(sorted(self.acks.items()))
        )
        totals.add_row("par force", _counts(self.routed_by_force.items()))
        totals.add_row("par unité", _counts(self.routed_by_unit.most_common(8)))
        totals.add_row("rejets", _counts(self.rejected.items()) if self.rejected else "-")
        totals.add_row("déroutements (règle)",
                       _counts(sorted(self.diversions.items())) if self.diversions else "-")
        totals.add_row("alertes routées", f"{self.alerts_routed}   escalades: {self.escalations}")
        totals.add_row("métriques", safe_text(metrics_url))
        return Group(Panel(totals, title="Vigie — bus en direct"), recent)


def _counts(items: Iterable[tuple[str, int]]) -> Text:
    """``key=count`` pairs; the keys (unit ids, reason codes) come off the topics."""
    return Text("  ").join(Text.assemble(safe_text(k), f"={v}") for k, v in items)


async def watch(
    settings: Settings,
    unit_ids: list[str],
    metrics_url: str,
    stop: asyncio.Event,
) -> BusView:
    """Until ``stop``: the partners' (``settings.partners``) acks and the units' routed
    events as they arrive, as ``settings``' login (one that may read them all)."""
    view = BusView()
    names = [topics.partner_acks(p) for p in settings.partners]
    names += [topics.unit_incidents(u) for u in unit_ids]
    names += [topics.unit_alerts(u) for u in unit_ids]
    consumer = clients.consumer(settings, *names, group_id=None, auto_offset_reset="latest",
                                isolation_level="read_committed")
    await consumer.start()
    try:
        with Live(view.render(metrics_url), refresh_per_second=4, transient=False) as live:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=250)
                for tp, records in batch.items():
                    for record in records:
                        with contextlib.suppress(DecodeError):
                            if tp.topic.endswith(".acks.v1"):
                                view.on_ack(decode(record.value or b"", Acknowledgement))
                            else:
                                view.on_routed(decode(record.value or b"", RoutedEvent))
                live.update(view.render(metrics_url))
    finally:
        await consumer.stop()
    return view

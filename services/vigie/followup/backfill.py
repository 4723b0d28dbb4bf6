"""``vigie simulate --history`` and ``vigie run``: a past for an empty follow-up store.

The history itself is made by ``vigie.simulation.history`` (pure); this adapter writes it to
the store, publishes the sample sites it speaks of, and runs the daily hotspot passes over
it so that their notices reach the landlords' and the units' topics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigie.settings import Settings
from vigie.simulation.history import History, generate


async def backfill(settings: Settings, url: str, weeks: int, *, seed: int = 26,
                   end: datetime | None = None) -> History:
    """Write the history of the sample sites to the store, then run the daily hotspot passes
    over it (publishing their notices). Facts are keyed like the sink's: a second backfill
    with the same seed and end changes nothing."""
    from vigie.followup.prevention import LOCAL_TIME, run_passes
    from vigie.followup.store import Batch, FollowUpStore
    from vigie.kafka.publish import publish_reference
    from vigie.reference.prevention import default_thresholds
    from vigie.reference.sites import load_sample_sites
    from vigie.reference.snapshot import ReferenceStore

    sites = load_sample_sites()
    await publish_reference(settings, sites=sites)
    ref = ReferenceStore.with_sample_sites().snapshot()
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    history = generate(sites, ref, end=end, weeks=weeks, seed=seed)
    store = await FollowUpStore.connect(url, "history")
    try:
        await store.write(Batch(routed=history.routed, acks=history.acks))
    finally:
        await store.close()
    first = (end - timedelta(weeks=weeks)).astimezone(LOCAL_TIME).date()
    last = (end - timedelta(days=1)).astimezone(LOCAL_TIME).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    await run_passes(settings, url, days, default_thresholds(), ref)
    return history

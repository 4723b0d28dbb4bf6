"""The joint follow-up (the convention's "outils de suivi"): durable facts per event.

``facts`` turns what Vigie published into rows (pure); ``store`` writes them to PostgreSQL
with the consumed offsets in one transaction; ``sink`` is the consumer that feeds it.
"""

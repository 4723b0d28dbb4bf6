"""Chaos harness: the delivery guarantee checked under worker crashes, a broker restart,
rebalances and poison messages (``tests/chaos/harness.py``; ``make chaos``)."""

"""Per-partner rate limits: a token bucket per partner, in each replica's memory.

Stateless on purpose (no shared counter to reach on every request): with N replicas behind
a balancer a partner gets at most N times its rate, which docs/gateway.md says; the limit is
there to keep one partner's runaway loop from starving the others, not to bill.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, partner_id: str, rate: float, burst: int) -> float:
        """0 if the request may go now (a token is spent); else seconds until one is back."""
        now = self._clock()
        bucket = self._buckets.get(partner_id)
        if bucket is None:
            bucket = self._buckets[partner_id] = _Bucket(float(burst), now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """The ``Retry-After`` header value: whole seconds, at least one."""
        return str(max(1, math.ceil(wait)))

"""The per-partner token bucket."""

from __future__ import annotations

from vigie.gateway.limits import RateLimiter


def test_a_bucket_per_partner_refilled_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.take("a", 2.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a", 2.0, 3)
    assert wait == 0.5  # one token every half second
    assert limiter.take("b", 2.0, 3) == 0.0  # b has its own bucket
    now[0] = 0.5
    assert limiter.take("a", 2.0, 3) == 0.0
    assert limiter.take("a", 2.0, 3) > 0
    now[0] = 100.0  # refilled, but never above the burst
    assert [limiter.take("a", 2.0, 3) for _ in range(4)][-1] > 0
    assert RateLimiter.retry_after(0.01) == "1"
    assert RateLimiter.retry_after(2.2) == "3"

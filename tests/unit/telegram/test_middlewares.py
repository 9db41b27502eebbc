"""The per-person token bucket of the throttling middleware."""

from __future__ import annotations

from alertbot.telegram.middlewares import TokenBuckets


def test_token_bucket() -> None:
    buckets = TokenBuckets(rate=0.0001, burst=3)
    assert [buckets.take(1) for _ in range(5)] == [True, True, True, False, False]
    assert buckets.take(2) is True

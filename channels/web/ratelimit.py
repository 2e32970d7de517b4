"""Per-client request budgets (token buckets), kept in memory per instance.

A bucket holds `per_minute` requests and refills evenly: a burst of `per_minute`, then one
request every 60/per_minute seconds. Unlike fixed one-minute windows it never lets twice the
budget through across a window boundary, and Retry-After says when the next one fits.
"""

from __future__ import annotations

import math
import time

MAX_KEYS = 10_000


class RateLimiter:
    def __init__(self, per_minute: int):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def allow(self, key: str, now: float | None = None) -> tuple[bool, int]:
        """(allowed, seconds until the next request would be allowed)."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._remember(key, tokens - 1.0, now)
            return True, 0
        self._remember(key, tokens, now)
        return False, max(1, math.ceil((1.0 - tokens) / self.rate))

    def _remember(self, key: str, tokens: float, now: float) -> None:
        if len(self._buckets) >= MAX_KEYS and key not in self._buckets:
            # Forget clients whose bucket has refilled: they start full again anyway.
            full_after = self.capacity / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._buckets[key] = (tokens, now)

"""Per-client request budgets (token buckets), kept in memory per instance.

A bucket holds `per_minute` requests and refills evenly: a burst of `per_minute`, then one
request every 60/per_minute seconds. Unlike fixed one-minute windows it never lets two
bursts through back to back across a window boundary, and Retry-After says when the next
request fits.
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
        # Re-inserted on every use, so the dict's order is least recently seen first: past
        # MAX_KEYS the client idle longest is forgotten (it would have refilled the soonest).
        self._buckets.pop(key, None)
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_KEYS:
            del self._buckets[next(iter(self._buckets))]

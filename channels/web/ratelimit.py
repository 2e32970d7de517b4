"""Per-client request budget (fixed one-minute windows), kept in memory per instance."""

from __future__ import annotations

import time


class RateLimiter:
    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._windows: dict[str, tuple[int, int]] = {}

    def allow(self, key: str, now: float | None = None) -> tuple[bool, int]:
        """(allowed, seconds until the window resets)."""
        now = time.monotonic() if now is None else now
        window = int(now // 60)
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            start, count = window, 0
        if len(self._windows) > 10_000:  # forget idle clients
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        retry_after = 60 - int(now % 60)
        if count >= self.per_minute:
            self._windows[key] = (start, count)
            return False, retry_after
        self._windows[key] = (start, count + 1)
        return True, retry_after

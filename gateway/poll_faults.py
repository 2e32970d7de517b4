"""A poller's run of failures (the X search, Telegram's getUpdates): jittered exponential
backoff, the channel's health, and the ingestion log told once per new fault and once on
recovery, not once per retry."""

from __future__ import annotations

import logging
import random

from gateway import events
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

OUTAGE_AFTER = 3  # one 5xx is weather, three in a row is an outage


class PollFaults:
    def __init__(self, rt: Runtime, channel: str, base_s: float, max_s: float):
        self.rt = rt
        self.channel = channel
        self.base_s = base_s
        self.max_s = max_s
        self.failures = 0
        self._last: tuple[str, int | None] | None = None

    def failed(self) -> float:
        """Count one more failure; the jittered backoff it earns (half to all of the
        doubling delay, so many gateways do not retry in step)."""
        self.failures += 1
        ceiling = min(self.max_s, self.base_s * 2 ** min(self.failures - 1, 30))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    @property
    def outage(self) -> bool:
        return self.failures >= OUTAGE_AFTER

    async def report(
        self, kind: str, detail: str, status: int | None, delay: float, message: str, ok: bool
    ) -> float:
        """Log, set health (`message` is what operators read) and record a new fault;
        `delay` comes back for the caller to sleep."""
        log.warning(
            f"{self.channel} poll failed",
            extra={"fault": kind, "status": status, "retry_in_s": round(delay, 1)},
        )
        self.rt.health.set(self.channel, ok, message)
        if self._last != (kind, status):
            self._last = (kind, status)
            await events.record_channel_event(
                self.rt.store,
                self.channel,
                kind,
                detail,
                {"status": status, "retry_in_s": round(delay, 1)},
            )
        return delay

    async def succeeded(self, message: str) -> None:
        if self._last is not None:
            await events.record_channel_event(
                self.rt.store, self.channel, "recovered", f"after {self.failures} failures"
            )
        self.failures = 0
        self._last = None
        self.rt.health.set(self.channel, True, message)

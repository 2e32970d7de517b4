"""What every LAPOR adapter offers the outbox, and the errors it may raise.

The outbox only needs to know whether a failure is worth retrying (and when), so every
adapter turns its transport's failures into `RetryableError` or `PermanentError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class LaporError(Exception):
    """A send or status call did not succeed."""


class RetryableError(LaporError):
    """Worth trying again: 5xx, 408/429, timeouts, refused connections, unreadable answers."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(LaporError):
    """Trying again will not help (4xx other than 408/429): an operator must look."""


@dataclass(frozen=True, slots=True)
class ReportIdentity:
    """The reporter as LAPOR sees it; absent for anonymous complaints."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    twitter: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """One complaint as it leaves for LAPOR. Built by gateway.lapor.report."""

    complaint_id: str
    tracking_ref: str
    region_code: str
    institution_id: str
    channel: str
    category: str
    subject: str
    text: str
    received_at: str  # ISO 8601, UTC
    anonymous: bool
    confidential: bool
    reporter: ReportIdentity | None
    attachments: tuple[str, ...] = ()  # file names only; files stay with us
    location: dict[str, Any] | None = None  # {"lat", "long", "address"} where the channel gave it


class LaporClient(Protocol):
    """One adapter per `[lapor] mode`: sandbox, http, xml."""

    @property
    def supports_status(self) -> bool: ...

    async def send(self, report: Report, idempotency_key: str) -> str:
        """File the report; return LAPOR's tracking id. Same key -> same tracking id."""
        ...

    async def status(self, tracking_id: str) -> str:
        """LAPOR's current status of a report (only where supports_status)."""
        ...

    async def close(self) -> None: ...


def error_for_status(status: int, body: str, retry_after: str | None) -> LaporError:
    """Classify a non-2xx answer: 408, 429 and 5xx are retried, other 4xx are not."""
    summary = f"HTTP {status}: {snippet(body)}"
    if status in (408, 429) or status >= 500:
        return RetryableError(summary, parse_retry_after(retry_after))
    return PermanentError(summary)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def snippet(body: str, limit: int = 120) -> str:
    """A short, single-line excerpt of an answer for event reasons (never the request)."""
    # Answers may hold NUL and other control bytes, which PostgreSQL text refuses.
    flat = "".join(c if c.isprintable() else "?" for c in " ".join(body.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

"""The data that crosses the normalizer boundary. Pure values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    SMS = "sms"
    TWITTER = "twitter"
    EMAIL = "email"
    WEB = "web"
    API = "api"
    OPEN311 = "open311"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"


class Category(StrEnum):
    PENGADUAN = "pengaduan"
    ASPIRASI = "aspirasi"
    PERMINTAAN_INFORMASI = "permintaan_informasi"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a message. `path` is relative to the data dir once stored."""

    filename: str
    content_type: str
    size: int
    path: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Reporter:
    name: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None
    twitter_handle: str | None = None
    twitter_id: str | None = None

    @property
    def is_empty(self) -> bool:
        return not any((self.name, self.phone, self.email, self.twitter_handle, self.twitter_id))


@dataclass(frozen=True, slots=True)
class Location:
    """Where the problem is, as the channel gave it: coordinates, an address, or both."""

    lat: float | None = None
    long: float | None = None
    address: str | None = None  # a street address or the place's name as the citizen sent it


@dataclass(frozen=True, slots=True)
class RawMessage:
    """What a channel hands to intake: the outside world, before any interpretation.

    `external_id` is the source's own id and the idempotency key (design §3).
    """

    channel: Channel
    external_id: str
    sender: str
    recipient: str
    text: str
    received_at: datetime
    attachments: tuple[Attachment, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    region_hint: str | None = None
    sender_name: str | None = None
    subject: str | None = None
    category_hint: Category | None = None
    anonymous: bool = False
    confidential: bool = False
    # Channels that receive a structured identity (web form, JSON API) pass it here;
    # the normalizer still cleans it (phone to E.164, e-mail lower-cased).
    reporter: Reporter | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class RegionRules:
    """The routing part of a region's config, as the normalizer needs it."""

    code: str
    name: str
    sms_keywords: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    email_addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Limits:
    max_text_chars: int = 10_000
    min_text_chars: int = 3
    subject_chars: int = 80


@dataclass(frozen=True, slots=True)
class Normalized:
    """A message that became a complaint candidate for one region."""

    region_code: str
    text: str
    subject: str
    category: Category
    reporter: Reporter
    anonymous: bool
    confidential: bool
    notes: tuple[str, ...] = ()  # e.g. "second hashtag #aduanpadang ignored"


class RejectReason(StrEnum):
    UNROUTED = "unrouted"  # no region matched: stored, an operator may assign one
    EMPTY_TEXT = "empty_text"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    WRONG_RECIPIENT = "wrong_recipient"
    UNKNOWN_REGION = "unknown_region"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that is stored and shown to operators, but is not a complaint (yet)."""

    reason: RejectReason
    detail: str
    text: str = ""
    reporter: Reporter = field(default_factory=Reporter)
    region_code: str | None = None  # known for e.g. "AGAM" with empty text

    @property
    def unrouted(self) -> bool:
        return self.reason is RejectReason.UNROUTED

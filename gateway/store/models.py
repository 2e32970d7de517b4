"""Tables. One schema for SQLite and PostgreSQL; every timestamp is stored as UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on both databases (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class Region(Base):
    """Regions come from config; the row holds the tracking-number counter."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(5))
    next_seq: Mapped[int] = mapped_column(Integer, default=1)


class InboundMessage(Base):
    """Every message that reached intake, whatever became of it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_inbound_channel_ext"),
        Index("ix_inbound_messages_ingested_at", "ingested_at"),  # 0002
        # 0010: a citizen's last message on a channel (WhatsApp's 24-hour reply window)
        Index("ix_inbound_channel_sender", "channel", "sender", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16), index=True)  # accepted|unrouted|rejected
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(8))
    complaint_id: Mapped[str | None] = mapped_column(String(36))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    location: Mapped[dict[str, Any] | None]  # normalizer.types.Location as JSON
    # An unrouted/rejected message an operator dealt with (made a complaint, or dismissed
    # with a reason): it leaves the console's inbox and keeps its history.
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(64))
    dismiss_reason: Mapped[str | None] = mapped_column(Text)


class Reporter(Base):
    """Identity is kept apart from the complaint so it can be withheld (anonim) or masked."""

    __tablename__ = "reporters"
    # 0011: the possible-duplicate check reads one identity's newest rows, walking
    # (field, id) backwards; a lone (field) index made PostgreSQL sort its whole history.
    __table_args__ = (
        Index("ix_reporters_phone_id", "phone", "id"),
        Index("ix_reporters_email_id", "email", "id"),
        Index("ix_reporters_twitter_id_id", "twitter_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    twitter_handle: Mapped[str | None] = mapped_column(String(64))
    twitter_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        # 0002: the possible-duplicate check and the console's lists at scale
        Index("ix_complaints_reporter_id", "reporter_id"),
        Index("ix_complaints_created_at", "created_at"),
        Index("ix_complaints_region_created", "region_code", "created_at"),
        # The console's lists: newest first, keyset-paged, per region and status.
        Index("ix_complaints_received", "received_at", "id"),
        Index("ix_complaints_region_received", "region_code", "received_at", "id"),
        Index("ix_complaints_status_received", "status", "received_at", "id"),
        Index("ix_complaints_lapor_tracking_id", "lapor_tracking_id"),
        Index("ix_complaints_possible_duplicate_of", "possible_duplicate_of"),
        # 0012: both halves of "overdue" as index ranges, per region and for all. Free text
        # has a trigram index there too (SQLite: the FTS5 table complaints_fts; PostgreSQL:
        # pg_trgm), outside this model.
        Index("ix_complaints_status_forwarded", "status", "forwarded_at"),
        Index("ix_complaints_region_status_received", "region_code", "status", "received_at", "id"),
        Index("ix_complaints_region_status_forwarded", "region_code", "status", "forwarded_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tracking_ref: Mapped[str] = mapped_column(String(20), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    category: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    location: Mapped[dict[str, Any] | None]  # normalizer.types.Location as JSON
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # pending_review | queued | forwarded | failed | rejected_by_operator | closed
    status: Mapped[str] = mapped_column(String(32), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    lapor_tracking_id: Mapped[str | None] = mapped_column(String(64))
    lapor_status: Mapped[str | None] = mapped_column(String(64))
    possible_duplicate_of: Mapped[str | None] = mapped_column(String(36))
    notes: Mapped[list[Any]] = mapped_column(default=list)
    # First successful forward to LAPOR: the follow-up SLA counts from here.
    forwarded_at: Mapped[datetime | None]
    # Why LAPOR refused this report's status (e.g. its tracking id is unknown there); set by
    # status sync, cleared by the next good answer or an operator's close / re-send.
    lapor_sync_error: Mapped[str | None] = mapped_column(Text)


class OutboxItem(Base):
    """Work that leaves the gateway: forwards to LAPOR and replies to citizens."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # forward | reply
    complaint_id: Mapped[str | None] = mapped_column(String(36), index=True)
    inbound_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(16))  # reply: channel to send through
    recipient: Mapped[str | None] = mapped_column(String(320))  # reply: where to
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # pending | sending | done | dead | unsendable
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Event(Base):
    """The ingestion log: append-only, read by `log --follow` and the console."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_region_id", "region_code", "id"),  # 0002
        # A complaint's timeline on its detail page.
        Index("ix_events_complaint", "complaint_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # inbound | forward | reply | review | channel | status (LAPOR status changes)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    complaint_id: Mapped[str | None] = mapped_column(String(36))
    region_code: Mapped[str | None] = mapped_column(String(8))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Cursor(Base):
    """Poller positions (twitter since_id per query, IMAP UIDVALIDITY/UID, ...) and
    once-only markers (replies:no_reply_channel:<channel>)."""

    __tablename__ = "cursors"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SmsPart(Base):
    """One part of a concatenated SMS, kept until its set is complete or times out."""

    __tablename__ = "sms_parts"
    __table_args__ = (
        UniqueConstraint("group_key", "seq", name="uq_sms_parts_group_seq"),
        Index("ix_sms_parts_first_seen", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # sender|bits:ref|total#generation: a reused reference starts a new group.
    group_key: Mapped[str] = mapped_column(String(255), index=True)
    # sha256 of the part's TPDU: a network retransmission (byte-identical) is absorbed.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    sender: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    concat_ref: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    smsc_timestamp: Mapped[datetime]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set in the intake transaction of the assembled message; kept until the sweeper purges
    # it, so that a late retransmission of a part is recognised instead of starting a set.
    completed_at: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | operator
    region_code: Mapped[str | None] = mapped_column(String(8))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    display_name: Mapped[str | None] = mapped_column(String(100))  # 0013
    # TOTP second factor (0013): the secret sealed with a key the database does not hold
    # (see ops/totp.py); enabled only once a code confirmed it; the last time step used,
    # so a code is accepted once.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)


class OperatorSession(Base):
    """A console sign-in. The cookie holds a random token, the row its sha256: deleting
    the row (logout, password change, disable, role or region change) ends it at once."""

    __tablename__ = "operator_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class LoginFailure(Base):
    """Failed console sign-ins per account (`n:<name>`) and per client address (`a:<ip>`),
    shared by every instance of the gateway (0015). Rows are forgotten after an hour."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    locked_until: Mapped[datetime | None]


class ComplaintNote(Base):
    """An operator's internal note on a complaint: never sent to LAPOR or the citizen."""

    __tablename__ = "complaint_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Open311Request(Base):
    """What an Open311 POST carried beyond the complaint text: service, location, media link,
    attributes, and the token that resolves to the complaint once there is one. Written in
    the intake transaction of its inbound message; the reporter's identity is not kept here."""

    __tablename__ = "open311_requests"
    __table_args__ = (
        Index("ix_open311_requests_device", "client", "device_id", "description_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    client: Mapped[str] = mapped_column(String(255))
    region_code: Mapped[str] = mapped_column(String(8))
    service_code: Mapped[str] = mapped_column(String(64))
    # device_id + the digest of the folded description: a resend within the duplicate window.
    device_id: Mapped[str | None] = mapped_column(String(255))
    description_digest: Mapped[str] = mapped_column(String(64))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    address_string: Mapped[str | None] = mapped_column(Text)
    address_id: Mapped[str | None] = mapped_column(String(255))
    media_url: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PurgeLog(Base):
    """What `lapor-gateway purge` removed (UU PDP retention): written in the same
    transaction as the batch it describes. Tracking numbers only, no personal data."""

    __tablename__ = "purge_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    cutoff: Mapped[datetime]
    older_than_days: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tracking_refs: Mapped[list[Any]] = mapped_column(default=list)


class ReplyStatus(Base):
    """What a channel's provider later said about a reply we sent (WhatsApp: sent,
    delivered, read, failed), by the id the provider gave the reply (outbox result
    `external_id`). The same status reported twice is kept once; no personal data."""

    __tablename__ = "reply_statuses"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", "status", name="uq_reply_statuses_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    status_at: Mapped[datetime]  # the provider's time of the status
    errors: Mapped[list[Any]] = mapped_column(default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

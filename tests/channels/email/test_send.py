"""E-mail replies through a relay: a real SMTP server (aiosmtpd) on a real port catches them.

The reply rows come from the real intake hook (gateway.replies) after a real delivery to
our listener, so the sender sees exactly what the outbox hands it.
"""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from channels.email.send import EmailSender
from channels.email.smtp_listener import SmtpListener
from gateway.replies import intake_hook
from gateway.runtime import Reply, Runtime
from gateway.store.models import Complaint, OutboxItem
from tests.channels.email.conftest import fixture_bytes
from tests.channels.email.test_smtp import AGAM, send
from tests.support import free_port


class Relay:
    """An SMTP relay that keeps what it gets, or refuses recipients with a given code."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[Envelope, EmailMessage]] = []
        self.rcpt_reply = "250 OK"
        self.server: asyncio.Server | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((envelope, message))  # type: ignore[arg-type]
        return "250 2.0.0 queued"


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    relay = Relay()
    loop = asyncio.get_running_loop()
    relay.server = await loop.create_server(lambda: SMTP(relay), "127.0.0.1", relay.port)
    yield relay
    relay.server.close()
    await relay.server.wait_closed()


@pytest.fixture
def email_sections(relay: Relay) -> str:
    return f"""
[channels.email.relay]
enabled = true
host = "127.0.0.1"
port = {relay.port}
from_address = "noreply@lapor.agamkab.go.id"
timeout_s = 5
"""


@pytest.fixture
def runtime_with_replies(runtime: Runtime) -> Runtime:
    runtime.intake.hooks.append(intake_hook(runtime.settings))
    return runtime


async def queued_replies(rt: Runtime) -> list[Reply]:
    """The reply rows, as the outbox worker turns them into Replies."""
    async with rt.store.reader() as s:
        rows = (await s.scalars(select(OutboxItem).where(OutboxItem.kind == "reply"))).all()
    return [
        Reply(
            channel=row.channel or "",
            recipient=row.recipient or "",
            text=row.payload["text"],
            complaint_id=row.complaint_id,
            in_reply_to=row.payload.get("in_reply_to"),
            idempotency_key=row.idempotency_key,
            meta=dict(row.payload.get("meta") or {}),
        )
        for row in rows
    ]


async def test_receipt_threads_under_the_citizens_mail(
    runtime_with_replies: Runtime, listener: SmtpListener, relay: Relay
) -> None:
    rt = runtime_with_replies
    await send(listener, fixture_bytes("gmail_reply_qp.eml"), [AGAM])
    [reply] = await queued_replies(rt)
    result = await EmailSender(rt)(reply)
    assert result.ok
    [(envelope, message)] = relay.received
    assert envelope.rcpt_tos == ["budi.santoso.agam@gmail.com"]
    assert message["In-Reply-To"] == "<CAHk8rT0w+V3ZP1hq6c5Lq0@mail.gmail.com>"
    assert message["References"].split() == [
        "<CAF3xYj8q2_mHkz7d+AgN0Wq@mail.gmail.com>",
        "<CAHk8rT0w+V3ZP1hq6c5Lq0@mail.gmail.com>",
    ]
    assert message["Subject"] == "Re: Jalan rusak di Lubuk Basung 🚧"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Reply-To"] == AGAM
    assert "Kabupaten Agam" in str(message["From"])
    body = message.get_content()
    assert "AGM-000001" in body and "Terima kasih" in body
    assert "dikirim otomatis" in body
    # A resend (crash before the outbox marked it done) carries the same Message-ID.
    await EmailSender(rt)(reply)
    assert relay.received[1][1]["Message-ID"] == message["Message-ID"] == result.external_id


async def test_mailing_list_mail_is_never_answered(
    runtime_with_replies: Runtime, listener: SmtpListener, relay: Relay
) -> None:
    rt = runtime_with_replies
    await send(listener, fixture_bytes("mailing_list.eml"), [AGAM])
    assert await queued_replies(rt) == []  # intake queues no receipt for it
    # The sender's own guard refuses a reply that some other path might queue.
    async with rt.store.reader() as s:
        complaint = await s.scalar(select(Complaint))
    reply = Reply(
        channel="email",
        recipient="list@example.org",
        text="Aduan diterima",
        complaint_id=complaint.id,
        in_reply_to=complaint.external_id,
        idempotency_key="reply:test",
    )
    result = await EmailSender(rt)(reply)
    assert (result.ok, result.retry) == (False, False)
    assert relay.received == []


@pytest.mark.parametrize(
    ("code", "retry"), [("550 5.1.1 no such user", False), ("450 4.2.0 busy", True)]
)
async def test_relay_refusal_is_permanent_or_temporary_by_its_code(
    runtime_with_replies: Runtime, listener: SmtpListener, relay: Relay, code: str, retry: bool
) -> None:
    rt = runtime_with_replies
    await send(listener, fixture_bytes("yahoo_latin1.eml"), ["lapor@pandeglangkab.go.id"])
    [reply] = await queued_replies(rt)
    relay.rcpt_reply = code
    result = await EmailSender(rt)(reply)
    assert (result.ok, result.retry) == (False, retry)


async def test_relay_down_is_a_retry(runtime: Runtime, relay: Relay) -> None:
    assert relay.server is not None
    relay.server.close()
    await relay.server.wait_closed()
    reply = Reply(
        channel="email", recipient="warga@mail.id", text="Aduan diterima", idempotency_key="k"
    )
    result = await EmailSender(runtime)(reply)
    assert (result.ok, result.retry) == (False, True)


async def test_register_adds_listener_and_sender_from_config(runtime: Runtime) -> None:
    import channels.email

    channels.email.register(runtime)
    assert [type(s).__name__ for s in runtime.services] == ["SmtpListener"]
    assert isinstance(runtime.senders["email"], EmailSender)

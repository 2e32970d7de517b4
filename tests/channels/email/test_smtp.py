"""The SMTP listener on a real port, with aiosmtplib as the sending server, on both stores."""

from __future__ import annotations

import logging
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import delete, func, select

from channels.email.smtp_listener import SmtpListener
from gateway.intake import Intake
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint, Event, InboundMessage, Region, Reporter
from tests.channels.email.conftest import FIXTURES, fixture_bytes

AGAM = "aduan@agamkab.go.id"
SBY = "aduan@surabaya.go.id"
PDG = "lapor@pandeglangkab.go.id"


async def send(
    listener: SmtpListener,
    message: bytes,
    recipients: list[str],
    sender: str = "warga@mail.id",
) -> aiosmtplib.SMTPResponse:
    """Deliver like a sending server; raises unless DATA got a 2xx."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=listener.port, timeout=30) as smtp:
        errors, text = await smtp.sendmail(sender, recipients, message)
        assert not errors
        return aiosmtplib.SMTPResponse(250, text)


async def data_reply(listener: SmtpListener, message: bytes, rcpt: str = AGAM) -> tuple[int, str]:
    """Send and return the server's answer to DATA, whatever it is."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=listener.port, timeout=30) as smtp:
        await smtp.mail("warga@mail.id")
        await smtp.rcpt(rcpt)
        try:
            reply = await smtp.data(message)
        except aiosmtplib.SMTPResponseException as e:
            return e.code, e.message
        return reply.code, reply.message


async def complaints(rt: Runtime) -> list[Complaint]:
    async with rt.store.reader() as s:
        return list((await s.scalars(select(Complaint).order_by(Complaint.created_at))).all())


async def events(rt: Runtime) -> list[Event]:
    async with rt.store.reader() as s:
        return list((await s.scalars(select(Event).order_by(Event.id))).all())


# label, fixture, envelope recipient, expected region, text fragment, subject, reporter
TABLE = [
    (
        "gmail quoted-printable reply, quote trimmed, RFC 2047 subject with emoji",
        "gmail_reply_qp.eml",
        AGAM,
        "AGAM",
        "berlubang sedalam ±30 cm",
        "Jalan rusak di Lubuk Basung 🚧",
        ("Budi Santoso", "budi.santoso.agam@gmail.com"),
    ),
    (
        "outlook html-only windows-1252, signature trimmed",
        "outlook_html_cp1252.eml",
        AGAM,
        "AGAM",
        "rawan “begal” di malam hari",
        "Lampu jalan mati – Jorong Pasar",
        ("Siti Rahmawati", "siti.rahmawati77@outlook.co.id"),
    ),
    (
        "yahoo iso-8859-1, mobile footer trimmed",
        "yahoo_latin1.eml",
        PDG,
        "PDG",
        "Café di sebelah pasar",
        "Sampah menumpuk di pasar Pandeglang",
        ("André Pratama", "andre_pdg@yahoo.co.id"),
    ),
    (
        "english client reply with '-- ' signature",
        "english_reply_sig.eml",
        SBY,
        "SBY",
        "air naik ke rumah warga RT 03",
        "Drainase tersumbat di Jl. Kenjeran",  # the normalizer drops "Re:"
        ("Rina W.", "rina.w@surabaya-net.id"),
    ),
    (
        "raw 8-bit utf-8 and latin-1 bytes in headers",
        "eightbit_headers.eml",
        AGAM,
        "AGAM",
        "retak — tolong diperiksa sebelum ambruk 🙏",
        "Jembatan rusak — tolong 🙏",
        ("Agus Salim", "agus@mail.id"),
    ),
]


@pytest.mark.parametrize(
    ("fixture", "rcpt", "region", "fragment", "subject", "reporter"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
async def test_real_mail_becomes_a_complaint(
    runtime: Runtime,
    listener: SmtpListener,
    fixture: str,
    rcpt: str,
    region: str,
    fragment: str,
    subject: str,
    reporter: tuple[str, str],
) -> None:
    reply = await send(listener, fixture_bytes(fixture), [rcpt])
    assert reply.code == 250
    [complaint] = await complaints(runtime)
    assert complaint.tracking_ref in reply.message
    assert complaint.region_code == region
    assert complaint.channel == "email"
    assert fragment in complaint.text
    # Quotes, signatures and footers never reach the complaint.
    for gone in ("menulis", "wrote:", "AGM-000041", "Warga Jorong Pasar", "Dikirim dari", "RW 05"):
        assert gone not in complaint.text
    assert complaint.subject == subject
    async with runtime.store.reader() as s:
        person = await s.get(Reporter, complaint.reporter_id)
    assert (person.name, person.email) == reporter
    assert complaint.external_id.endswith(f"#{region}")


async def test_attachment_stored_under_data_dir_and_disallowed_type_noted(
    runtime: Runtime, listener: SmtpListener, settings: Settings
) -> None:
    await send(listener, fixture_bytes("photo_attachment.eml"), [AGAM])
    [complaint] = await complaints(runtime)
    [attachment] = complaint.attachments
    assert attachment["content_type"] == "image/png"
    assert attachment["filename"] == "IMG_20240611_lubang.png"  # no path from the sender
    stored = settings.data_dir / attachment["path"]
    assert stored.read_bytes().startswith(b"\x89PNG")
    assert stored.resolve().is_relative_to((settings.data_dir / "attachments").resolve())
    assert attachment["size"] == stored.stat().st_size
    async with runtime.store.reader() as s:
        inbound = await s.scalar(select(InboundMessage))
    assert "attachment skipped: type application/x-msdownload not allowed" in inbound.meta["notes"]


async def test_unknown_recipient_gets_550_and_a_rejected_event(
    runtime: Runtime, listener: SmtpListener
) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=listener.port) as smtp:
        await smtp.mail("warga@mail.id")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await smtp.rcpt("walikota.pribadi@agamkab.go.id")
    assert refused.value.code == 550
    assert refused.value.message.startswith("5.1.1")
    [event] = await events(runtime)
    assert (event.outcome, event.reason) == ("rejected", "unknown_recipient")
    assert event.channel == "email"
    assert "walikota" not in str(event.detail)  # no addresses in the log
    assert await complaints(runtime) == []


async def test_one_bad_recipient_does_not_block_the_good_one(
    runtime: Runtime, listener: SmtpListener
) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=listener.port) as smtp:
        errors, _ = await smtp.sendmail(
            "warga@mail.id", ["salah@agamkab.go.id", AGAM], fixture_bytes("no_from.eml")
        )
    assert errors["salah@agamkab.go.id"].code == 550
    [complaint] = await complaints(runtime)
    assert complaint.region_code == "AGAM"


async def test_mail_to_two_regions_is_one_linked_complaint_per_region(
    runtime: Runtime, listener: SmtpListener
) -> None:
    reply = await send(listener, fixture_bytes("two_regions.eml"), [AGAM, SBY])
    first, second = await complaints(runtime)
    assert reply.code == 250
    assert {first.region_code, second.region_code} == {"AGAM", "SBY"}
    assert first.tracking_ref in reply.message and second.tracking_ref in reply.message
    mid = "<a6f1e3c0-7d51-4d7e-9e43-2f1e6a0b7c11@mail.id>"
    assert {first.external_id, second.external_id} == {f"{mid}#AGAM", f"{mid}#SBY"}
    assert second.possible_duplicate_of == first.id
    assert first.text == second.text


async def test_split_delivery_per_recipient_gives_the_same_two_complaints(
    runtime: Runtime, listener: SmtpListener
) -> None:
    """A sending server may make one transaction per recipient domain, and may retry."""
    message = fixture_bytes("two_regions.eml")
    await send(listener, message, [AGAM])
    await send(listener, message, [SBY])
    await send(listener, message, [AGAM, SBY])  # a retry of the whole thing
    assert sorted(c.region_code for c in await complaints(runtime)) == ["AGAM", "SBY"]


async def test_no_address_or_text_reaches_the_log(
    runtime: Runtime, listener: SmtpListener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the gateway's level: libraries' DEBUG is not logged
    await send(listener, fixture_bytes("gmail_reply_qp.eml"), [AGAM], sender="budi@mail.id")
    assert "budi" not in caplog.text.lower() and "agamkab" not in caplog.text
    assert "berlubang" not in caplog.text


async def test_redelivery_is_acked_again_without_a_second_complaint(
    runtime: Runtime, listener: SmtpListener
) -> None:
    first = await send(listener, fixture_bytes("gmail_reply_qp.eml"), [AGAM])
    again = await send(listener, fixture_bytes("gmail_reply_qp.eml"), [AGAM])
    assert first.code == again.code == 250
    [complaint] = await complaints(runtime)
    assert complaint.tracking_ref in again.message
    assert [e.outcome for e in await events(runtime)] == ["accepted", "duplicate"]


async def test_message_without_message_id_is_keyed_by_its_bytes(
    runtime: Runtime, listener: SmtpListener
) -> None:
    message = fixture_bytes("no_message_id.eml")
    await send(listener, message, [SBY])
    await send(listener, message, [SBY])
    [complaint] = await complaints(runtime)
    assert complaint.external_id.startswith("sha256:")
    assert complaint.external_id.endswith("#SBY")


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [("postfix_bounce.eml", "bounce"), ("out_of_office.eml", "auto_reply")],
)
async def test_bounces_and_auto_replies_are_rejected_events_not_complaints(
    runtime: Runtime, listener: SmtpListener, fixture: str, reason: str
) -> None:
    code, message = await data_reply(listener, fixture_bytes(fixture))
    assert code == 250  # accepted for delivery: the sender must not retry it
    assert reason in message
    [event] = await events(runtime)
    assert (event.outcome, event.reason) == ("rejected", reason)
    assert await complaints(runtime) == []


async def test_null_sender_is_a_bounce(runtime: Runtime, listener: SmtpListener) -> None:
    await send(listener, fixture_bytes("gmail_reply_qp.eml"), [AGAM], sender="")
    assert await complaints(runtime) == []
    assert [e.reason for e in await events(runtime)] == ["bounce"]


async def test_mailing_list_mail_is_ingested_but_marked_no_reply(
    runtime: Runtime, listener: SmtpListener
) -> None:
    await send(listener, fixture_bytes("mailing_list.eml"), [AGAM])
    [complaint] = await complaints(runtime)
    async with runtime.store.reader() as s:
        inbound = await s.get(InboundMessage, complaint.inbound_id)
    assert inbound.meta["no_reply"] is True
    assert inbound.meta["mail_kind"] == "automated"


@pytest.mark.parametrize(
    ("fixture", "outcome"),
    [
        ("malformed_headers.eml", "accepted"),  # garbage headers, unknown charset/encoding
        ("no_from.eml", "accepted"),  # the envelope sender stands in for From
    ],
)
async def test_broken_mail_gets_a_clear_answer(
    runtime: Runtime, listener: SmtpListener, fixture: str, outcome: str
) -> None:
    code, _ = await data_reply(listener, fixture_bytes(fixture))
    assert code == 250
    [event] = await events(runtime)
    assert event.outcome == outcome
    [complaint] = await complaints(runtime)
    assert "Nagari Tiku" in complaint.text or "PDAM" in complaint.text
    async with runtime.store.reader() as s:
        person = await s.get(Reporter, complaint.reporter_id)
    assert person is not None and person.email == "warga@mail.id"


def nested(depth: int) -> bytes:
    head, tail = b"", b""
    for i in range(depth):
        boundary = b"b%d" % i
        head += b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--"
        head += boundary + b"\r\n"
        tail = b"\r\n--" + boundary + b"--\r\n" + tail
    inner = b"Content-Type: text/plain\r\n\r\nJalan longsor di Kelok 44, tolong segera.\r\n"
    headers = b"From: warga@mail.id\r\nSubject: bersarang\r\nMIME-Version: 1.0\r\n"
    return headers + head + inner + tail


async def test_multipart_nested_50_deep_is_parsed(runtime: Runtime, listener: SmtpListener) -> None:
    code, _ = await data_reply(listener, nested(50))
    assert code == 250
    [complaint] = await complaints(runtime)
    assert complaint.text == "Jalan longsor di Kelok 44, tolong segera."


async def test_absurd_nesting_is_rejected_with_a_reason(
    runtime: Runtime, listener: SmtpListener
) -> None:
    code, message = await data_reply(listener, nested(2000))
    assert code == 250 and "too_deeply_nested" in message
    [event] = await events(runtime)
    assert (event.outcome, event.reason) == ("rejected", "too_deeply_nested")


async def test_30_mb_message_gets_552_and_nothing_is_written(
    runtime: Runtime, listener: SmtpListener
) -> None:
    body = (b"x" * 998 + b"\r\n") * (30 * 1024 * 1024 // 1000)
    message = b"From: warga@mail.id\r\nSubject: besar\r\n\r\n" + body
    code, _ = await data_reply(listener, message)
    assert code == 552
    assert await events(runtime) == []
    # The session is still usable afterwards.
    assert (await send(listener, fixture_bytes("no_from.eml"), [AGAM])).code == 250


async def test_every_cpython_test_email_message_ingests_without_a_crash(
    runtime: Runtime, listener: SmtpListener
) -> None:
    files = sorted((FIXTURES / "cpython").glob("msg_*.txt"))
    assert len(files) >= 40
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=listener.port) as smtp:
        for path in files:
            _, reply = await smtp.sendmail("warga@mail.id", [AGAM], path.read_bytes())
            assert reply.startswith("2.0.0"), (path.name, reply)
    async with runtime.store.reader() as s:
        outcomes = dict(
            (await s.execute(select(Event.outcome, func.count()).group_by(Event.outcome))).all()
        )
    assert sum(outcomes.values()) == len(files)
    assert set(outcomes) <= {"accepted", "rejected", "duplicate"}
    assert outcomes["accepted"] > 20


async def test_store_down_answers_451_never_5xx(settings: Settings, tmp_path: Path) -> None:
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:1/none")  # nothing listens on :1
    rt = Runtime(settings=settings, store=dead, intake=Intake(settings, dead))
    service = SmtpListener(rt)
    await service.start()
    try:
        code, message = await data_reply(service, fixture_bytes("gmail_reply_qp.eml"))
    finally:
        await service.stop()
        await dead.close()
    assert (code, message.split()[0]) == (451, "4.3.0")
    assert rt.health.components["email.smtp"].ok is False


async def test_a_fault_in_our_code_answers_451_not_500(settings: Settings, store: Store) -> None:
    """Regions missing from the database make intake raise LookupError (not a store error)."""
    async with store.transaction() as s:
        await s.execute(delete(Region))
    rt = Runtime(settings=settings, store=store, intake=Intake(settings, store))
    service = SmtpListener(rt)
    await service.start()
    try:
        code, message = await data_reply(service, fixture_bytes("gmail_reply_qp.eml"))
    finally:
        await service.stop()
    assert (code, message.split()[0]) == (451, "4.3.0")
    assert await complaints(rt) == []

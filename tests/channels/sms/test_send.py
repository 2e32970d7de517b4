"""Replies by SMS: through the simulated modem, a generic HTTP provider, Twilio's API."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.sms.config import ReplyProviderConfig
from channels.sms.send import SmsSender
from gateway import outbox
from gateway.runtime import Reply, Runtime
from gateway.store.models import OutboxItem, utcnow
from tests.channels.sms.helpers import complaints, eventually, health, running
from tests.channels.sms.modem_simulator import ModemSimulator

CITIZEN = "+6281234567890"
RECEIPT = "Aduan Anda diterima Kabupaten Agam. No. tiket AGM-000001. Terima kasih."


def reply(text: str = RECEIPT, to: str = CITIZEN, key: str = "reply:1") -> Reply:
    return Reply(channel="sms", recipient=to, text=text, idempotency_key=key)


async def test_receipt_reaches_the_citizen_through_the_outbox(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    """Done-when of the issue: "AGAM jalan rusak" in, a receipt with the tracking number out."""
    sim.start()
    outbox.register(runtime)
    async with running(runtime) as rt:
        sim.deliver(CITIZEN, "AGAM jalan rusak")
        [complaint] = await eventually(lambda: complaints(rt.store), what="the complaint")
        [sms] = await eventually(lambda: sim.sent, timeout=15, what="the receipt SMS")
        assert sms.destination == CITIZEN
        assert complaint.tracking_ref in sms.text and len(sms.text) <= 160


async def test_long_unicode_reply_is_split_and_reassembles(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: health(rt) == "ok", what="connected")
        text = "Terima kasih 🙏 " * 12
        result = await rt.senders["sms"](reply(text))
        assert result.ok, result.error
        assert len(sim.sent) == 3
        assert "".join(s.text for s in sim.sent) == text
        assert len({s.concat[0] for s in sim.sent if s.concat}) == 1


async def test_replies_per_number_are_limited(sim: ModemSimulator, runtime: Runtime) -> None:
    async with runtime.store.transaction() as s:
        for i in range(3):  # replies_per_number_per_hour = 3 in the test config
            s.add(
                OutboxItem(
                    kind="reply",
                    channel="sms",
                    recipient=CITIZEN,
                    status="done",
                    idempotency_key=f"earlier:{i}",
                    updated_at=utcnow(),
                )
            )
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: health(rt) == "ok", what="connected")
        limited = await rt.senders["sms"](reply())
        assert not limited.ok and not limited.retry and limited.error.startswith("rate_limited")
        other = await rt.senders["sms"](reply(to="+6285266001122"))
        assert other.ok
        assert [s.destination for s in sim.sent] == ["+6285266001122"]


async def test_modem_away_means_retry_later(runtime: Runtime) -> None:
    async with running(runtime) as rt:  # no simulator: the port is missing
        result = await rt.senders["sms"](reply())
        assert not result.ok and result.retry


@pytest.mark.parametrize("answer", ["+CMS ERROR: 500", "ERROR"])
async def test_a_refused_reply_names_neither_number_nor_text(
    sim: ModemSimulator, runtime: Runtime, answer: str
) -> None:
    """The modem refusing the PDU: the error (kept in the outbox, logged) holds no PDU."""
    sim.submit_failure = answer
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: health(rt) == "ok", what="connected")
        result = await rt.senders["sms"](reply())
        assert not result.ok and result.retry
        assert result.error == "command_error: the modem answered ERROR to the message data"


@pytest.fixture
async def provider() -> AsyncIterator[tuple[TestServer, list[dict[str, Any]]]]:
    """A provider API that records what it gets; the text "gagal" answers 500, "tolak" 400."""
    seen: list[dict[str, Any]] = []

    async def generic(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append({"headers": dict(request.headers), "body": body})
        if body["text"] == "gagal":
            return web.json_response({"error": "down"}, status=500)
        if body["text"] == "tolak":
            return web.json_response({"error": "bad number"}, status=400)
        return web.json_response({"id": "prov-1"}, status=201)

    async def twilio(request: web.Request) -> web.Response:
        form = await request.post()
        seen.append(
            {
                "headers": dict(request.headers),
                "body": dict(form),
                "account": request.match_info["sid"],
            }
        )
        return web.json_response({"sid": "SM0123456789abcdef", "status": "queued"}, status=201)

    app = web.Application()
    app.router.add_post("/send", generic)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", twilio)
    async with TestServer(app) as server:
        yield server, seen


def sender_for(rt: Runtime, reply_cfg: ReplyProviderConfig) -> SmsSender:
    cfg = rt.settings.channels.sms.model_copy(update={"reply": reply_cfg})
    return SmsSender(rt, cfg, None)


async def test_generic_http_provider(runtime: Runtime, provider: Any) -> None:
    server, seen = provider
    sender = sender_for(
        runtime, ReplyProviderConfig(kind="http", url=str(server.make_url("/send")), token="tkn")
    )
    try:
        ok = await sender.send(reply())
        assert ok.ok and ok.external_id == "prov-1"
        assert seen[0]["body"] == {"to": CITIZEN, "from": "1708", "text": RECEIPT, "id": "reply:1"}
        assert seen[0]["headers"]["Authorization"] == "Bearer tkn"
        down = await sender.send(reply("gagal"))
        assert not down.ok and down.retry
        refused = await sender.send(reply("tolak"))
        assert not refused.ok and not refused.retry
    finally:
        await sender.stop()


async def test_twilio_messages_api(runtime: Runtime, provider: Any) -> None:
    server, seen = provider
    sender = sender_for(
        runtime,
        ReplyProviderConfig(
            kind="twilio",
            url=str(server.make_url("")),
            token="auth-token",
            twilio_account_sid="AC123",
            twilio_from="1708",
        ),
    )
    try:
        result = await sender.send(reply())
        assert result.ok and result.external_id == "SM0123456789abcdef"
        [call] = seen
        assert call["account"] == "AC123"
        assert call["body"] == {"To": CITIZEN, "From": "1708", "Body": RECEIPT}
        expected = base64.b64encode(b"AC123:auth-token").decode()
        assert call["headers"]["Authorization"] == f"Basic {expected}"
    finally:
        await sender.stop()

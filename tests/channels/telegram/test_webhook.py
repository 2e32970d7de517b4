"""POST /webhooks/telegram on a real aiohttp server with the real store, files fetched from
the fake Bot API over HTTP: one table of Updates (tests/fixtures/telegram/), then the cases
around it (secret, redelivery, store down, files that cannot be had)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

import channels.telegram
from fakes.bot_api import Fault
from gateway import outbox
from gateway.app import build_http_app
from gateway.intake import Intake
from gateway.ops.stream import row
from gateway.runtime import Runtime
from gateway.store.db import Store
from gateway.store.models import Complaint, Event, InboundMessage, OutboxItem, Reporter
from tests.channels.telegram.conftest import FIXTURES, PDF, PHOTO, SECRET, FakeBot, fixture

HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Row:
    label: str
    fixture: str
    status: int = 200
    outcome: str | None = "accepted"  # inbound outcome; None: nothing reaches intake
    reason: str | None = None  # the inbound's, or the event's when nothing reaches intake
    region: str | None = None
    text: str | None = None  # the complaint text
    reply: str | None = "receipt"  # the reply queued, if any


ROWS = [
    Row(
        "text with keyword",
        "text_keyword",
        region="AGAM",
        text="jalan rusak di depan pasar Lubuk Basung 🚧",
    ),
    Row(
        "/lapor@botname",
        "lapor_command_botname",
        region="AGAM",
        text="lampu jalan mati sejak seminggu",
    ),
    Row(
        "group /lapor",
        "group_message",
        region="AGAM",
        text="sampah menumpuk di pantai Tiku sudah dua minggu",
    ),
    Row(
        "photo caption",
        "photo_sizes",
        region="PDG",
        text="jembatan gantung di Cikeusik putus talinya",
    ),
    Row(
        "document caption",
        "document",
        region="SBY",
        text="pengurusan KTP dipungut biaya, ini suratnya",
    ),
    Row(
        "20 MB video refused, text kept",
        "document_too_big",
        region="AGAM",
        text="banjir setinggi lutut di Nagari Tiku, videonya terlampir",
    ),
    Row(
        "venue", "venue", region="AGAM", text="Pasar Lubuk Basung, Jl. Raya Lubuk Basung, Kab. Agam"
    ),
    Row("no keyword", "no_keyword", outcome="unrouted", reason="unrouted", reply="help"),
    Row("location only", "location", outcome="rejected", reason="empty_text", reply="help"),
    Row("/start", "start", outcome=None, reason="help_command", reply="help"),
    Row("edited message", "edited_message", outcome=None, reason="edited_message", reply=None),
    Row("channel post", "channel_post", outcome=None, reason="channel_post", reply=None),
    Row("sticker", "sticker", outcome=None, reason="sticker", reply=None),
    Row("callback query", "callback_query", outcome=None, reason="callback_query", reply=None),
    Row(
        "truncated JSON",
        "truncated",
        status=400,
        outcome=None,
        reason="malformed_update",
        reply=None,
    ),
]


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    channels.telegram.register(runtime)
    outbox.register(runtime)  # the reply hook (the worker is not started)
    async with TestClient(TestServer(build_http_app(runtime))) as c:
        yield c
    for service in runtime.services:
        await service.stop()


async def post(client: TestClient, body: bytes, secret: str | None = SECRET) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    return await client.post("/webhooks/telegram", data=body, headers=headers)


def body_of(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


async def rows(store: Store, model: Any) -> list[Any]:
    async with store.reader() as s:
        return list((await s.scalars(select(model).order_by(model.id))).all())


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.label)
async def test_update_table(row: Row, client: TestClient, runtime: Runtime) -> None:
    resp = await post(client, body_of(row.fixture))
    assert resp.status == row.status, await resp.text()
    inbound = await rows(runtime.store, InboundMessage)
    if row.outcome is None:
        assert inbound == []
        events = [e for e in await rows(runtime.store, Event) if e.kind == "inbound"]
        assert [(e.channel, e.reason) for e in events] == [("telegram", row.reason)]
    else:
        [stored] = inbound
        assert (stored.outcome, stored.reason) == (row.outcome, row.reason)
        assert stored.channel == "telegram"
    if row.text is not None:
        [complaint] = await rows(runtime.store, Complaint)
        assert (complaint.text, complaint.region_code) == (row.text, row.region)
    replies = [r for r in await rows(runtime.store, OutboxItem) if r.kind == "reply"]
    assert [r.payload["purpose"] for r in replies] == ([row.reply] if row.reply else [])
    if row.reply == "help":
        assert "AGAM/PANDEGLANG/SBY" in replies[0].payload["text"]
        assert "/lapor" in replies[0].payload["text"]


async def test_text_message_fields(client: TestClient, runtime: Runtime) -> None:
    assert (await post(client, body_of("text_keyword"))).status == 200
    [stored] = await rows(runtime.store, InboundMessage)
    assert (stored.external_id, stored.sender, stored.sender_name) == (
        "700100200:42",
        "700100200",
        "Siti Rahmawati",
    )
    assert stored.recipient == "123456789"  # the bot's own id
    assert stored.meta["from_id"] == "700100200" and stored.meta["username"] == "siti_rahma"
    [reporter] = await rows(runtime.store, Reporter)
    assert (reporter.name, reporter.phone) == ("Siti Rahmawati", None)
    [receipt] = [r for r in await rows(runtime.store, OutboxItem) if r.kind == "reply"]
    [complaint] = await rows(runtime.store, Complaint)
    assert receipt.recipient == "700100200" and receipt.payload["in_reply_to"] == "700100200:42"
    assert complaint.tracking_ref in receipt.payload["text"]


async def test_location_goes_into_the_complaint(client: TestClient, runtime: Runtime) -> None:
    for name in ("venue", "location"):
        assert (await post(client, body_of(name))).status == 200
    [complaint] = await rows(runtime.store, Complaint)
    assert complaint.location == {
        "lat": -0.290437,
        "long": 100.005232,
        "address": "AGAM Pasar Lubuk Basung, Jl. Raya Lubuk Basung, Kab. Agam",
    }
    alone = [m for m in await rows(runtime.store, InboundMessage) if m.outcome == "rejected"]
    assert [m.location for m in alone] == [{"lat": -0.290437, "long": 100.005232, "address": None}]


async def test_photo_and_document_are_downloaded_into_attachments(
    client: TestClient, runtime: Runtime
) -> None:
    for name in ("photo_sizes", "document"):
        assert (await post(client, body_of(name))).status == 200
    complaints = await rows(runtime.store, Complaint)
    got = {c.region_code: c.attachments for c in complaints}
    [photo], [pdf] = got["PDG"], got["SBY"]
    assert (photo["content_type"], photo["size"]) == ("image/jpeg", len(PHOTO))
    assert (pdf["filename"], pdf["content_type"]) == ("surat_keterangan.pdf", "application/pdf")
    for item, data in ((photo, PHOTO), (pdf, PDF)):
        path = runtime.settings.data_dir / item["path"]
        assert path.read_bytes() == data
        assert path.stem == hashlib.sha256(data).hexdigest()


async def test_too_big_file_is_not_fetched_and_noted(
    client: TestClient, runtime: Runtime, fake_bot: FakeBot
) -> None:
    assert (await post(client, body_of("document_too_big"))).status == 200
    [stored] = await rows(runtime.store, InboundMessage)
    [note] = stored.meta["notes"]
    assert "20971520 bytes is over the limit" in note
    assert stored.attachments == []
    assert not any(r["method"] == "getFile" for r in fake_bot.api.requests)


async def test_file_bigger_than_it_said_is_cut_off_and_noted(
    client: TestClient, runtime: Runtime, fake_bot: FakeBot
) -> None:
    fake_bot.api.add_file(b"x" * 300_000, file_id="BQAC-unsized", file_path="documents/big.bin")
    update = fixture("document")
    update["message"]["document"] = {"file_id": "BQAC-unsized", "file_unique_id": "AgAD-u"}
    resp = await post(client, _json(update))
    assert resp.status == 200
    [stored] = await rows(runtime.store, InboundMessage)
    assert stored.outcome == "accepted" and stored.attachments == []
    assert "300000 bytes is over the limit of 100000" in stored.meta["notes"][0]
    assert not list((runtime.settings.data_dir / "attachments").glob("*/*"))


async def test_file_the_api_refuses_keeps_the_text(
    client: TestClient, runtime: Runtime, fake_bot: FakeBot
) -> None:
    fake_bot.api.faults.append(Fault(status=502, method="getFile"))
    assert (await post(client, body_of("photo_sizes"))).status == 200
    [complaint] = await rows(runtime.store, Complaint)
    assert complaint.text == "jembatan gantung di Cikeusik putus talinya"
    assert complaint.attachments == []
    [stored] = await rows(runtime.store, InboundMessage)
    assert "photo could not be fetched (server: Bad Gateway)" in stored.meta["notes"][0]


@pytest.mark.parametrize("secret", [None, "", "tebakan", SECRET + "x"])
async def test_wrong_or_missing_secret_is_403_and_logged(
    secret: str | None, client: TestClient, runtime: Runtime
) -> None:
    resp = await post(client, body_of("text_keyword"), secret=secret)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "bad_signature"
    assert await rows(runtime.store, InboundMessage) == []
    [event] = await rows(runtime.store, Event)
    assert (event.channel, event.outcome, event.reason) == ("telegram", "rejected", "bad_signature")


async def test_redelivered_update_is_a_duplicate(client: TestClient, runtime: Runtime) -> None:
    for name in ("text_keyword", "text_keyword", "start", "start", "photo_sizes", "photo_sizes"):
        assert (await post(client, body_of(name))).status == 200
    assert len(await rows(runtime.store, Complaint)) == 2
    outcomes = [(e.outcome, e.external_id) for e in await rows(runtime.store, Event)]
    assert outcomes == [
        ("accepted", "700100200:42"),
        ("duplicate", "700100200:42"),
        ("skipped", "700100200:43"),
        ("duplicate", "700100200:43"),
        ("accepted", "700100201:45"),
        ("duplicate", "700100201:45"),
    ]
    purposes = sorted(
        r.payload["purpose"] for r in await rows(runtime.store, OutboxItem) if r.kind == "reply"
    )
    assert purposes == ["help", "receipt", "receipt"]


async def test_store_down_answers_503_and_the_redelivery_is_stored(
    runtime: Runtime, client: TestClient, fake_bot: FakeBot
) -> None:
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    rt = Runtime(settings=runtime.settings, store=dead, intake=Intake(runtime.settings, dead))
    channels.telegram.register(rt)
    try:
        async with TestClient(TestServer(build_http_app(rt))) as down:
            for name in ("text_keyword", "photo_sizes", "start", "sticker"):
                resp = await post(down, body_of(name))
                assert resp.status == 503, name
                assert resp.headers["Retry-After"] == "5"
                assert (await resp.json())["error"]["code"] == "store_unavailable"
    finally:
        for service in rt.services:
            await service.stop()
        await dead.close()
    # Telegram delivers it again once we answer: stored once, nothing lost.
    assert (await post(client, body_of("text_keyword"))).status == 200
    [complaint] = await rows(runtime.store, Complaint)
    assert complaint.external_id == "700100200:42"


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'"update"', b'{"message": {"text": "AGAM x"}}', b"\xff\xfe garbage"],
)
async def test_not_an_update_is_400_and_logged(
    body: bytes, client: TestClient, runtime: Runtime
) -> None:
    resp = await post(client, body)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "malformed_update"
    [event] = await rows(runtime.store, Event)
    assert (event.outcome, event.reason) == ("rejected", "malformed_update")


def _json(update: dict[str, Any]) -> bytes:
    return json.dumps(update).encode()


async def test_the_console_log_names_skipped_updates_in_indonesian(
    client: TestClient, runtime: Runtime
) -> None:
    for name in ("edited_message", "start"):
        assert (await post(client, body_of(name))).status == 200
    zone = ZoneInfo(runtime.settings.gateway.timezone)
    shown = [row(e, zone) for e in await rows(runtime.store, Event)]
    assert [(r["channel"], r["outcome_label"], r["reason"]) for r in shown] == [
        ("telegram", "Dilewati", "Pesan yang disunting; aduan aslinya tetap"),
        ("telegram", "Dilewati", "Perintah bantuan; dijawab dengan petunjuk format"),
    ]


async def test_a_refused_token_keeps_the_text_and_marks_the_channel(
    client: TestClient, runtime: Runtime, fake_bot: FakeBot
) -> None:
    assert runtime.health.components["telegram"].ok
    fake_bot.api.token = "987654321:another-bot"
    assert (await post(client, body_of("photo_sizes"))).status == 200
    [complaint] = await rows(runtime.store, Complaint)
    assert complaint.text == "jembatan gantung di Cikeusik putus talinya"
    health = runtime.health.components["telegram"]
    assert not health.ok and "401" in health.detail and "bot_token" in health.detail

"""GET|POST /webhooks/whatsapp on a real socket, with the real store (SQLite and PostgreSQL)
and the fake Graph API serving media; payloads from tests/fixtures/whatsapp."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from fakes.graph_api import FakeGraphApi
from gateway.app import build_http_app, build_runtime
from gateway.runtime import Runtime
from gateway.store.db import Store
from gateway.store.models import Complaint, Event, ReplyStatus
from gateway.store.models import Reporter as ReporterRow
from tests.channels.sms.helpers import complaints, events_of, inbound
from tests.channels.whatsapp.conftest import VERIFY_TOKEN, fixture, post, sign
from tests.support import make_raw

MEDIA = {
    "image.json": ("1122334455667701", b"\xff\xd8\xff\xe0 foto jembatan", "image/jpeg"),
    "document.json": ("1122334455667702", b"%PDF-1.4 surat keluhan", "application/pdf"),
    "audio.json": ("1122334455667703", b"OggS pesan suara", "audio/ogg"),
    "video.json": ("1122334455667704", b"\x00\x00\x00\x18ftypmp42 banjir", "video/mp4"),
}
MB = 1024 * 1024


# -- the verification handshake ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        (
            {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
            200,
        ),
        (
            {"hub.mode": "subscribe", "hub.verify_token": "tebakan", "hub.challenge": "1158201444"},
            403,
        ),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, 403),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, 403),
        ({}, 403),
    ],
    ids=["good", "wrong-token", "wrong-mode", "no-challenge", "nothing"],
)
async def test_handshake(
    gateway: tuple[TestClient, Runtime], query: dict[str, str], status: int
) -> None:
    client, _ = gateway
    resp = await client.get("/webhooks/whatsapp", params=query)
    assert resp.status == status
    if status == 200:
        assert resp.content_type == "text/plain" and await resp.text() == "1158201444"


# -- one message per fixture ---------------------------------------------------------------


@dataclass
class Row:
    fixture: str
    outcome: str | None  # inbound outcome; None: not an inbound message at all
    reason: str | None = None
    region: str | None = None
    text: str | None = None  # the complaint's text


ROWS = [
    Row("text.json", "accepted", None, "AGAM", "jalan rusak di depan SD 05 Lubuk Basung"),
    Row("image.json", "accepted", None, "AGAM", "jembatan Batang Antokan retak, foto terlampir"),
    Row("document.json", "accepted", None, "AGAM", "surat keluhan warga Nagari Tiku"),
    Row("audio.json", "rejected", "empty_text"),
    Row("video.json", "accepted", None, "AGAM", "banjir setinggi lutut di Nagari Tiku"),
    Row("location.json", "accepted", None, "SBY", "Pasar Turi, Jl. Semarang, Bubutan, Surabaya"),
    Row("interactive_button_reply.json", "unrouted", "unrouted"),
    Row(
        "interactive_list_reply.json",
        "accepted",
        None,
        "SBY",
        "Jalan rusak — Jalan berlubang atau aspal mengelupas",
    ),
    Row("button.json", "unrouted", "unrouted"),
    Row("reaction.json", None, "reaction"),
    Row("unsupported.json", None, "unsupported type unknown (errors 131051)"),
    Row("sticker.json", None, "unsupported type sticker"),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.fixture.removesuffix(".json"))
async def test_message_table(
    row: Row, gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    if row.fixture in MEDIA:
        media_id, data, mime = MEDIA[row.fixture]
        graph.add_media(data, mime, media_id=media_id)
    resp = await post(client, fixture(row.fixture))
    assert resp.status == 200, await resp.text()
    stored = await inbound(rt.store)
    if row.outcome is None:
        assert stored == [] and await complaints(rt.store) == []
        [event] = await events_of(rt.store, "inbound")
        assert (event.channel, event.outcome, event.reason) == ("whatsapp", "ignored", row.reason)
        return
    [message] = stored
    assert (message.outcome, message.reason) == (row.outcome, row.reason)
    assert message.sender == "+6281234567890" and message.sender_name == "Budi Santoso"
    if row.fixture in MEDIA:
        [attachment] = message.attachments
        assert (rt.settings.data_dir / attachment["path"]).read_bytes() == MEDIA[row.fixture][1]
        assert attachment["size"] == len(MEDIA[row.fixture][1])
    if row.fixture == "document.json":
        assert message.attachments[0]["filename"] == "surat-keluhan.pdf"
    if row.fixture == "location.json":
        assert message.location == {
            "lat": -7.2575,
            "long": 112.7521,
            "address": "Pasar Turi, Jl. Semarang, Bubutan, Surabaya",
        }
    if row.text is None:
        assert await complaints(rt.store) == []
        return
    [complaint] = await complaints(rt.store)
    assert (complaint.text, complaint.region_code) == (row.text, row.region)
    assert complaint.attachments == message.attachments
    assert complaint.location == message.location
    async with rt.store.reader() as s:
        reporter = await s.get(ReporterRow, complaint.reporter_id)
    assert reporter is not None
    assert (reporter.name, reporter.phone) == ("Budi Santoso", "+6281234567890")


# -- signatures and bodies -----------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "sha256=" + "0" * 64, "sha256=", "md5=abc"])
async def test_bad_signature_is_403_and_stores_nothing(
    gateway: tuple[TestClient, Runtime], header: str | None
) -> None:
    client, rt = gateway
    body = json.dumps(fixture("text.json")).encode()
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    resp = await client.post("/webhooks/whatsapp", data=body, headers=headers)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "bad_signature"
    assert await inbound(rt.store) == []
    [event] = await events_of(rt.store)
    assert (event.channel, event.outcome, event.reason) == ("whatsapp", "rejected", "bad_signature")


async def test_signature_of_another_secret_is_403(gateway: tuple[TestClient, Runtime]) -> None:
    client, rt = gateway
    body = json.dumps(fixture("text.json")).encode()
    resp = await post(client, body, **{"X-Hub-Signature-256": sign(body, "rahasia-lain")})
    assert resp.status == 403 and await inbound(rt.store) == []


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(fixture("text.json")).encode()[:-40],
        b"\xff\xfe not utf-8",
        b'{"object": "page", "entry": []}',
    ],
    ids=["truncated", "not-utf8", "not-whatsapp"],
)
async def test_unreadable_body_is_400(gateway: tuple[TestClient, Runtime], body: bytes) -> None:
    client, rt = gateway
    resp = await post(client, body)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "malformed_payload"
    assert await inbound(rt.store) == []
    [event] = await events_of(rt.store)
    assert (event.outcome, event.reason) == ("rejected", "malformed")


async def test_batch_keeps_every_good_message(gateway: tuple[TestClient, Runtime]) -> None:
    client, rt = gateway
    resp = await post(client, fixture("batch.json"))
    assert resp.status == 200
    by_region = sorted((c.region_code, c.text) for c in await complaints(rt.store))
    assert by_region == [
        ("AGAM", "saluran air tersumbat di Jorong Koto"),
        ("AGAM", "sampah menumpuk di Pasar Lubuk Basung"),
        ("SBY", "Trotoar rusak depan Balai Kota"),
        ("SBY", "lampu jalan mati di Jl. Darmo"),
    ]
    events = await events_of(rt.store, "inbound")
    [bad] = [e for e in events if e.outcome == "rejected"]
    assert bad.reason == "malformed" and bad.detail["where"].endswith("messages[1]")
    async with rt.store.reader() as s:
        [status] = (await s.scalars(select(ReplyStatus))).all()
    assert status.status == "delivered"


async def test_redelivery_is_a_duplicate_and_fetches_no_media_again(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    graph.add_media(b"foto", "image/jpeg", media_id=MEDIA["image.json"][0])
    for _ in range(3):
        assert (await post(client, fixture("image.json"))).status == 200
    assert len(await complaints(rt.store)) == 1 and graph.downloads == 1
    outcomes = [e.outcome for e in await events_of(rt.store, "inbound")]
    assert outcomes == ["accepted", "duplicate", "duplicate"]


# -- media that cannot be had ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["declared", "streamed"])
async def test_20_mb_media_is_refused_and_the_text_kept(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi, how: str
) -> None:
    client, rt = gateway
    big = b"\0" * (20 * MB)
    media_id = MEDIA["video.json"][0]
    if how == "declared":
        graph.add_media(big, "video/mp4", media_id=media_id)
    else:  # the look-up claims a small file; only counting the stream catches it
        graph.add_media(big, "video/mp4", media_id=media_id, declared_size=1000, chunked=True)
    resp = await post(client, fixture("video.json"))
    assert resp.status == 200
    [complaint] = await complaints(rt.store)
    assert complaint.text == "banjir setinggi lutut di Nagari Tiku"
    assert complaint.attachments == []
    assert any("video not downloaded: too large" in note for note in complaint.notes)
    [message] = await inbound(rt.store)
    assert message.meta["media_problems"] == [n for n in complaint.notes if "video" in n]
    attachments_dir = rt.settings.data_dir / "attachments"
    assert not attachments_dir.exists() or not any(p.is_file() for p in attachments_dir.rglob("*"))


async def test_token_the_api_refuses(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    graph.add_media(b"foto", "image/jpeg", media_id=MEDIA["image.json"][0])
    graph.access_token = "token-lain"  # ours was revoked at Meta
    resp = await post(client, fixture("image.json"))
    assert resp.status == 200
    [complaint] = await complaints(rt.store)
    assert complaint.text == "jembatan Batang Antokan retak, foto terlampir"
    assert any("code 190" in note for note in complaint.notes)
    health = rt.health.components["whatsapp"]
    assert not health.ok and "190" in health.detail
    ready = await (await client.get("/readyz")).json()
    assert "whatsapp" in ready["degraded"]


# -- the store ---------------------------------------------------------------------------------


async def test_store_down_is_503_and_nothing_is_lost(
    gateway: tuple[TestClient, Runtime],
) -> None:
    client, rt = gateway
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    down = build_runtime(rt.settings, dead)
    payload = fixture("batch.json")
    try:
        async with TestClient(TestServer(build_http_app(down))) as c:
            resp = await post(c, payload)
            assert resp.status == 503 and resp.headers["Retry-After"]
            assert (await resp.json())["error"]["code"] == "store_unavailable"
    finally:
        await dead.close()
    # Meta redelivers once we answer again: every message of the batch is there.
    assert (await post(client, payload)).status == 200
    assert len(await complaints(rt.store)) == 4


# -- one citizen, two channels ---------------------------------------------------------------


async def test_same_citizen_on_sms_and_whatsapp_links_a_possible_duplicate(
    gateway: tuple[TestClient, Runtime],
) -> None:
    client, rt = gateway
    sms = await rt.intake.submit(make_raw("AGAM jalan rusak di depan SD 05 Lubuk Basung"))
    assert (await post(client, fixture("text.json"))).status == 200
    async with rt.store.reader() as s:
        on_whatsapp = await s.scalar(select(Complaint).where(Complaint.channel == "whatsapp"))
    assert on_whatsapp is not None and on_whatsapp.possible_duplicate_of == sms.complaint_id


async def test_events_name_the_channel_for_the_log(gateway: tuple[TestClient, Runtime]) -> None:
    client, rt = gateway
    await post(client, fixture("text.json"))
    async with rt.store.reader() as s:
        [event] = (await s.scalars(select(Event).where(Event.kind == "inbound"))).all()
    assert (event.channel, event.outcome, event.region_code) == ("whatsapp", "accepted", "AGAM")
    metrics = await (await client.get("/metrics")).text()
    assert 'lapor_intake_messages_total{channel="whatsapp",outcome="accepted"} 1.0' in metrics

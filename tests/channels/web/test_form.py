"""The citizen form and status page over a real socket."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from gateway.app import build_http_app, build_runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint, InboundMessage, Reporter


@pytest.fixture
async def client(settings: Settings, store: Store) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_http_app(build_runtime(settings, store)))) as c:
        yield c


async def form_token(client: TestClient) -> str:
    page = await (await client.get("/")).text()
    assert "Sampaikan Aduan Anda" in page and "Kabupaten Agam" in page
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def test_form_submission_and_double_submit(client: TestClient, store: Store) -> None:
    token = await form_token(client)
    form = {
        "token": token,
        "region": "AGAM",
        "text": "Lampu jalan di Jl. Sudirman mati sejak seminggu.",
        "name": "Rina",
        "phone": "0812 3456 7890",
        "anonymous": "on",
    }
    resp = await client.post("/aduan", data=form)
    assert resp.status == 201
    page = await resp.text()
    assert "Nomor tiket: <strong>AGM-000001</strong>" in page
    again = await client.post("/aduan", data=form)  # a double click: the same ticket
    assert again.status == 200
    assert "Nomor tiket: <strong>AGM-000001</strong>" in await again.text()
    async with store.reader() as s:
        complaint = await s.scalar(select(Complaint))
        reporter = await s.get(Reporter, complaint.reporter_id)
        total = await s.scalar(select(func.count()).select_from(Complaint))
    assert total == 1
    assert complaint.anonymous and not complaint.confidential
    assert reporter.phone == "+6281234567890" and reporter.name == "Rina"

    status = await client.get("/status", params={"ref": "agm-000001"})
    body = await status.text()
    assert status.status == 200 and "Menunggu diteruskan ke LAPOR!" in body
    assert "Rina" not in body and "Lampu" not in body


async def test_empty_text_shows_the_form_again(client: TestClient, store: Store) -> None:
    token = await form_token(client)
    resp = await client.post("/aduan", data={"token": token, "region": "SBY", "text": "  "})
    assert resp.status == 422
    assert "Isi aduan masih kosong." in await resp.text()
    async with store.reader() as s:
        inbound = await s.scalar(select(InboundMessage))
    assert inbound.outcome == "rejected"  # stored and visible to operators


async def test_form_without_token_is_refused(client: TestClient, store: Store) -> None:
    resp = await client.post("/aduan", data={"region": "SBY", "text": "banjir lagi"})
    assert resp.status == 400
    assert "kedaluwarsa" in await resp.text()


async def test_unknown_ref(client: TestClient) -> None:
    resp = await client.get("/status", params={"ref": "SBY-424242"})
    assert resp.status == 404 and "tidak ditemukan" in await resp.text()

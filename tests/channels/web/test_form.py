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


TEXT_A = "Lampu jalan di Jl. Sudirman mati sejak seminggu."
TEXT_B = "Saluran air di depan SDN 3 Lubuk Basung tersumbat, banjir tiap hujan."


def ticket(page: str) -> str | None:
    match = re.search(r"Nomor tiket: <strong>([A-Z]+-\d+)</strong>", page)
    return match.group(1) if match else None


async def complaint_texts(store: Store) -> list[str]:
    async with store.reader() as s:
        return list(
            (await s.scalars(select(Complaint.text).order_by(Complaint.tracking_ref))).all()
        )


async def test_a_form_edited_after_back_is_a_new_complaint(
    client: TestClient, store: Store
) -> None:
    token = await form_token(client)
    a = {"token": token, "region": "AGAM", "text": TEXT_A, "name": "Rina"}
    b = {**a, "text": TEXT_B}  # Back, change the text, send again: the same hidden token
    first = await client.post("/aduan", data=a)
    second = await client.post("/aduan", data=b)
    assert (first.status, second.status) == (201, 201)
    assert ticket(await first.text()) == "AGM-000001"
    assert ticket(await second.text()) == "AGM-000002"
    # Resends of either are still absorbed, each with its own ticket.
    for data, ref in ((b, "AGM-000002"), (a, "AGM-000001")):
        again = await client.post("/aduan", data=data)
        assert again.status == 200 and ticket(await again.text()) == ref
    assert await complaint_texts(store) == [TEXT_A, TEXT_B]
    # Any field counts as content: only ticking "Anonim" is a different complaint too.
    anonymous = await client.post("/aduan", data={**a, "anonymous": "on"})
    assert anonymous.status == 201


async def test_the_form_names_the_text_limit(client: TestClient) -> None:
    page = await (await client.get("/")).text()
    assert "Paling banyak 10.000 karakter." in page
    textarea = re.search(r"<textarea[^>]*>", page)
    assert textarea and "maxlength" not in textarea.group(0)  # a browser would cut silently
    assert '<script src="/static/web/form.js"' in page
    script = await client.get("/static/web/form.js")
    assert script.status == 200 and "data-max-chars" in await script.text()


async def test_text_over_the_limit_is_refused_whole_never_cut(
    client: TestClient, store: Store
) -> None:
    text = ("Jalan berlubang di Jl. Diponegoro. " * 380).rstrip() + "!"
    assert len(text) == 13_300
    token = await form_token(client)
    resp = await client.post("/aduan", data={"token": token, "region": "AGAM", "text": text})
    assert resp.status == 422
    page = await resp.text()
    assert "Isi aduan terlalu panjang: 13.300 karakter, paling banyak 10.000 karakter." in page
    assert "13.300 / 10.000 karakter — terlalu panjang 3.300 karakter" in page
    assert text in page  # the citizen's text is still in the form, to be shortened
    assert await complaint_texts(store) == []
    async with store.reader() as s:
        inbound = await s.scalar(select(InboundMessage))
    assert (inbound.outcome, inbound.reason) == ("rejected", "too_long")
    assert inbound.text == text  # operators see all of it


async def test_an_invalid_phone_number_is_reported_on_the_form(
    client: TestClient, store: Store
) -> None:
    token = await form_token(client)
    data = {"token": token, "region": "AGAM", "text": TEXT_A, "phone": "0812-345"}
    resp = await client.post("/aduan", data=data)
    assert resp.status == 422
    page = await resp.text()
    assert "Nomor HP “0812-345” tidak valid" in page and TEXT_A in page
    assert re.search(r'id="phone"[^>]*aria-invalid="true"', page)
    async with store.reader() as s:
        assert await s.scalar(select(func.count()).select_from(InboundMessage)) == 0
    fixed = await client.post("/aduan", data={**data, "phone": "0812-3456-7890"})
    assert fixed.status == 201


@pytest.mark.parametrize("field,limit", [("name", 200), ("phone", 32), ("email", 320)])
async def test_over_long_identity_fields_are_refused(
    client: TestClient, store: Store, field: str, limit: int
) -> None:
    token = await form_token(client)
    data = {"token": token, "region": "SBY", "text": TEXT_A, field: "8" * (limit + 1)}
    resp = await client.post("/aduan", data=data)
    assert resp.status == 422
    assert f"paling banyak {limit} karakter" in await resp.text()


async def test_a_tampered_token_is_refused(client: TestClient) -> None:
    for token in ("x", "a" * 65, "token dengan spasi!!"):
        resp = await client.post("/aduan", data={"token": token, "region": "SBY", "text": TEXT_A})
        assert resp.status == 400


async def test_form_answers_are_not_cached(client: TestClient) -> None:
    token = await form_token(client)
    sent = {"token": token, "region": "AGAM", "text": TEXT_A, "name": "Rina"}
    for data in (sent, {**sent, "text": ""}):
        resp = await client.post("/aduan", data=data)
        assert resp.headers["Cache-Control"] == "no-store", resp.status


async def test_the_form_is_rate_limited_per_client_address(
    settings: Settings, store: Store
) -> None:
    http = settings.file.http.model_copy(update={"form_rate_limit_per_minute": 3})
    settings.file = settings.file.model_copy(update={"http": http})
    app = build_http_app(build_runtime(settings, store))
    async with TestClient(TestServer(app)) as client:
        for i in range(3):
            data = {"token": await form_token(client), "region": "SBY", "text": f"{TEXT_A} {i}"}
            assert (await client.post("/aduan", data=data)).status == 201
        data = {"token": await form_token(client), "region": "SBY", "text": TEXT_B}
        limited = await client.post("/aduan", data=data)
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
        page = await limited.text()
        assert "Terlalu banyak aduan dikirim dari alamat internet Anda" in page
        assert TEXT_B in page  # nothing the citizen wrote is lost
        # An address made up in X-Forwarded-For buys nothing without a trusted proxy.
        spoofed = await client.post("/aduan", data=data, headers={"X-Forwarded-For": "10.9.9.9"})
        assert spoofed.status == 429
    async with store.reader() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 3

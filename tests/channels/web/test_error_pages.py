"""Errors over a real socket: under /api/ always JSON with Indonesian `pesan` and English
`message`; a citizen URL that does not exist gets an Indonesian page in the form's look."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_http_app, build_runtime
from gateway.http_common import API_ERRORS
from gateway.settings import Settings
from gateway.store.db import Store


@pytest.fixture
async def client(settings: Settings, store: Store) -> AsyncIterator[TestClient]:
    rt = build_runtime(settings, store)

    async def broken(_: web.Request) -> web.Response:
        raise RuntimeError("a bug, with private detail +6281234567890")

    rt.routes.append(web.get("/api/v1/rusak", broken))
    async with TestClient(TestServer(build_http_app(rt))) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/tidak-ada", 404, "not_found"),
        ("GET", "/api/v2/complaints", 404, "not_found"),
        ("DELETE", "/api/v1/complaints", 405, "method_not_allowed"),
        ("GET", "/api/v1/complaints", 405, "method_not_allowed"),
        ("GET", "/api/v1/rusak", 500, "internal_error"),
    ],
)
async def test_api_errors_are_json_in_both_languages(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    resp = await client.request(method, path)
    assert resp.status == status
    assert resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert error["pesan"] == API_ERRORS[status][1]
    assert error["message"] and error["message"] != error["pesan"]
    assert "+6281234567890" not in await resp.text()
    if status == 405:
        assert "POST" in resp.headers["Allow"]


@pytest.mark.parametrize("path", ["/halaman-lama", "/aduan/123", "/status/AGM-000001"])
async def test_a_citizen_url_that_does_not_exist_gets_an_indonesian_page(
    client: TestClient, path: str
) -> None:
    resp = await client.get(path)
    page = await resp.text()
    assert resp.status == 404 and resp.content_type == "text/html"
    assert "Halaman tidak ditemukan" in page and path in page
    assert '<html lang="id">' in page and 'href="/"' in page  # the form's base template
    assert "Not Found" not in page


async def test_machine_paths_keep_their_own_errors(client: TestClient) -> None:
    resp = await client.get("/open311/v2/tidak-ada.json")
    assert resp.status == 404 and resp.content_type == "application/json"
    assert "Halaman tidak ditemukan" not in await (await client.get("/webhooks/sms/x")).text()


async def test_the_thanks_pages_address_opened_as_a_link_leads_to_the_form(
    client: TestClient,
) -> None:
    resp = await client.get("/aduan", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    form = await client.get("/aduan")
    assert form.status == 200 and 'action="/aduan"' in await form.text()

"""POST /api/v1/complaints over a real socket, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from gateway.app import RUNTIME_KEY, build_http_app, build_runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint, Event, InboundMessage
from tests.support import API_KEY_ALL, API_KEY_BEBEJA

FIXTURES = Path(__file__).parents[2] / "fixtures" / "web"
BEBEJA = json.loads((FIXTURES / "bebeja_complaint.json").read_text())


@pytest.fixture
async def client(settings: Settings, store: Store) -> AsyncIterator[TestClient]:
    app = build_http_app(build_runtime(settings, store))
    async with TestClient(TestServer(app)) as client:
        yield client


def auth(key: str = API_KEY_BEBEJA, idem: str | None = "idem-1") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if idem:
        headers["Idempotency-Key"] = idem
    return headers


async def counts(store: Store) -> tuple[int, int]:
    async with store.reader() as s:
        complaints = await s.scalar(select(func.count()).select_from(Complaint))
        inbound = await s.scalar(select(func.count()).select_from(InboundMessage))
    return complaints, inbound


async def last_event(store: Store) -> Event:
    async with store.reader() as s:
        return await s.scalar(select(Event).order_by(Event.id.desc()).limit(1))


async def test_bebeja_complaint_created_then_replayed(client: TestClient, store: Store) -> None:
    first = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth())
    assert first.status == 201
    body = await first.json()
    assert body["tracking_ref"] == "PDG-000001" and body["region"] == "PDG"
    again = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth())
    assert again.status == 200
    assert await again.json() == body
    assert await counts(store) == (1, 1)
    async with store.reader() as s:
        complaint = await s.scalar(select(Complaint))
    assert complaint.status == "pending_review"  # Pandeglang reviews before forwarding
    assert complaint.text.endswith("🙏")
    status = await client.get(f"/api/v1/complaints/{body['tracking_ref'].lower()}")
    public = await status.json()
    assert status.status == 200 and public["status"] == "pending_review"
    assert "Siti" not in json.dumps(public) and "0813" not in json.dumps(public)


async def test_external_id_is_the_key_without_header(client: TestClient, store: Store) -> None:
    r1 = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth(idem=None))
    r2 = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth(idem=None))
    assert (r1.status, r2.status) == (201, 200)


async def test_missing_idempotency_key(client: TestClient, store: Store) -> None:
    body = {k: v for k, v in BEBEJA.items() if k != "external_id"}
    resp = await client.post("/api/v1/complaints", json=body, headers=auth(idem=None))
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "idempotency_key_required"


BAD_REQUESTS = [
    # label, body bytes, content type, headers, status, error code
    ("no key", json.dumps(BEBEJA).encode(), "application/json", {}, 401, "unauthorized"),
    (
        "wrong key",
        json.dumps(BEBEJA).encode(),
        "application/json",
        {"Authorization": "Bearer salah-kunci-xxxxxxxxxxxx"},
        401,
        "unauthorized",
    ),
    (
        "form body",
        b"region=PDG&text=x",
        "application/x-www-form-urlencoded",
        auth(),
        415,
        "unsupported_media_type",
    ),
    (
        "malformed json",
        b'{"region": "PDG", "text": ',
        "application/json",
        auth(),
        400,
        "malformed_json",
    ),
    (
        "invalid utf-8",
        b'{"region": "PDG", "text": "jalan \xff\xfe rusak"}',
        "application/json",
        auth(),
        400,
        "invalid_utf8",
    ),
    ("json array", b"[1, 2]", "application/json", auth(), 400, "malformed_json"),
    (
        "wrong region for key",
        json.dumps({**BEBEJA, "region": "AGAM"}).encode(),
        "application/json",
        auth(),
        403,
        "region_not_allowed",
    ),
    (
        "text not a string",
        json.dumps({**BEBEJA, "text": 12}).encode(),
        "application/json",
        auth(),
        422,
        "invalid_field",
    ),
    (
        "unknown field",
        json.dumps({**BEBEJA, "prioritas": "tinggi"}).encode(),
        "application/json",
        auth(),
        422,
        "invalid_field",
    ),
    (
        "bad category",
        json.dumps({**BEBEJA, "category": "keluhan"}).encode(),
        "application/json",
        auth(),
        422,
        "invalid_field",
    ),
]


@pytest.mark.parametrize(
    "label,body,ctype,headers,status,code", BAD_REQUESTS, ids=[r[0] for r in BAD_REQUESTS]
)
async def test_bad_requests_are_refused_and_nothing_is_written(
    client: TestClient,
    store: Store,
    label: str,
    body: bytes,
    ctype: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    resp = await client.post(
        "/api/v1/complaints", data=body, headers={**headers, "Content-Type": ctype}
    )
    assert resp.status == status, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert error["pesan"] and error["message"]  # Indonesian and English
    assert await counts(store) == (0, 0)
    if status in (400, 403, 422):  # an authenticated client's failure shows in the log
        event = await last_event(store)
        assert event is not None and event.outcome == "rejected"


REJECTED_CONTENT = [
    ("empty text", {"text": "   "}, "empty_text", "text"),
    ("nul bytes only", {"text": "\u0000\u0000"}, "empty_text", "text"),
    ("100000 chars", {"text": "jalan rusak " * 8400}, "too_long", "text"),
    ("unknown region", {"region": "ZZZ"}, "unknown_region", "region"),
]


@pytest.mark.parametrize(
    "label,change,reason,field", REJECTED_CONTENT, ids=[r[0] for r in REJECTED_CONTENT]
)
async def test_bad_content_reaches_intake_as_rejected(
    client: TestClient, store: Store, label: str, change: dict, reason: str, field: str
) -> None:
    body = {**BEBEJA, **change}
    resp = await client.post("/api/v1/complaints", json=body, headers=auth(API_KEY_ALL))
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert (error["code"], error["field"]) == (reason, field)
    assert await counts(store) == (0, 1)  # stored as an inbound message for operators
    event = await last_event(store)
    assert (event.outcome, event.reason) == ("rejected", reason)
    replay = await client.post("/api/v1/complaints", json=body, headers=auth(API_KEY_ALL))
    assert replay.status == 422
    assert await counts(store) == (0, 1)


async def test_nul_bytes_inside_text_are_cleaned(client: TestClient, store: Store) -> None:
    body = {**BEBEJA, "text": "jalan\u0000 rusak di Labuan"}
    resp = await client.post("/api/v1/complaints", json=body, headers=auth())
    assert resp.status == 201
    async with store.reader() as s:
        assert (await s.scalar(select(Complaint.text))) == "jalan rusak di Labuan"


async def test_ten_megabyte_body_is_413(client: TestClient, store: Store) -> None:
    big = b'{"region": "PDG", "text": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    resp = await client.post(
        "/api/v1/complaints",
        data=big,
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "too_large"
    assert await counts(store) == (0, 0)


async def test_status_of_unknown_ref_is_404(client: TestClient) -> None:
    resp = await client.get("/api/v1/complaints/AGM-999999")
    assert resp.status == 404


async def test_readiness_is_about_taking_complaints_in(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    rt = client.app[RUNTIME_KEY]
    rt.health.set("twitter", False, "X menolak bearer_token (401)")
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200, body  # a channel down must not take intake offline
    assert body["ready"] is True and body["degraded"] == ["twitter"]
    unmigrated = Store(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    app = build_http_app(build_runtime(settings, unmigrated))
    async with TestClient(TestServer(app)) as other:
        resp = await other.get("/readyz")
        body = await resp.json()
    await unmigrated.close()
    assert resp.status == 503 and "database" in body["degraded"]
    assert "revision none" in body["components"]["database"]["detail"]


async def test_health_and_metrics(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200, await ready.text()
    await client.post("/api/v1/complaints", json=BEBEJA, headers=auth())
    metrics = await (await client.get("/metrics")).text()
    assert 'lapor_intake_messages_total{channel="api",outcome="accepted"} 1.0' in metrics

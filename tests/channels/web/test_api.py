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
from gateway.store.models import Complaint, Event, InboundMessage, Reporter
from tests.support import API_KEY_ALL, API_KEY_BEBEJA, raw_post, with_http

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


async def test_same_key_with_a_different_body_is_refused_not_dropped(
    client: TestClient, store: Store
) -> None:
    first = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth())
    assert first.status == 201
    other = {**BEBEJA, "text": "Lampu penerangan jalan di Alun-alun Pandeglang mati semua."}
    reused = await client.post("/api/v1/complaints", json=other, headers=auth())
    assert reused.status == 422
    error = (await reused.json())["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "TIDAK disimpan" in error["pesan"] and "new key" in error["message"]
    assert reused.headers["Cache-Control"] == "no-store"
    # The same key with the first body is still the first answer, byte for byte.
    again = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth())
    assert again.status == 200 and await again.json() == await first.json()
    # Key order and spacing are not a different body.
    respaced = json.dumps(dict(reversed(list(BEBEJA.items()))), indent=2)
    same = await client.post(
        "/api/v1/complaints",
        data=respaced,
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert same.status == 200
    # With its own key the other complaint is taken.
    new = await client.post("/api/v1/complaints", json=other, headers=auth(idem="idem-2"))
    assert new.status == 201
    assert await counts(store) == (2, 2)


async def test_replay_of_a_rejected_request_gets_the_first_answer(
    client: TestClient, store: Store
) -> None:
    body = {**BEBEJA, "text": "Jalan rusak. " * 1100}
    first = await client.post("/api/v1/complaints", json=body, headers=auth())
    again = await client.post("/api/v1/complaints", json=body, headers=auth())
    assert (first.status, again.status) == (422, 422)
    assert await first.json() == await again.json()
    error = (await first.json())["error"]
    assert error["code"] == "too_long" and error["field"] == "text"
    assert "14.299 karakter, paling banyak 10.000 karakter" in error["pesan"]
    assert await counts(store) == (0, 1)
    async with store.reader() as s:
        inbound = await s.scalar(select(InboundMessage))
    assert inbound.text == body["text"]  # kept whole for the operators, never cut


async def test_an_invalid_phone_number_is_a_warning(client: TestClient, store: Store) -> None:
    body = {**BEBEJA, "reporter": {"name": "Siti Aminah", "phone": "0813-12"}}
    resp = await client.post("/api/v1/complaints", json=body, headers=auth())
    assert resp.status == 201
    answer = await resp.json()
    assert [w["code"] for w in answer["warnings"]] == ["invalid_phone"]
    warning = answer["warnings"][0]
    assert warning["field"] == "reporter.phone" and "tidak valid" in warning["pesan"]
    assert "0813-12" not in json.dumps(answer)  # the answer does not echo personal data
    replay = await client.post("/api/v1/complaints", json=body, headers=auth())
    assert await replay.json() == answer
    ok = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth(idem="idem-ok"))
    assert (await ok.json())["warnings"] == []
    async with store.reader() as s:
        phones = (await s.scalars(select(Reporter.phone).order_by(Reporter.id))).all()
    assert phones == [None, "+6281312345678"]


async def test_answers_are_not_cached(client: TestClient) -> None:
    created = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth())
    bad = await client.post("/api/v1/complaints", json={"region": "PDG"}, headers=auth())
    status = await client.get("/api/v1/complaints/PDG-000001")
    for resp in (created, bad, status):
        assert resp.headers["Cache-Control"] == "no-store", resp.status


async def test_an_over_long_idempotency_key_is_refused(client: TestClient, store: Store) -> None:
    resp = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth(idem="k" * 201))
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "idempotency_key_too_long"
    assert await counts(store) == (0, 0)


async def test_field_errors_are_indonesian_prose(client: TestClient) -> None:
    cases = [
        ({**BEBEJA, "text": 12}, "Kolom 'text' harus berupa teks."),
        ({**BEBEJA, "region": ""}, "Kolom 'region' tidak boleh kosong."),
        ({k: v for k, v in BEBEJA.items() if k != "text"}, "Kolom 'text' wajib diisi."),
        (
            {**BEBEJA, "reporter": {"name": "x" * 201}},
            "Kolom 'reporter.name' terlalu panjang (paling banyak 200 karakter).",
        ),
    ]
    for body, pesan in cases:
        resp = await client.post("/api/v1/complaints", json=body, headers=auth())
        assert (await resp.json())["error"]["pesan"] == pesan


async def test_rate_limit_per_api_key_and_per_address(settings: Settings, store: Store) -> None:
    app = build_http_app(build_runtime(with_http(settings, rate_limit_per_minute=3), store))
    async with TestClient(TestServer(app)) as client:
        for i in range(3):
            resp = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth(idem=f"r{i}"))
            assert resp.status in (200, 201)
        limited = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth(idem="r9"))
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "Coba lagi dalam" in (await limited.json())["error"]["pesan"]
        # Another key has its own budget.
        other = await client.post("/api/v1/complaints", json=BEBEJA, headers=auth(API_KEY_ALL))
        assert other.status == 201
        # Wrong keys are counted per client address: guessing keys is throttled too.
        wrong = [
            (await client.post("/api/v1/complaints", json=BEBEJA, headers=auth("x" * 20))).status
            for _ in range(4)
        ]
        assert wrong == [401, 401, 401, 429]


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    settings: Settings, store: Store
) -> None:
    async def statuses(client: TestClient, forwarded: list[str]) -> list[int]:
        return [
            (
                await client.get("/api/v1/complaints/PDG-000001", headers={"X-Forwarded-For": addr})
            ).status
            for addr in forwarded
        ]

    untrusted = with_http(settings, rate_limit_per_minute=2)
    async with TestClient(TestServer(build_http_app(build_runtime(untrusted, store)))) as c:
        # Made-up addresses from a client do not buy it more requests.
        assert await statuses(c, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [
            404,
            404,
            429,
        ]
    trusted = with_http(settings, rate_limit_per_minute=2, trusted_proxies=["127.0.0.0/8"])
    async with TestClient(TestServer(build_http_app(build_runtime(trusted, store)))) as c:
        # Behind our proxy every client has its own budget; what a client put left of
        # the proxy's entry is not believed.
        hops = ["203.0.113.9, 198.51.100.1", "203.0.113.8, 198.51.100.1", "198.51.100.2"]
        assert await statuses(c, hops) == [404, 404, 404]
        assert await statuses(c, ["198.51.100.1"]) == [429]


@pytest.mark.parametrize(
    ("header", "value", "status", "code"),
    [
        ("Authorization", b"Bearer \xff\xfe\xed\xa0\x80kunci", 401, "unauthorized"),
        ("Authorization", "Bearer kunci-é".encode(), 401, "unauthorized"),
        ("Idempotency-Key", b"kunci-\xff\xfe", 400, "idempotency_key_invalid"),
        ("Idempotency-Key", b"kunci\tdengan-tab", 400, "idempotency_key_invalid"),
    ],
)
async def test_header_bytes_that_are_not_text_get_a_clear_answer(
    client: TestClient, store: Store, header: str, value: bytes, status: int, code: str
) -> None:
    """Headers are written byte for byte (no client library sends these): never a 500."""
    headers = [
        ("Content-Type", b"application/json"),
        ("Authorization", f"Bearer {API_KEY_BEBEJA}".encode()),
        ("Idempotency-Key", b"idem-bytes-1"),
    ]
    headers = [(name, value if name == header else v) for name, v in headers]
    got, body = await raw_post(
        client.host, client.port, "/api/v1/complaints", headers, json.dumps(BEBEJA).encode()
    )
    assert got == status, body
    assert json.loads(body)["error"]["code"] == code
    assert await counts(store) == (0, 0)

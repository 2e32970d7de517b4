"""Provider webhooks on a real aiohttp server with the real store: one table for all three.

Payloads are in tests/fixtures/sms/ exactly as the providers send them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from aiohttp.test_utils import TestClient, TestServer

import channels.sms
from channels.sms.webhooks import generic_signature, twilio_signature
from gateway.app import build_http_app
from gateway.intake import Intake
from gateway.runtime import Runtime
from gateway.store.db import Store
from tests.channels.sms.conftest import GENERIC_SECRET, KANNEL_SECRET, TWILIO_TOKEN
from tests.channels.sms.helpers import complaints, events_of, inbound
from tests.support import raw_post

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sms"
TWILIO_BODY = (FIXTURES / "twilio_inbound_sms.txt").read_text()
KANNEL_QUERY = (FIXTURES / "kannel_get_url_query.txt").read_text()
GENERIC_JSON = (FIXTURES / "generic_inbound.json").read_text()
FORM = "application/x-www-form-urlencoded"


def test_twilio_signature_matches_twilios_published_examples() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    assert twilio_signature("12345", url, params.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@dataclass
class Row:
    label: str
    provider: str
    body: str = ""
    query: str = ""
    method: str = "POST"
    content_type: str = FORM
    headers: dict[str, str] = field(default_factory=dict)
    sign: str = "valid"  # valid | wrong | missing
    status: int = 200
    outcome: str | None = "accepted"  # inbound outcome, None: nothing reaches intake
    reason: str | None = None
    text: str | None = None  # the complaint text


ROWS = [
    Row(
        "twilio real form body",
        "twilio",
        TWILIO_BODY,
        text="jalan rusak di Jl. Sudirman, banyak lubang",
    ),
    Row("twilio wrong signature", "twilio", TWILIO_BODY, sign="wrong", status=403, outcome=None),
    Row(
        "twilio missing signature", "twilio", TWILIO_BODY, sign="missing", status=403, outcome=None
    ),
    Row(
        "twilio to another number",
        "twilio",
        TWILIO_BODY.replace("To=1708", "To=%2B14155550100"),
        outcome="rejected",
        reason="wrong_recipient",
    ),
    Row(
        "twilio media count not a number",
        "twilio",
        TWILIO_BODY.replace("NumMedia=0", "NumMedia=dua"),
        status=422,
        outcome=None,
    ),
    Row(
        "twilio media count beyond its fields",
        "twilio",
        TWILIO_BODY.replace("NumMedia=0", "NumMedia=999999999999"),
        text="jalan rusak di Jl. Sudirman, banyak lubang",
    ),
    Row(
        "kannel get-url",
        "kannel",
        query=KANNEL_QUERY,
        method="GET",
        text="banjir setinggi lutut di Nagari Tiku 🌊",
    ),
    Row("kannel form post", "kannel", KANNEL_QUERY, text="banjir setinggi lutut di Nagari Tiku 🌊"),
    Row(
        "kannel wrong secret",
        "kannel",
        query=KANNEL_QUERY,
        method="GET",
        sign="wrong",
        status=403,
        outcome=None,
    ),
    Row(
        "kannel missing secret",
        "kannel",
        query=KANNEL_QUERY,
        method="GET",
        sign="missing",
        status=403,
        outcome=None,
    ),
    Row(
        "kannel without id",
        "kannel",
        query=KANNEL_QUERY.replace("&id=", "&x="),
        method="GET",
        status=422,
        outcome=None,
    ),
    Row(
        "generic json",
        "generic",
        GENERIC_JSON,
        content_type="application/json",
        text="lampu jalan mati di depan Masjid Raya",
    ),
    Row(
        "generic form",
        "generic",
        "from=%2B6281234567890&to=1708&text=AGAM+sampah+menumpuk&id=f-1&timestamp=1795405200",
        text="sampah menumpuk",
    ),
    Row(
        "generic only spaces",
        "generic",
        "from=%2B6281234567890&to=1708&text=+++++&id=f-2",
        outcome="rejected",
        reason="empty_text",
    ),
    Row(
        "generic unknown keyword",
        "generic",
        "from=%2B6281234567890&to=1708&text=XYZ+halo&id=f-3",
        outcome="unrouted",
        reason="unrouted",
    ),
    Row(
        "generic wrong signature",
        "generic",
        GENERIC_JSON,
        content_type="application/json",
        sign="wrong",
        status=403,
        outcome=None,
    ),
    Row(
        "generic missing signature",
        "generic",
        GENERIC_JSON,
        content_type="application/json",
        sign="missing",
        status=403,
        outcome=None,
    ),
    Row(
        "generic malformed json",
        "generic",
        '{"from": ',
        content_type="application/json",
        status=422,
        outcome=None,
    ),
    Row(
        "generic bad time",
        "generic",
        "from=0812&to=1708&text=AGAM+x&id=f-4&timestamp=kemarin",
        status=422,
        outcome=None,
    ),
    Row("unknown provider", "nexmo", "from=1", sign="missing", status=404, outcome=None),
]


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    channels.sms.register(runtime)
    app = build_http_app(runtime)
    async with TestClient(TestServer(app)) as c:
        yield c


def signed(row: Row, rt: Runtime) -> tuple[str, dict[str, str]]:
    """The request path and headers, with the row's kind of signature."""
    path = f"/webhooks/sms/{row.provider}"
    headers = {"Content-Type": row.content_type, **row.headers}
    query = row.query
    if row.provider == "kannel":
        secret = {"valid": KANNEL_SECRET, "wrong": "tebakan", "missing": ""}[row.sign]
        if secret:
            query = f"secret={secret}&{query}" if query else f"secret={secret}"
    elif row.provider == "generic" and row.sign != "missing":
        key = GENERIC_SECRET if row.sign == "valid" else "tebakan"
        headers["X-Lapor-Signature"] = generic_signature(key, row.body.encode())
    elif row.provider == "twilio" and row.sign != "missing":
        url = rt.settings.http.public_url + path
        token = TWILIO_TOKEN if row.sign == "valid" else "tebakan"
        params = parse_qsl(row.body, keep_blank_values=True)
        headers["X-Twilio-Signature"] = twilio_signature(token, url, params)
    return (f"{path}?{query}" if query else path), headers


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.label)
async def test_webhook_table(row: Row, client: TestClient, runtime: Runtime) -> None:
    path, headers = signed(row, runtime)
    resp = await client.request(row.method, path, data=row.body.encode(), headers=headers)
    assert resp.status == row.status, await resp.text()
    rows = await inbound(runtime.store)
    if row.outcome is None:
        assert rows == []
    else:
        [stored] = rows
        assert (stored.outcome, stored.reason) == (row.outcome, row.reason)
    if row.text is not None:
        [complaint] = await complaints(runtime.store)
        assert complaint.text == row.text and complaint.region_code == "AGAM"
    if row.status == 403:
        [event] = await events_of(runtime.store)
        assert (event.channel, event.outcome, event.reason) == ("sms", "rejected", "bad_signature")
    if row.provider == "twilio" and row.status == 200:
        assert resp.content_type == "text/xml" and "<Response/>" in await resp.text()


async def test_provider_retry_is_a_duplicate(client: TestClient, runtime: Runtime) -> None:
    row = ROWS[0]
    for _ in range(3):
        path, headers = signed(row, runtime)
        resp = await client.post(path, data=row.body.encode(), headers=headers)
        assert resp.status == 200
    assert len(await complaints(runtime.store)) == 1
    outcomes = [e.outcome for e in await events_of(runtime.store, "inbound")]
    assert outcomes == ["accepted", "duplicate", "duplicate"]


async def test_store_down_answers_503(runtime: Runtime) -> None:
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    rt = Runtime(settings=runtime.settings, store=dead, intake=Intake(runtime.settings, dead))
    channels.sms.register(rt)
    app = build_http_app(rt)
    try:
        async with TestClient(TestServer(app)) as c:
            row = ROWS[9]
            path, headers = signed(row, rt)
            resp = await c.post(path, data=row.body.encode(), headers=headers)
            assert resp.status == 503
            assert (await resp.json())["error"]["code"] == "store_unavailable"
    finally:
        await dead.close()


@pytest.mark.parametrize(
    ("provider", "header", "body", "content_type"),
    [
        ("generic", "X-Lapor-Signature", GENERIC_JSON, b"application/json"),
        ("twilio", "X-Twilio-Signature", TWILIO_BODY, b"application/x-www-form-urlencoded"),
    ],
)
async def test_a_signature_header_that_is_not_text_is_refused_not_a_crash(
    client: TestClient, runtime: Runtime, provider: str, header: str, body: str, content_type: bytes
) -> None:
    """Bytes that are not UTF-8 (or are, but not ASCII) in a signature header: 403 and the
    ingestion log's bad_signature, as for any wrong signature; nothing stored."""
    for value in (b"\xff\xfe\xed\xa0\x80", "tanda-tangan-é".encode()):
        status, _ = await raw_post(
            client.host,
            client.port,
            f"/webhooks/sms/{provider}",
            [("Content-Type", content_type), (header, value)],
            body.encode(),
        )
        assert status == 403
    assert await inbound(runtime.store) == []
    assert {e.reason for e in await events_of(runtime.store)} == {"bad_signature"}

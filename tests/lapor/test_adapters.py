"""The three LAPOR adapters against a real sandbox LAPOR on a real port."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from gateway.lapor import make_client
from gateway.lapor.client import LaporClient, PermanentError, RetryableError
from gateway.lapor.xml import XmlClient, parse_tracking_id
from tests.lapor.sandbox_fixture import RunningSandbox, sample_report

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lapor"
MODES = ["sandbox", "http", "xml"]


@pytest.fixture(params=MODES)
async def client(
    request: pytest.FixtureRequest, sandbox: RunningSandbox
) -> AsyncIterator[LaporClient]:
    c = make_client(sandbox.config(mode=request.param))
    yield c
    await c.close()


async def test_send_answers_a_seven_digit_tracking_id(
    client: LaporClient, sandbox: RunningSandbox
) -> None:
    tracking_id = await client.send(sample_report(), "key-1")
    assert tracking_id.isdigit() and len(tracking_id) == 7
    stored = sandbox.lapor.reports[tracking_id].fields
    assert stored["text"].startswith("Jalan rusak di depan Pasar")
    assert stored["reporter"]["name"] == "Rina Marlina"


async def test_same_idempotency_key_gives_same_tracking_id_and_one_report(
    client: LaporClient,
    sandbox: RunningSandbox,
) -> None:
    first = await client.send(sample_report(), "complaint-7")
    again = await client.send(sample_report(), "complaint-7")
    other = await client.send(sample_report(), "complaint-8")
    assert first == again != other
    assert sandbox.lapor.counters["reports"] == 2
    assert sandbox.lapor.counters["replays"] == 1


async def test_anonymous_report_carries_no_identity_and_flags_are_sent(
    client: LaporClient,
    sandbox: RunningSandbox,
) -> None:
    tracking_id = await client.send(sample_report(anonymous=True, confidential=True), "anon-1")
    stored = sandbox.lapor.reports[tracking_id].fields
    assert stored["anonymous"] is True
    assert stored["confidential"] is True
    assert not stored.get("reporter")
    flat = json.dumps(stored)
    for secret in ("Rina", "+6281234567890", "rina@example.id"):
        assert secret not in flat


async def test_text_with_markup_and_emoji_arrives_intact(
    client: LaporClient,
    sandbox: RunningSandbox,
) -> None:
    text = 'Lampu <mati> & "gelap" di Jl. M. Yamin 😡 ]]> </isi></laporan>'
    tracking_id = await client.send(sample_report(text=text, subject="A < B & C"), "markup")
    stored = sandbox.lapor.reports[tracking_id].fields
    assert stored["text"] == text
    assert stored["subject"] == "A < B & C"


@pytest.mark.parametrize(
    ("faults", "expected", "retry_after"),
    [
        ({"fail_rate": 1.0}, "HTTP 500", None),
        ({"status": 503, "retry_after": 7}, "HTTP 503", 7.0),
        ({"status": 429, "retry_after": 2}, "HTTP 429", 2.0),
        ({"status": 502, "answer": "html"}, "502 Bad Gateway", None),
        ({"answer": "html"}, "answer is not", None),
        ({"answer": "garbage"}, "answer is not", None),
        ({"latency_ms": 1500}, "timeout after 0.5s", None),
    ],
    ids=["500", "503-retry-after", "429", "html-502", "html-200", "garbage-200", "timeout"],
)
async def test_failures_are_retryable_with_a_clear_reason(
    sandbox: RunningSandbox,
    mode: str,
    faults: dict[str, object],
    expected: str,
    retry_after: float | None,
) -> None:
    sandbox.fail(**faults)
    client = make_client(sandbox.config(mode=mode, timeout_s=0.5))
    try:
        with pytest.raises(RetryableError) as err:
            await client.send(sample_report(), "k")
    finally:
        await client.close()
    assert expected in str(err.value)
    assert err.value.retry_after == retry_after
    # A slow LAPOR stored the report; only its answer was lost (the retry replays the key).
    assert sandbox.lapor.counters["reports"] == (1 if "latency_ms" in faults else 0)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


async def test_refused_connection_is_retryable(mode: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        from gateway.lapor.config import LaporConfig

        client = make_client(LaporConfig(mode=mode, base_url=f"http://127.0.0.1:{port}"))
        try:
            with pytest.raises(RetryableError, match="cannot connect"):
                await client.send(sample_report(), "k")
        finally:
            await client.close()


async def test_wrong_token_is_permanent(sandbox: RunningSandbox, mode: str) -> None:
    client = make_client(sandbox.config(mode=mode, token="salah"))
    try:
        with pytest.raises(PermanentError, match="HTTP 401"):
            await client.send(sample_report(), "k")
    finally:
        await client.close()


async def test_rejected_report_is_permanent(sandbox: RunningSandbox, mode: str) -> None:
    client = make_client(sandbox.config(mode=mode))
    try:
        with pytest.raises(PermanentError, match=r"HTTP (400|422)"):
            await client.send(sample_report(text=""), "k")
    finally:
        await client.close()


async def test_sandbox_status_follows_operator_changes(sandbox: RunningSandbox) -> None:
    client = make_client(sandbox.config(mode="sandbox"))
    try:
        assert client.supports_status
        tracking_id = await client.send(sample_report(), "k")
        assert await client.status(tracking_id) == "diterima"
        sandbox.lapor.reports[tracking_id].status = "selesai"
        assert await client.status(tracking_id) == "selesai"
        with pytest.raises(PermanentError, match="HTTP 404"):
            await client.status("0000000")
        # An id LAPOR made up stays one path segment: asked about, not another URL.
        with pytest.raises(PermanentError, match=r"HTTP 404.*tidak ditemukan"):
            await client.status("../laporan")
    finally:
        await client.close()


def test_xml_document_matches_the_addstream_fixture() -> None:
    from gateway.lapor.config import LaporConfig

    client = XmlClient(LaporConfig(mode="xml", token="tok&en"))
    doc = client.document(sample_report(confidential=True, text='Air PDAM <keruh> & "bau"'), "k1")
    assert doc.decode() == (FIXTURES / "addstream_request.xml").read_text(encoding="utf-8").strip()


def test_xml_anonymous_document_has_no_pelapor() -> None:
    from gateway.lapor.config import LaporConfig

    doc = XmlClient(LaporConfig(mode="xml")).document(sample_report(anonymous=True), "k1")
    assert b"<pelapor" not in doc and b"Rina" not in doc and b'anonim="1"' in doc


@pytest.mark.parametrize(
    ("fixture", "outcome"),
    [
        ("addstream_answer_ok.xml", "1234567"),
        ("addstream_answer_nested.xml", "7654321"),
        ("addstream_answer_error.xml", "no <trackingid>"),
        ("addstream_answer_truncated.xml", "not valid XML"),
        ("addstream_answer_entity_bomb.xml", "not valid XML"),
        ("html_error_page.html", "not valid XML"),
    ],
)
def test_xml_answers(fixture: str, outcome: str) -> None:
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    if outcome.isdigit():
        assert parse_tracking_id(text) == outcome
    else:
        with pytest.raises(RetryableError, match=outcome):
            parse_tracking_id(text)


@pytest.fixture
async def agency_api() -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    """A region's own LAPOR API with other field names, recording what it receives."""
    received: list[dict[str, object]] = []

    async def laporan(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer kunci-daerah"
        received.append(await request.json())
        return web.json_response({"data": {"no_tracking": 7000123}}, status=201)

    app = web.Application()
    app.router.add_post("/v2/aduan", laporan)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", received
    await runner.cleanup()


async def test_http_field_map_matches_a_region_api(
    agency_api: tuple[str, list[dict[str, object]]],
) -> None:
    from gateway.lapor.config import LaporConfig

    url, received = agency_api
    cfg = LaporConfig(
        mode="http",
        base_url=url,
        token="kunci-daerah",
        path="/v2/aduan",
        status_path="",
        tracking_id_field="data.no_tracking",
        field_map=json.loads((FIXTURES / "field_map.json").read_text()),
    )
    client = make_client(cfg)
    try:
        assert not client.supports_status
        assert await client.send(sample_report(confidential=True), "k") == "7000123"
        assert await client.send(sample_report(anonymous=True), "k2") == "7000123"
    finally:
        await client.close()
    expected = json.loads((FIXTURES / "field_map_expected.json").read_text())
    assert received[0] == expected["named"]
    assert received[1] == expected["anonymous"]


def test_location_is_sent_only_where_known_and_field_map_can_place_it() -> None:
    from gateway.lapor.http import map_fields
    from gateway.lapor.report import report_json

    assert "location" not in report_json(sample_report())
    where = {"lat": -0.3057, "long": 100.1198, "address": "Pasar Lubuk Basung"}
    body = report_json(sample_report(location=where))  # type: ignore[arg-type]
    assert body["location"] == where
    mapped = map_fields(
        body,
        {"location.lat": "lokasi.lintang", "location.long": "lokasi.bujur", "location.address": ""},
    )
    assert mapped["lokasi"] == {"lintang": -0.3057, "bujur": 100.1198}
    assert "location" not in mapped

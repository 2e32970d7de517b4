"""Open311 GeoReport v2 over a real socket, on SQLite and PostgreSQL.

The spec's own example request (tests/fixtures/open311/) and a FixMyStreet-shaped one go in;
answers are parsed as a client would: JSON, XML with a standard parser, and the published
`georeport` client library.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from georeport import GeoReport
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gateway.app import build_http_app, build_runtime
from gateway.lapor.report import build_report
from gateway.review import approve
from gateway.runtime import Runtime
from gateway.settings import Settings, load_settings
from gateway.store.db import Store
from gateway.store.models import Complaint, Event, InboundMessage, Open311Request, Reporter
from normalizer.types import Channel
from tests.support import (
    API_KEY_ALL,
    API_KEY_BEBEJA,
    REGIONS_DIR,
    cli_in_process,
    make_raw,
    with_http,
    write_config,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "open311"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def fixture_form(name: str, api_key: str = API_KEY_ALL) -> list[tuple[str, str]]:
    body = (FIXTURES / name).read_text().strip().replace("{api_key}", api_key)
    return parse_qsl(body, keep_blank_values=True)


def with_fields(form: list[tuple[str, str]], **changes: str | None) -> list[tuple[str, str]]:
    out = [(k, v) for k, v in form if k not in changes]
    return out + [(k, v) for k, v in changes.items() if v is not None]


@pytest.fixture
def rt(settings: Settings, store: Store) -> Runtime:
    return build_runtime(settings, store)


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_http_app(rt))) as client:
        yield client


async def post(client: TestClient, form: list[tuple[str, str]], fmt: str = "json"):
    return await client.post(f"/open311/v2/requests.{fmt}", data=urlencode(form), headers=FORM)


async def counts(store: Store) -> tuple[int, int]:
    async with store.reader() as s:
        complaints = await s.scalar(select(func.count()).select_from(Complaint))
        inbound = await s.scalar(select(func.count()).select_from(InboundMessage))
    return complaints, inbound


def xml_errors(text: str) -> list[tuple[str, str]]:
    root = ET.fromstring(text.encode())
    assert root.tag == "errors"
    return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]


# --- discovery, services, definitions -------------------------------------------------


async def test_discovery_both_formats(client: TestClient, settings: Settings) -> None:
    resp = await client.get("/open311/v2/discovery.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert resp.charset == "utf-8"
    body = await resp.json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == settings.http.public_url + "/open311/v2"
    assert endpoint["type"] == "test"  # the sandbox LAPOR acts on nothing
    assert endpoint["formats"] == ["text/xml", "application/json"]

    resp = await client.get("/open311/v2/discovery.xml")
    assert resp.status == 200 and resp.content_type == "text/xml"
    text = await resp.text()
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(text.encode())
    assert root.tag == "discovery" and root.findtext("changeset") == body["changeset"]
    formats = [f.text for f in root.findall("endpoints/endpoint/formats/format")]
    assert formats == ["text/xml", "application/json"]


async def test_services_default_and_declared(client: TestClient) -> None:
    agam = await (await client.get("/open311/v2/services.json?jurisdiction_id=agam")).json()
    assert [s["service_code"] for s in agam] == ["pengaduan", "aspirasi", "permintaan_informasi"]
    assert agam[0] == {
        "service_code": "pengaduan",
        "service_name": "Pengaduan",
        "description": "Keluhan atas pelayanan publik atau masalah di lingkungan Anda.",
        "metadata": False,
        "type": "realtime",
        "keywords": "aduan, keluhan, complaint",
        "group": "LAPOR!",
    }
    resp = await client.get("/open311/v2/services.xml?jurisdiction_id=SBY")
    root = ET.fromstring((await resp.text()).encode())
    services = root.findall("service")
    assert [s.findtext("service_code") for s in services] == ["jalan_rusak", "sampah", "usulan"]
    assert services[0].findtext("metadata") == "true"
    assert services[1].findtext("metadata") == "false"
    assert services[0].findtext("group") == "Infrastruktur"


async def test_service_definition(client: TestClient) -> None:
    resp = await client.get("/open311/v2/services/jalan_rusak.json?jurisdiction_id=SBY")
    body = await resp.json()
    assert body["service_code"] == "jalan_rusak"
    (attr,) = body["attributes"]
    assert attr["code"] == "ukuran" and attr["datatype"] == "singlevaluelist"
    assert attr["required"] is True and attr["variable"] is True and attr["order"] == 1
    assert attr["datatype_description"] is None
    assert [v["key"] for v in attr["values"]] == ["kecil", "besar"]
    resp = await client.get("/open311/v2/services/JALAN_RUSAK.xml?jurisdiction_id=sby")
    root = ET.fromstring((await resp.text()).encode())
    assert root.tag == "service_definition"
    keys = [v.text for v in root.findall("attributes/attribute/values/value/key")]
    assert keys == ["kecil", "besar"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/open311/v2/services.json", 400),  # three regions: jurisdiction_id is needed
        ("/open311/v2/services.json?jurisdiction_id=JAKARTA", 404),
        ("/open311/v2/services/lampu.json?jurisdiction_id=SBY", 404),
        ("/open311/v2/requests/SBY-999999.json?jurisdiction_id=SBY", 404),
        ("/open311/v2/tokens/nothing.json?jurisdiction_id=SBY", 404),
        ("/open311/v2/requests.json?jurisdiction_id=SBY&start_date=yesterday", 400),
        ("/open311/v2/requests.json?jurisdiction_id=SBY&start_date=2026-01-01T00:00:00", 400),
        (
            "/open311/v2/requests.json?jurisdiction_id=SBY"
            "&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            400,
        ),
        (
            "/open311/v2/requests.json?jurisdiction_id=SBY"
            "&start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
            400,
        ),
        ("/open311/v2/requests.json?jurisdiction_id=SBY&status=pending", 400),
        ("/open311/v2/nothing.json", 404),
        # PostgreSQL refuses NUL; far-off years would overflow the 90-day window.
        ("/open311/v2/requests/%00.json?jurisdiction_id=SBY", 400),
        ("/open311/v2/tokens/a%00.json?jurisdiction_id=SBY", 400),
        ("/open311/v2/requests.json?jurisdiction_id=SBY&service_code=%00", 400),
        ("/open311/v2/requests.json?jurisdiction_id=SBY&service_request_id=%00", 400),
        (
            "/open311/v2/requests.json?jurisdiction_id=SBY&start_date=9999-12-31T23:59:59%2B14:00",
            400,
        ),
        ("/open311/v2/requests.json?jurisdiction_id=SBY&end_date=0001-01-01T00:00:00Z", 400),
    ],
)
async def test_errors_are_the_spec_list(client: TestClient, url: str, status: int) -> None:
    resp = await client.get(url)
    assert resp.status == status
    body = await resp.json()
    assert isinstance(body, list) and body and body[0]["code"] == status
    assert body[0]["description"]
    xml = await client.get(url.replace(".json", ".xml"))
    assert xml.status == status and xml.content_type == "text/xml"
    ((code, description),) = xml_errors(await xml.text())
    assert code == str(status) and description == body[0]["description"]


async def test_unknown_format_and_method(client: TestClient) -> None:
    resp = await client.get("/open311/v2/services.csv?jurisdiction_id=SBY")
    assert resp.status == 404 and xml_errors(await resp.text())
    resp = await client.delete("/open311/v2/requests.json")
    assert resp.status == 405 and resp.headers["Allow"] == "GET, POST"
    assert (await resp.json())[0]["code"] == 405
    resp = await client.post("/open311/v2/services.xml", data="a=b", headers=FORM)
    assert resp.status == 405 and resp.headers["Allow"] == "GET"
    assert xml_errors(await resp.text())[0][0] == "405"


# --- POST requests ----------------------------------------------------------------------


async def test_spec_example_request_becomes_a_complaint(client: TestClient, store: Store) -> None:
    form = fixture_form("spec_post_request.txt")
    resp = await post(client, form)
    assert resp.status == 200
    (answer,) = await resp.json()
    assert answer["service_request_id"] == "SBY-000001"
    assert "token" not in answer and answer["account_id"] == "123456"
    assert "SBY-000001" in answer["service_notice"]
    async with store.reader() as s:
        complaint = await s.scalar(select(Complaint))
        reporter = await s.get(Reporter, complaint.reporter_id)
        row = await s.scalar(select(Open311Request))
        event = await s.scalar(select(Event).order_by(Event.id.desc()).limit(1))
    assert complaint.channel == "open311" and complaint.region_code == "SBY"
    assert complaint.category == "pengaduan" and complaint.subject == "Jalan rusak"
    assert complaint.text == "Lubang besar di tengah jalan, motor sering jatuh"
    assert complaint.attachments[0]["url"] == "http://media.example.org/2212426634_5ed477a060.jpg"
    assert (reporter.name, reporter.phone, reporter.email) == (
        "Budi Santoso",
        "+6281234567890",
        "warga.satu@example.org",
    )
    assert (row.lat, row.long) == (-7.2575, 112.7521)
    assert row.address_string == "Jl. Tunjungan No. 5, Genteng, Surabaya"
    # The complaint itself knows where (what the console shows and LAPOR receives).
    assert complaint.location == {
        "lat": -7.2575,
        "long": 112.7521,
        "address": "Jl. Tunjungan No. 5, Genteng, Surabaya",
    }
    assert build_report(complaint, reporter, "").location == complaint.location
    assert row.attributes == {"ukuran": "besar"} and row.service_code == "jalan_rusak"
    assert row.device_id == "tt222111" and row.client == "portal-provinsi"
    assert (event.channel, event.outcome) == ("open311", "accepted")

    xml = await post(client, with_fields(form, description="Trotoar ambles di depan toko"), "xml")
    root = ET.fromstring((await xml.text()).encode())
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == "SBY-000002"


async def test_resends_are_not_second_complaints(client: TestClient, store: Store) -> None:
    form = fixture_form("spec_post_request.txt")
    first = await (await post(client, form)).json()
    again = await post(client, form)  # the same content: a retry after a lost answer
    assert again.status == 200 and await again.json() == first
    # Same device, same description, a new GPS fix and photo: still the same report.
    moved = with_fields(
        form, lat="-7.2576", long="112.7522", media_url="http://m.example.org/2.jpg"
    )
    assert (await (await post(client, moved)).json())[0]["service_request_id"] == "SBY-000001"
    assert await counts(store) == (1, 1)
    async with store.reader() as s:
        outcomes = (await s.scalars(select(Event.outcome).order_by(Event.id))).all()
    assert outcomes == ["accepted", "duplicate", "duplicate"]
    # Another description from that device is another report.
    other = with_fields(form, description="Got mampet, air meluap ke jalan")
    assert (await (await post(client, other)).json())[0]["service_request_id"] == "SBY-000002"
    # The same content from another client is that client's own report.
    bebeja = with_fields(
        fixture_form("fixmystreet_post_request.txt", API_KEY_BEBEJA), jurisdiction_id="PDG"
    )
    assert (await (await post(client, bebeja)).json())[0]["service_request_id"] == "PDG-000001"
    assert await counts(store) == (3, 3)


async def test_fixmystreet_request_without_jurisdiction_for_a_one_region_key(
    client: TestClient, store: Store
) -> None:
    form = with_fields(
        fixture_form("fixmystreet_post_request.txt", API_KEY_BEBEJA), jurisdiction_id=None
    )
    resp = await post(client, form)
    (answer,) = await resp.json()
    assert answer["service_request_id"] == "PDG-000001"
    assert "diverifikasi" in answer["service_notice"]  # Pandeglang reviews first
    assert answer["account_id"] is None


async def test_posts_share_the_api_rate_limit_per_key_and_address(
    settings: Settings, store: Store
) -> None:
    app = build_http_app(build_runtime(with_http(settings, rate_limit_per_minute=2), store))
    async with TestClient(TestServer(app)) as client:
        form = fixture_form(SPEC)
        assert [(await post(client, form)).status for _ in range(2)] == [200, 200]
        limited = await post(client, form)
        assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "Coba lagi dalam" in (await limited.json())[0]["description"]
        # Another key has its own budget; wrong keys are throttled per client address.
        assert (await post(client, fixture_form(SPEC, api_key=API_KEY_BEBEJA))).status == 403
        wrong = fixture_form(SPEC, api_key="x" * 40)
        assert [(await post(client, wrong)).status for _ in range(3)] == [403, 403, 429]
    assert (await counts(store))[0] == 1  # the second POST was a resend of the first


async def test_api_key_in_the_query_string(client: TestClient) -> None:
    form = with_fields(fixture_form("spec_post_request.txt"), api_key=None)
    resp = await client.post(
        f"/open311/v2/requests.json?api_key={API_KEY_ALL}", data=urlencode(form), headers=FORM
    )
    assert resp.status == 200


SPEC = "spec_post_request.txt"
LOCATION_KEYS = ("lat", "long", "address_string", "address_id")


@pytest.mark.parametrize(
    ("label", "changes", "status", "logged"),
    [
        ("no api_key", {"api_key": None}, 403, None),
        ("wrong api_key", {"api_key": "x" * 40}, 403, None),
        ("region not allowed", {"api_key": API_KEY_BEBEJA}, 403, "region_not_allowed"),
        ("unknown region", {"jurisdiction_id": "XX"}, 404, "jurisdiction_unknown"),
        ("no region, key for three", {"jurisdiction_id": None}, 400, "jurisdiction_missing"),
        ("no service", {"service_code": None}, 400, "no_service"),
        ("unknown service", {"service_code": "lampu"}, 404, "unknown_service"),
        (
            "no location",
            {"lat": None, "long": None, "address_string": None},
            400,
            "invalid_request",
        ),
        ("lat without long", {"long": None, "address_string": None}, 400, "invalid_request"),
        ("lat out of range", {"lat": "95"}, 400, "invalid_request"),
        ("lat not a number", {"lat": "nan"}, 400, "invalid_request"),
        ("required attribute missing", {"attribute[ukuran]": None}, 400, "invalid_request"),
        ("attribute value not listed", {"attribute[ukuran]": "raksasa"}, 400, "invalid_request"),
        ("unknown attribute", {"attribute[warna]": "merah"}, 400, "invalid_request"),
        ("no description", {"description": None}, 400, "invalid_request"),
        ("blank description", {"description": "   "}, 400, "invalid_request"),
        ("description too long", {"description": "a" * 10_001}, 400, "invalid_request"),
        ("media_url not http", {"media_url": "javascript:alert(1)"}, 400, "invalid_request"),
        ("control character", {"address_string": "Jl.\x00Tunjungan"}, 400, "invalid_request"),
        ("phone too long", {"phone": "1" * 40}, 400, "invalid_request"),
    ],
)
async def test_refused_requests_store_nothing(
    client: TestClient,
    store: Store,
    label: str,
    changes: dict[str, str | None],
    status: int,
    logged: str | None,
) -> None:
    form = with_fields(fixture_form(SPEC), **changes)
    for fmt in ("json", "xml"):
        resp = await post(client, form, fmt)
        assert resp.status == status, label
        if fmt == "json":
            body = await resp.json()
            assert body[0]["code"] == status and body[0]["description"]
        else:
            assert xml_errors(await resp.text())[0][0] == str(status)
    assert await counts(store) == (0, 0)
    async with store.reader() as s:
        reasons = (await s.scalars(select(Event.reason))).all()
    assert reasons == ([logged, logged] if logged else [])


async def test_every_problem_in_one_answer(client: TestClient) -> None:
    form = with_fields(
        fixture_form(SPEC), lat="abc", media_url="ftp://x", **{"attribute[ukuran]": None}
    )
    body = await (await post(client, form)).json()
    assert len(body) == 3 and {e["code"] for e in body} == {400}


async def test_form_must_be_form_encoded(client: TestClient, store: Store) -> None:
    resp = await client.post(
        "/open311/v2/requests.json",
        data=json.dumps(dict(fixture_form(SPEC))),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 400 and await counts(store) == (0, 0)


async def test_too_short_text_is_stored_and_refused(client: TestClient, store: Store) -> None:
    resp = await post(client, with_fields(fixture_form(SPEC), description="ok"))
    assert resp.status == 400
    assert "terlalu pendek" in (await resp.json())[0]["description"]
    # Stored for the operators (nothing is dropped), but no complaint.
    assert await counts(store) == (0, 1)
    again = await post(client, with_fields(fixture_form(SPEC), description="ok"))
    assert again.status == 400 and await counts(store) == (0, 1)


# --- GET requests -----------------------------------------------------------------------


async def test_requests_show_no_personal_data(client: TestClient, rt: Runtime) -> None:
    form = fixture_form(SPEC)
    await post(client, form)
    secret = make_raw(
        "Pungutan liar di kantor kelurahan oleh oknum",
        channel=Channel.WEB,
        region_hint="SBY",
        confidential=True,
    )
    await rt.intake.submit(secret)
    resp = await client.get("/open311/v2/requests.json?jurisdiction_id=SBY")
    body = await resp.json()
    assert [r["service_request_id"] for r in body] == ["SBY-000002", "SBY-000001"]
    confidential, mine = body
    text = json.dumps(body)
    for personal in ("Budi", "Santoso", "0812", "6281234567890", "example.org", "tt222111"):
        assert personal not in text.replace("media.example.org", "")
    assert mine["status"] == "open" and mine["status_notes"] == "Menunggu diteruskan ke LAPOR!."
    assert mine["service_code"] == "jalan_rusak" and mine["service_name"] == "Jalan rusak"
    assert mine["description"] == "Lubang besar di tengah jalan, motor sering jatuh"
    assert mine["agency_responsible"] == "Kota Surabaya"
    assert (mine["lat"], mine["long"]) == (-7.2575, 112.7521)
    assert mine["address"] == "Jl. Tunjungan No. 5, Genteng, Surabaya"
    assert mine["media_url"] == "http://media.example.org/2212426634_5ed477a060.jpg"
    assert mine["requested_datetime"].endswith("+07:00")
    assert confidential["description"] is None and confidential["lat"] is None
    assert confidential["service_code"] == "pengaduan"  # a web complaint: its category

    xml = await client.get("/open311/v2/requests.xml?jurisdiction_id=SBY")
    root = ET.fromstring((await xml.text()).encode())
    first = root.find("request")
    assert first.findtext("service_request_id") == "SBY-000002"
    assert first.find("description").text is None  # an empty element for a null


async def test_pending_review_shows_no_text(client: TestClient, store: Store, settings) -> None:
    form = fixture_form("fixmystreet_post_request.txt", API_KEY_BEBEJA)
    await post(client, with_fields(form, jurisdiction_id="PDG"))
    url = "/open311/v2/requests/pdg-000001.json?jurisdiction_id=PDG"
    (pending,) = await (await client.get(url)).json()
    assert pending["description"] is None and pending["media_url"] is None
    assert pending["lat"] == -0.3056  # where it is may be shown; what it says not yet
    await approve(store, settings, "PDG-000001")
    (approved,) = await (await client.get(url)).json()
    assert approved["description"].startswith("Lampu jalan mati")


async def test_request_filters(client: TestClient, rt: Runtime) -> None:
    form = fixture_form(SPEC)
    await post(client, form)
    sampah = {
        "service_code": "sampah",
        "description": "Sampah tiga hari",
        "attribute[ukuran]": None,
    }
    assert (await post(client, with_fields(form, **sampah))).status == 200
    await rt.intake.submit(make_raw("SBY lampu taman mati", received_at=_days_ago(120)))

    async def refs(query: str) -> list[str]:
        resp = await client.get(f"/open311/v2/requests.json?jurisdiction_id=SBY&{query}")
        assert resp.status == 200, await resp.text()
        return [r["service_request_id"] for r in await resp.json()]

    assert await refs("") == ["SBY-000002", "SBY-000001"]  # 90 days by default
    assert await refs("service_code=sampah") == ["SBY-000002"]
    assert await refs("service_code=jalan_rusak,sampah") == ["SBY-000002", "SBY-000001"]
    assert await refs("service_code=pengaduan") == []  # the SMS one is older than 90 days
    assert await refs("status=open") == ["SBY-000002", "SBY-000001"]
    assert await refs("status=closed") == []
    old = _days_ago(130).isoformat()
    assert await refs(f"start_date={old.replace('+00:00', 'Z')}") == ["SBY-000003"]
    assert await refs("service_request_id=sby-000003,SBY-000001") == [
        "SBY-000001",
        "SBY-000003",
    ]  # newest first


# --- tokens -------------------------------------------------------------------------------


async def test_batch_service_answers_a_token(tmp_path: Path, db_url: str, store: Store) -> None:
    regions = tmp_path / "regions"
    shutil.copytree(REGIONS_DIR, regions)
    with (regions / "agam.toml").open("a") as f:
        f.write('\n[[services]]\ncode = "pungli"\nname = "Pungutan liar"\ntype = "batch"\n')
    settings = load_settings(write_config(tmp_path / "cfg", db_url, regions_dir=regions))
    rt = build_runtime(settings, store)
    async with TestClient(TestServer(build_http_app(rt))) as client:
        form = with_fields(fixture_form("fixmystreet_post_request.txt"), service_code="pungli")
        (answer,) = await (await post(client, form)).json()
        assert "service_request_id" not in answer
        token = answer["token"]
        resp = await client.get(f"/open311/v2/tokens/{token}.xml?jurisdiction_id=AGAM")
        root = ET.fromstring((await resp.text()).encode())
        assert root.findtext("request/service_request_id") == "AGM-000001"
        assert root.findtext("request/token") == token
        (again,) = await (await post(client, form)).json()
        assert again["token"] == token  # a resend gets the same token
        other = await client.get(f"/open311/v2/tokens/{token}.json?jurisdiction_id=SBY")
        assert other.status == 404


# --- a published client library -------------------------------------------------------


async def test_georeport_client_library(client: TestClient) -> None:
    await post(client, fixture_form(SPEC))
    root = str(client.make_url("/open311/v2"))

    def read(fmt: str) -> tuple[list, dict, list, dict]:
        geo = GeoReport(root, jurisdiction="SBY", output_format=fmt)
        return (
            geo.get_service_list(),
            geo.get_service_definition("jalan_rusak"),
            geo.get_service_requests(status="open", service_code="jalan_rusak"),
            geo.get_service_request("SBY-000001"),
        )

    services, definition, requests, one = await asyncio.to_thread(read, "json")
    assert [s["service_code"] for s in services] == ["jalan_rusak", "sampah", "usulan"]
    assert definition["attributes"][0]["code"] == "ukuran"
    assert requests[0]["service_request_id"] == "SBY-000001"
    assert one["lat"] == -7.2575

    services, definition, requests, one = await asyncio.to_thread(read, "xml")
    assert [s["service_code"] for s in services] == ["jalan_rusak", "sampah", "usulan"]
    assert definition["attributes"]["attribute"]["code"] == "ukuran"
    assert requests["service_request_id"] == "SBY-000001"  # xmltodict: one element, no list
    assert one["lat"] == "-7.2575" and one["status"] == "open"


def _days_ago(days: int):
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(days=days)


async def test_own_channel_in_cli_log_and_stats(client: TestClient, config_path: Path) -> None:
    await post(client, fixture_form(SPEC))

    def cli(*args: str):
        return asyncio.to_thread(cli_in_process, config_path, *args)

    listed = await cli("complaints", "list", "--channel", "open311", "--json")
    assert listed.exit_code == 0, listed.output
    (complaint,) = json.loads(listed.output)
    assert complaint["tracking_ref"] == "SBY-000001" and complaint["channel"] == "open311"
    log = await cli("log", "--json", "--channel", "open311")
    (line,) = [json.loads(x) for x in log.output.splitlines()]
    assert (line["outcome"], line["region"]) == ("accepted", "SBY")
    stats = json.loads((await cli("stats", "--json")).output)
    assert {"region": "SBY", "channel": "open311", "outcome": "accepted", "count": 1} in stats[
        "all"
    ]


async def test_store_down_answers_503(rt: Runtime) -> None:
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    down = build_runtime(rt.settings, dead)
    try:
        async with TestClient(TestServer(build_http_app(down))) as c:
            for fmt in ("json", "xml"):
                resp = await post(c, fixture_form(SPEC), fmt)
                assert resp.status == 503 and resp.headers["Retry-After"] == "30"
                resp = await c.get(f"/open311/v2/requests.{fmt}?jurisdiction_id=SBY")
                assert resp.status == 503
            assert (await resp.text()).count("<error>") == 1
    finally:
        await dead.close()


def _mangled_forms() -> st.SearchStrategy[list[tuple[str, str]]]:
    """The spec's example with fields kept, dropped or replaced by any text, plus extras."""
    base = fixture_form(SPEC)
    field = st.one_of(
        st.just("keep"),
        st.just("drop"),
        st.text(max_size=30),
        st.sampled_from(["", " ", "91", "-7.25", "1e400", "sampah", "SBY", "agam", "a" * 300]),
    )
    extras = st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=3)

    def build(choices: list[object], extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
        form = []
        for (key, value), choice in zip(base, choices, strict=True):
            if choice == "keep":
                form.append((key, value))
            elif choice != "drop":
                form.append((key, str(choice)))
        return form + extra

    return st.builds(build, st.lists(field, min_size=len(base), max_size=len(base)), extras)


async def test_any_form_gets_an_answer_of_the_spec(client: TestClient, store: Store) -> None:
    """No 5xx, every answer the spec's shape, and a complaint only behind a new number."""
    loop = asyncio.get_running_loop()
    url = str(client.make_url("/open311/v2/requests.json"))
    numbers: set[str] = set()
    statuses: set[int] = set()

    def complaints() -> int:
        return asyncio.run_coroutine_threadsafe(counts(store), loop).result()[0]

    @given(form=_mangled_forms())
    @example(form=fixture_form(SPEC))  # so an accepted one is always among them
    @example(form=[f for f in fixture_form(SPEC) if f[0] not in LOCATION_KEYS])  # and a 400
    @settings(
        max_examples=120,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def one(form: list[tuple[str, str]]) -> None:
        before = complaints()
        resp = requests.post(url, data=urlencode(form), headers=FORM, timeout=10)
        statuses.add(resp.status_code)
        assert resp.status_code in (200, 400, 403, 404), resp.text
        body = resp.json()
        assert isinstance(body, list) and len(body) >= 1
        made = complaints() - before
        if resp.status_code == 200:
            number = body[0]["service_request_id"]
            assert made == (0 if number in numbers else 1)
            numbers.add(number)
        else:
            assert all(e["code"] == resp.status_code and e["description"] for e in body)
            assert made == 0

    await asyncio.to_thread(one)
    assert 200 in statuses and 400 in statuses, statuses

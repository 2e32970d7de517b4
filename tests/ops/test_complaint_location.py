"""A complaint's location on its detail page and in `complaints list|show --json`: from an
Open311 request (the spec's own example, posted over HTTP), an address alone, a point alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp.test_utils import TestClient

from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from normalizer.types import Location
from tests.ops.workbench_support import login, open_console
from tests.support import API_KEY_ALL, cli_in_process, make_raw

SPEC_REQUEST = Path(__file__).parents[1] / "fixtures" / "open311" / "spec_post_request.txt"
OSM = (
    "https://www.openstreetmap.org/?mlat=-7.257500&amp;mlon=112.752100#map=17/-7.257500/112.752100"
)


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[tuple[TestClient, Runtime]]:
    async with open_console(settings, store) as opened:
        yield opened


async def test_open311_location_on_the_detail_page_and_in_json(
    console: tuple[TestClient, Runtime], config_path: Path
) -> None:
    client, rt = console
    body = SPEC_REQUEST.read_text().strip().replace("{api_key}", API_KEY_ALL)
    resp = await client.post(
        "/open311/v2/requests.json",
        data=urlencode(parse_qsl(body)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 200, await resp.text()
    ref = (await resp.json())[0]["service_request_id"]
    await rt.intake.submit(make_raw("SBY lampu jalan mati"))  # no location given
    await login(client, "admin")
    page = await (await client.get(f"/ops/complaints/{ref}")).text()
    assert "Jl. Tunjungan No. 5, Genteng, Surabaya" in page
    assert "-7.257500, 112.752100" in page
    assert f'href="{OSM}"' in page and 'href="geo:-7.257500,112.752100"' in page
    assert "<iframe" not in page  # a link to a map, no map from elsewhere in the page
    page = await (await client.get("/ops/complaints/SBY-000002")).text()
    assert "<dt>Lokasi</dt><dd>Tidak diketahui</dd>" in page

    listed = await asyncio.to_thread(cli_in_process, config_path, "complaints", "list", "--json")
    places = {c["tracking_ref"]: c["location"] for c in json.loads(listed.stdout)}
    assert places == {
        ref: {
            "lat": -7.2575,
            "long": 112.7521,
            "address": "Jl. Tunjungan No. 5, Genteng, Surabaya",
        },
        "SBY-000002": None,
    }
    shown = await asyncio.to_thread(
        cli_in_process, config_path, "complaints", "show", ref, "--json"
    )
    assert json.loads(shown.stdout)["location"]["lat"] == -7.2575


async def test_address_only_and_point_only(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    for text, where in (
        ("AGAM jalan rusak dekat pasar", Location(address="Pasar Lubuk Basung")),
        ("AGAM lampu mati", Location(lat=-0.2947, long=100.0214)),
    ):
        await rt.intake.submit(make_raw(text, location=where))
    await login(client, "agam")
    # An address alone: shown, but there is nothing to put on a map.
    page = await (await client.get("/ops/complaints/AGM-000001")).text()
    assert "Pasar Lubuk Basung" in page and "geo:" not in page and "openstreetmap" not in page
    page = await (await client.get("/ops/complaints/AGM-000002")).text()
    assert "-0.294700, 100.021400" in page and 'href="geo:-0.294700,100.021400"' in page

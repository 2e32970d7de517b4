"""The fake LAPOR itself, over HTTP: what operators and tests rely on."""

from __future__ import annotations

import asyncio

import aiohttp

from gateway.lapor.report import report_json
from tests.lapor.sandbox_fixture import TOKEN, RunningSandbox, sample_report

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_concurrent_replays_of_one_key_create_one_report(sandbox: RunningSandbox) -> None:
    body = report_json(sample_report())
    async with aiohttp.ClientSession() as http:

        async def post() -> tuple[int, str]:
            headers = AUTH | {"Idempotency-Key": "same"}
            async with http.post(f"{sandbox.url}/api/v1/laporan", json=body, headers=headers) as r:
                return r.status, (await r.json())["tracking_id"]

        answers = await asyncio.gather(*(post() for _ in range(20)))
    assert sorted(status for status, _ in answers) == [200] * 19 + [201]
    assert len({tid for _, tid in answers}) == 1
    assert sandbox.lapor.counters == {
        "requests": 20,
        "reports": 1,
        "replays": 19,
        "injected_faults": 0,
    }


async def test_operator_page_list_and_status_change(sandbox: RunningSandbox) -> None:
    secret = report_json(sample_report(confidential=True, text="Pungli di kantor <desa> X"))
    open_ = report_json(sample_report(anonymous=True, text="Lampu jalan mati"))
    async with aiohttp.ClientSession() as http:
        ids = []
        for body in (secret, open_):
            async with http.post(f"{sandbox.url}/api/v1/laporan", json=body, headers=AUTH) as r:
                assert r.status == 201
                ids.append((await r.json())["tracking_id"])
        async with http.get(f"{sandbox.url}/") as r:
            page = await r.text()
        assert r.headers["Content-Type"].startswith("text/html")
        assert "Laporan di sini <strong>tidak</strong> diteruskan" in page
        assert ids[0] in page and ids[1] in page
        assert "Pungli" not in page and "(rahasia)" in page  # confidential text stays hidden
        assert "Lampu jalan mati" in page and "<em>anonim</em>" in page

        url = f"{sandbox.url}/sandbox/reports/{ids[1]}/status"
        async with http.post(url, json={"status": "selesai"}) as r:
            assert r.status == 200
        async with http.post(url, json={"status": "hilang"}) as r:
            assert r.status == 422
            assert "status harus salah satu dari" in (await r.json())["error"]
        async with http.get(f"{sandbox.url}/api/v1/laporan/{ids[1]}", headers=AUTH) as r:
            assert (await r.json())["status"] == "selesai"
        async with http.get(f"{sandbox.url}/sandbox/reports") as r:
            listed = await r.json()
        assert [x["tracking_id"] for x in listed] == ids
        assert [h["status"] for h in listed[1]["history"]] == ["diterima", "selesai"]


async def test_bad_requests_get_clear_errors(sandbox: RunningSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        post = f"{sandbox.url}/api/v1/laporan"
        async with http.post(post, data=b"{not json", headers=AUTH) as r:
            assert r.status == 400
        async with http.post(post, json={"text": "x"}, headers={"Authorization": "Bearer x"}) as r:
            assert r.status == 401
        leaky = report_json(sample_report()) | {"anonymous": True}
        async with http.post(post, json=leaky, headers=AUTH) as r:
            assert r.status == 422
            assert "anonim" in (await r.json())["error"]
        odd_reporter = report_json(sample_report()) | {"reporter": "Budi"}
        async with http.post(post, json=odd_reporter, headers=AUTH) as r:
            assert r.status == 422 and "reporter" in (await r.json())["error"]
        async with http.get(sandbox.url + "/") as r:  # the bimtek page still renders
            assert r.status == 200
        for body in (b"<lapor", b"<bukan/>", b'<lapor token="sandbox-token"/>'):
            async with http.post(f"{sandbox.url}/addstream", data=body) as r:
                assert r.status == 400
                assert "<status>error</status>" in await r.text()
    assert sandbox.lapor.counters["reports"] == 0


async def test_faults_can_be_changed_at_run_time(sandbox: RunningSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        faults = f"{sandbox.url}/sandbox/faults"
        async with http.post(faults, json={"status": 503, "retry_after": 30}) as r:
            assert (await r.json())["status"] == 503
        async with http.post(faults, json={"fail_rate": 2}) as r:
            assert r.status == 422
        async with http.post(
            f"{sandbox.url}/api/v1/laporan", json=report_json(sample_report()), headers=AUTH
        ) as r:
            assert r.status == 503 and r.headers["Retry-After"] == "30"
        async with http.post(faults, json={"status": None, "retry_after": None}) as r:
            assert r.status == 200
        async with http.post(
            f"{sandbox.url}/api/v1/laporan", json=report_json(sample_report()), headers=AUTH
        ) as r:
            assert r.status == 201

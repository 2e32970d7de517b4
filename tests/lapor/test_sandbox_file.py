"""The sandbox LAPOR keeps its reports in a file across restarts (`fake-lapor
--reports-file`, by default in data_dir): what it read back, and a file it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from fakes.lapor_sandbox import ReportFile, ReportFileError, SandboxLapor
from gateway.lapor.report import report_json
from tests.lapor.sandbox_fixture import TOKEN, sample_report, start_sandbox
from tests.support import cli_in_process, write_config

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_reports_keys_and_statuses_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "var" / "sandbox-lapor.jsonl"
    first, runner = await start_sandbox(reports_file=path)
    body = report_json_sample()
    async with aiohttp.ClientSession() as http:
        headers = AUTH | {"Idempotency-Key": "complaint-1"}
        async with http.post(f"{first.url}/api/v1/laporan", json=body, headers=headers) as r:
            tracking_id = (await r.json())["tracking_id"]
        url = f"{first.url}/sandbox/reports/{tracking_id}/status"
        async with http.post(url, json={"status": "selesai"}) as r:
            assert r.status == 200
    await runner.cleanup()

    second, runner = await start_sandbox(reports_file=path)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{second.url}/api/v1/laporan/{tracking_id}", headers=AUTH) as r:
                assert r.status == 200
                assert (await r.json())["status"] == "selesai"
            # The same key after the restart: the same report, not a second one.
            headers = AUTH | {"Idempotency-Key": "complaint-1"}
            async with http.post(f"{second.url}/api/v1/laporan", json=body, headers=headers) as r:
                assert r.status == 200 and (await r.json())["tracking_id"] == tracking_id
            async with http.get(f"{second.url}/") as r:
                assert tracking_id in await r.text()
    finally:
        await runner.cleanup()
    assert len(second.lapor.reports) == 1


def report_json_sample() -> dict[str, object]:
    return report_json(sample_report())


async def test_a_line_cut_by_a_crash_is_dropped_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reports.jsonl"
    lapor = SandboxLapor(TOKEN, reports_file=path)
    report, _ = await lapor._store("json", "k", {"text": "Jalan rusak"})
    whole = path.read_text(encoding="utf-8")
    path.write_text(whole + whole[:40], encoding="utf-8")  # the crash mid-write
    assert list(ReportFile(path).load()) == [report.tracking_id]

    path.write_text("bukan json\n" + whole, encoding="utf-8")
    with pytest.raises(ReportFileError, match=r"reports.jsonl: line 1 is not a sandbox report"):
        SandboxLapor(TOKEN, reports_file=path)
    assert json.loads(whole)["report"] == {"text": "Jalan rusak"}


def test_fake_lapor_refuses_to_start_on_an_unreadable_reports_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    bad = tmp_path / "reports.jsonl"
    bad.write_text('{"tracking_id": 1}\n', encoding="utf-8")
    result = cli_in_process(
        config, "fake-lapor", "--listen", "127.0.0.1:1", "--reports-file", str(bad)
    )
    assert result.exit_code == 1
    assert f"{bad}: line 1 is not a sandbox report" in result.stderr
    both = cli_in_process(config, "fake-lapor", "--in-memory", "--reports-file", str(bad))
    assert both.exit_code == 1 and "exclude each other" in both.stderr

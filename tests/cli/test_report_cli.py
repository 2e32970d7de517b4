"""`lapor-gateway report` on SQLite and PostgreSQL: the files it writes (Excel opened with
openpyxl), the days of the gateway's zone, masking, and clear errors for bad input."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import openpyxl

from gateway.runtime import Runtime
from tests.ops.report_support import MASKED_PHONE, PHONE, WEEK, seed_week
from tests.support import cli_in_process


async def report(config: Path, *args: str):
    return await asyncio.to_thread(cli_in_process, config, "report", *args)


async def test_region_report_as_excel(runtime: Runtime, config_path: Path, tmp_path: Path) -> None:
    await seed_week(runtime)
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "agam.xlsx"
    args = ["--region", "agam", "--from", WEEK[0], "--to", WEEK[1]]
    result = await report(config_path, *args, "--format", "xlsx", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "5 complaints received 2026-11-02..2026-11-08" in result.stdout
    wb = openpyxl.load_workbook(out)
    summary = [r for r in wb["Ringkasan"].iter_rows(values_only=True)]
    assert summary[0][0] == "Laporan pengaduan Kabupaten Agam"
    assert summary[5] == ("Kabupaten Agam", 5, 2, 1, 3, 1, 50.0, 73.5)
    assert len(summary) == 6  # one region: no total row
    lines = list(wb["Daftar aduan"].iter_rows(values_only=True))
    assert [r[0] for r in lines[1:]] == [f"AGM-00000{i}" for i in range(1, 6)]
    # The command line shows what an admin sees: reporters masked.
    reporters = "".join(str(r[10]) for r in lines[1:])
    assert PHONE not in reporters and MASKED_PHONE in reporters
    assert out.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in outdir.iterdir()] == ["agam.xlsx"]  # no temporary left


async def test_province_report_as_csv_is_inclusive_of_the_last_day(
    runtime: Runtime, config_path: Path, tmp_path: Path
) -> None:
    await seed_week(runtime)
    out = tmp_path / "provinsi.csv"
    # 9 November alone holds AGM-000006 (00:00 WIB), nothing else.
    for span, refs in (
        (WEEK, {"AGM-000001", "AGM-000002", "AGM-000003", "AGM-000004", "AGM-000005"}),
        (("2026-11-09", "2026-11-09"), {"AGM-000006"}),
    ):
        args = ["--from", span[0], "--to", span[1], "--format", "csv", "--output", str(out)]
        result = await report(config_path, *args)
        assert result.exit_code == 0, result.output
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        listed = rows[rows.index(["Daftar aduan"]) + 2 :]
        assert {r[0] for r in listed if r[0].startswith("AGM")} == refs
    assert rows[0] == ["Laporan pengaduan seluruh wilayah"]
    total = next(r for r in rows if r and r[0] == "Jumlah")
    assert total[1] == "1"


async def test_bad_input_is_one_clear_line(runtime: Runtime, config_path: Path, tmp_path: Path):
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = str(outdir / "r.csv")
    cases = [
        (["--from", "2026-11-31", "--to", WEEK[1]], "--from '2026-11-31': expected a date"),
        (["--from", WEEK[0], "--to", "08/11/2026"], "--to '08/11/2026': expected a date"),
        (["--from", WEEK[1], "--to", WEEK[0]], "--from 2026-11-08 is after --to 2026-11-02"),
        (["--from", "2024-01-01", "--to", WEEK[1]], "longer than 366 days"),
        (["--region", "NOPE", "--from", WEEK[0], "--to", WEEK[1]], "unknown region 'NOPE'"),
    ]
    for args, said in cases:
        result = await report(config_path, *args, "--format", "csv", "--output", out)
        assert result.exit_code == 1, args
        assert said in result.stderr and "Traceback" not in result.output, result.output
    result = await report(
        config_path, "--from", WEEK[0], "--to", WEEK[1], "--format", "pdf", "--output", out
    )
    assert result.exit_code == 2 and "'pdf' is not one of" in result.stderr
    missing = str(outdir / "no-such-dir" / "r.csv")
    result = await report(
        config_path, "--from", WEEK[0], "--to", WEEK[1], "--format", "csv", "--output", missing
    )
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert not list(outdir.iterdir())  # nothing written by any failed run

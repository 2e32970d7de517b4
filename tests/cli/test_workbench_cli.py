"""The workbench's CLI: SLA in `complaints list`, `report`, `stats --json` regions."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from gateway.runtime import Runtime
from gateway.store.models import Complaint
from tests.support import cli_in_process, make_raw

LONG_AGO = datetime.now(UTC) - timedelta(days=40)


async def seed_sla(rt: Runtime) -> None:
    """AGM-000001 old and still queued (verify overdue), AGM-000002 fresh, SBY-000001
    forwarded long ago and never closed (follow-up overdue), SBY-000002 closed."""
    await rt.intake.submit(make_raw("AGAM jalan rusak sejak lama", received_at=LONG_AGO))
    await rt.intake.submit(make_raw("AGAM lampu jalan mati kemarin"))
    await rt.intake.submit(make_raw("SBY banjir di jalan ahmad yani", received_at=LONG_AGO))
    await rt.intake.submit(make_raw("SBY sampah sudah diangkut", received_at=LONG_AGO))
    async with rt.store.transaction() as s:
        await s.execute(
            update(Complaint)
            .where(Complaint.tracking_ref == "SBY-000001")
            .values(status="forwarded", forwarded_at=LONG_AGO, lapor_tracking_id="LAP-1")
        )
        await s.execute(
            update(Complaint)
            .where(Complaint.tracking_ref == "SBY-000002")
            .values(
                status="closed",
                forwarded_at=LONG_AGO,
                lapor_tracking_id="LAP-2",
                lapor_status="selesai",
            )
        )


async def test_complaints_list_carries_sla_and_filters_overdue(
    runtime: Runtime, config_path: Path
) -> None:
    await seed_sla(runtime)
    result = await asyncio.to_thread(cli_in_process, config_path, "complaints", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["tracking_ref"]: r for r in json.loads(result.stdout)}
    old, fresh = rows["AGM-000001"]["sla"], rows["AGM-000002"]["sla"]
    assert old["overdue"] is True and fresh["overdue"] is False
    assert old["verify_due"].endswith("+07:00") and old["followup_due"] is None
    # Three working days are at least three calendar days later.
    due = datetime.fromisoformat(old["verify_due"])
    assert due - LONG_AGO >= timedelta(days=3)
    assert rows["SBY-000001"]["sla"]["overdue"] is True
    assert rows["SBY-000001"]["sla"]["followup_due"].endswith("+07:00")
    assert rows["SBY-000002"]["sla"]["overdue"] is False

    overdue = await asyncio.to_thread(
        cli_in_process, config_path, "complaints", "list", "--overdue", "--json"
    )
    assert [r["tracking_ref"] for r in json.loads(overdue.stdout)] == ["AGM-000001", "SBY-000001"]
    text = await asyncio.to_thread(cli_in_process, config_path, "complaints", "list", "--overdue")
    assert text.stdout.count("TERLAMBAT") == 2


async def test_stats_json_carries_regions(runtime: Runtime, config_path: Path) -> None:
    await seed_sla(runtime)
    since = (LONG_AGO - timedelta(days=1)).date().isoformat()
    result = await asyncio.to_thread(
        cli_in_process, config_path, "stats", "--json", "--from", since
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["regions_period"]["from"] == since
    regions = {r["region"]: r for r in data["regions"]}
    assert set(regions) == {"AGAM", "PDG", "SBY"}  # every region, even an empty one
    assert regions["AGAM"] | {"name": None} == {
        "region": "AGAM",
        "name": None,
        "received": 2,
        "forwarded": 0,
        "pending_review": 0,
        "overdue": 1,
        "resolved": 0,
        "on_time_pct": None,
        "median_hours_to_forward": None,
    }
    sby = regions["SBY"]
    assert (sby["received"], sby["forwarded"], sby["overdue"], sby["resolved"]) == (2, 2, 1, 1)
    assert sby["on_time_pct"] == 100.0 and sby["median_hours_to_forward"] == 0.0
    assert regions["PDG"]["received"] == 0

    # The default period is the last 30 days: the old complaints fall out of it.
    recent = json.loads(
        (await asyncio.to_thread(cli_in_process, config_path, "stats", "--json")).stdout
    )
    assert {r["region"]: r["received"] for r in recent["regions"]} == {
        "AGAM": 1,
        "PDG": 0,
        "SBY": 0,
    }
    text = await asyncio.to_thread(cli_in_process, config_path, "stats", "--from", since)
    assert "[regions" in text.stdout and "SBY" in text.stdout
    bad = await asyncio.to_thread(cli_in_process, config_path, "stats", "--from", "kemarin")
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.stderr

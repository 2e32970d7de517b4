"""A real sandbox LAPOR on a real port, for the lapor and outbox suites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from fakes.lapor_sandbox import Faults, SandboxLapor
from gateway.lapor.client import Report, ReportIdentity
from gateway.lapor.config import LaporConfig

TOKEN = "sandbox-token"


@dataclass
class RunningSandbox:
    lapor: SandboxLapor
    url: str

    def config(self, **changes: object) -> LaporConfig:
        base = {"mode": "sandbox", "base_url": self.url, "token": TOKEN, "timeout_s": 2.0}
        return LaporConfig.model_validate(base | changes)

    def fail(self, **faults: object) -> None:
        self.lapor.faults = Faults(**faults)  # type: ignore[arg-type]


async def start_sandbox(
    port: int = 0, *, reports_file: Path | None = None
) -> tuple[RunningSandbox, web.AppRunner]:
    lapor = SandboxLapor(TOKEN, seed=1708, reports_file=reports_file)
    runner = web.AppRunner(lapor.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    return RunningSandbox(lapor, f"http://127.0.0.1:{bound}"), runner


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    running, runner = await start_sandbox()
    yield running
    await runner.cleanup()


def sample_report(*, anonymous: bool = False, confidential: bool = False, **kw: str) -> Report:
    fields: dict[str, object] = {
        "complaint_id": "3f0c1a52-8f6e-4a53-9d51-0d8f0e2c1a77",
        "tracking_ref": "AGM-000042",
        "region_code": "AGAM",
        "institution_id": "1307",
        "channel": "sms",
        "category": "pengaduan",
        "subject": "Jalan rusak di depan Pasar Lubuk Basung",
        "text": "Jalan rusak di depan Pasar Lubuk Basung, sudah 3 bulan tidak diperbaiki.",
        "received_at": "2026-11-23T02:15:00Z",
        "anonymous": anonymous,
        "confidential": confidential,
        # Even a report that wrongly carries an identity must not leak it when anonymous.
        "reporter": ReportIdentity(
            name="Rina Marlina", phone="+6281234567890", email="rina@example.id"
        ),
    }
    fields.update(kw)
    return Report(**fields)  # type: ignore[arg-type]

"""Database URL credentials never reach an error, a log line or a health detail (issue 11.7)."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_http_app, build_runtime
from gateway.logfmt import KeyValueFormatter
from gateway.logsafe import redact
from gateway.settings import Settings
from gateway.store.db import Store, StoreUnavailable
from tests.support import run_cli, write_config

SECRET = "S3cret-pw"
URL = f"postgresql+asyncpg://lapor:{SECRET}@127.0.0.1:1/lapor"


def test_redact_keeps_everything_but_the_password() -> None:
    assert redact(f"database unavailable: {URL}") == (
        "database unavailable: postgresql+asyncpg://lapor:***@127.0.0.1:1/lapor"
    )
    assert redact("postgresql://lapor:p@ss@h/x") == "postgresql://lapor:***@h/x"
    assert redact(f"host=db password={SECRET} user=lapor") == "host=db password=*** user=lapor"
    for clean in ("sqlite+aiosqlite:///var/lapor.db", "postgresql://lapor@h/x", "a@b.c"):
        assert redact(clean) == clean
    assert SECRET not in str(StoreUnavailable(f"{URL}: refused"))


def test_cli_errors_hide_the_password(tmp_path: Path) -> None:
    config = write_config(tmp_path, URL)
    for args in (["check-config"], ["db", "upgrade"], ["complaints", "list"]):
        done = run_cli(config, *args)
        assert done.returncode != 0, args
        assert SECRET not in done.stderr + done.stdout, args
        assert "lapor:***@127.0.0.1:1" in done.stderr or "unavailable" in done.stderr, args


def test_log_lines_hide_the_password() -> None:
    record = logging.makeLogRecord(
        {"msg": "cannot connect to %s", "args": (URL,), "levelno": 40, "levelname": "ERROR"}
    )
    record.detail = f"dsn {URL}"
    line = KeyValueFormatter().format(record)
    assert SECRET not in line and "lapor:***@" in line


async def test_health_details_hide_the_password(settings: Settings, store: Store) -> None:
    rt = build_runtime(settings, store)
    rt.health.set("lapor", False, f"cannot reach http://gw:{SECRET}@lapor.example/api")
    async with TestClient(TestServer(build_http_app(rt))) as client:
        body = await (await client.get("/readyz")).text()
    assert SECRET not in body and "gw:***@lapor.example" in body

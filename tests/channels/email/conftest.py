"""E-mail fixtures: a config with the SMTP listener on a free port, and the running listener."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.email.smtp_listener import SmtpListener
from gateway.runtime import Runtime
from tests.support import free_port, write_config

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "email"


def email_toml(smtp_port: int, extra: str = "") -> str:
    return f"""
[channels.email]
max_attachment_bytes = 1048576

[channels.email.smtp]
enabled = true
listen = "127.0.0.1:{smtp_port}"
hostname = "mx.test.lapor"
{extra}
"""


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def email_extra() -> str:
    """Extra TOML under [channels.email.smtp]; tests override it with a fixture of their own."""
    return ""


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, smtp_port: int, email_extra: str) -> Path:
    return write_config(tmp_path / "cfg", db_url, email_toml(smtp_port, email_extra))


@pytest.fixture
async def listener(runtime: Runtime) -> AsyncIterator[SmtpListener]:
    service = SmtpListener(runtime)
    await service.start()
    yield service
    await service.stop()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()

"""E-mail fixtures: a config with the SMTP listener on a free port, and the running listener."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from channels.email.smtp_listener import SmtpListener
from gateway.runtime import Runtime
from tests.channels.email.imap_server import Dovecot, ImapAccount, Pymap, backend
from tests.support import free_port, write_config

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "email"


def email_toml(smtp_port: int, smtp_extra: str = "", sections: str = "") -> str:
    return f"""
[channels.email]
max_attachment_bytes = 1048576

[channels.email.smtp]
enabled = true
listen = "127.0.0.1:{smtp_port}"
hostname = "mx.test.lapor"
{smtp_extra}

{sections}
"""


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_extra() -> str:
    """Extra keys under [channels.email.smtp]; a test module overrides this fixture."""
    return ""


@pytest.fixture
def email_sections() -> str:
    """Further [channels.email.*] sections (imap, relay); a test module overrides this."""
    return ""


@pytest.fixture
def config_path(
    tmp_path: Path, db_url: str, smtp_port: int, smtp_extra: str, email_sections: str
) -> Path:
    return write_config(tmp_path / "cfg", db_url, email_toml(smtp_port, smtp_extra, email_sections))


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot | None]:
    if backend() != "dovecot":
        yield None
        return
    server = Dovecot()
    yield server
    server.close()


@pytest.fixture
def imap(dovecot: Dovecot | None) -> Iterator[ImapAccount]:
    """A fresh, empty mailbox on a real IMAP server."""
    if dovecot is not None:
        yield dovecot.account()
        return
    if backend() != "pymap":
        pytest.skip("no IMAP server: apt-get install -y dovecot-imapd, or pip install pymap")
    server = Pymap()
    yield server.account()
    server.close()


@pytest.fixture
async def listener(runtime: Runtime) -> AsyncIterator[SmtpListener]:
    service = SmtpListener(runtime)
    await service.start()
    yield service
    await service.stop()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()

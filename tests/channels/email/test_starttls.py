"""STARTTLS with a configured certificate (a self-signed one made by openssl for the test)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import select

from channels.email.smtp_listener import SmtpListener
from gateway.runtime import Runtime
from gateway.store.models import Complaint
from tests.channels.email.conftest import fixture_bytes

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")


@pytest.fixture
def smtp_extra(tmp_path: Path) -> str:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=mx.test.lapor", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return f'tls_cert = "{cert}"\ntls_key = "{key}"\n'


async def test_starttls_delivery(runtime: Runtime, listener: SmtpListener) -> None:
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=listener.port, start_tls=True, validate_certs=False
    ) as smtp:
        assert smtp.is_connected and smtp.get_transport_info("sslcontext") is not None
        await smtp.sendmail("warga@mail.id", ["aduan@agamkab.go.id"], fixture_bytes("no_from.eml"))
    async with runtime.store.reader() as s:
        assert (await s.scalar(select(Complaint.region_code))) == "AGAM"

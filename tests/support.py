"""Helpers shared by the test suites: config files, raw messages, subprocess gateways."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from normalizer.types import Channel, RawMessage

if TYPE_CHECKING:
    from gateway.settings import Settings

REPO = Path(__file__).resolve().parent.parent
REGIONS_DIR = REPO / "config" / "regions"
API_KEY_ALL = "portal-contoh-kunci-ganti-sebelum-produksi"
API_KEY_BEBEJA = "bebeja-contoh-kunci-ganti-sebelum-produksi"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(
    directory: Path,
    database_url: str,
    extra: str = "",
    *,
    listen: str | None = None,
    regions_dir: Path = REGIONS_DIR,
    lapor_url: str = "http://127.0.0.1:9",
) -> Path:
    """A gateway.toml for tests: the example regions, the store under test, given extras.

    `extra` is appended TOML (whole sections); sections named there must not repeat
    the ones written here ([gateway], [http], [lapor], [[api_clients]]).
    """
    directory.mkdir(parents=True, exist_ok=True)
    listen = listen or f"127.0.0.1:{free_port()}"
    path = directory / "gateway.toml"
    path.write_text(
        f"""
[gateway]
database_url = "{database_url}"
data_dir = "{directory / "data"}"
regions_dir = "{regions_dir}"

[http]
listen = "{listen}"
public_url = "http://{listen}"
rate_limit_per_minute = 100000

[[api_clients]]
name = "portal-provinsi"
key = "{API_KEY_ALL}"
regions = ["AGAM", "PDG", "SBY"]

[[api_clients]]
name = "bebeja"
key = "{API_KEY_BEBEJA}"
regions = ["PDG"]

[lapor]
mode = "sandbox"
base_url = "{lapor_url}"
max_attempts = 3
backoff_base_s = 0.05
backoff_max_s = 0.5
{extra}
""",
        encoding="utf-8",
    )
    return path


def make_raw(
    text: str = "AGAM jalan rusak di depan pasar",
    *,
    channel: Channel = Channel.SMS,
    external_id: str | None = None,
    sender: str = "+6281234567890",
    recipient: str = "1708",
    **kwargs: Any,
) -> RawMessage:
    make_raw.counter += 1  # type: ignore[attr-defined]
    return RawMessage(
        channel=channel,
        external_id=external_id or f"test-{os.getpid()}-{make_raw.counter}",  # type: ignore[attr-defined]
        sender=sender,
        recipient=recipient,
        text=text,
        received_at=kwargs.pop("received_at", datetime.now(UTC)),
        **kwargs,
    )


make_raw.counter = 0  # type: ignore[attr-defined]


def gateway_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", "--config", str(config), *args]


def run_cli(config: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gateway_cmd(config, *args),
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
        cwd=REPO,
    )


def start_gateway(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    return subprocess.Popen(
        gateway_cmd(config, "serve"), stdout=log, stderr=subprocess.STDOUT, cwd=REPO
    )


def log_tail(log: Path) -> str:
    """The end of a gateway's output, for a failing test's message (read once, on failure)."""
    return log.read_text(errors="replace")[-4000:]


async def wait_http(
    url: str,
    timeout: float = 60.0,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Wait until a URL answers 200 (a gateway subprocess finished starting).

    With `proc` and `log`, a gateway that exits or never answers fails the test with
    its own output, so the cause is on screen.
    """
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            exited = proc is not None and proc.poll() is not None
            if exited or time.monotonic() > deadline:
                output = log_tail(log) if log else ""
                state = f"exited with {proc.returncode}" if exited else f"not up in {timeout}s"
                raise TimeoutError(f"{url}: gateway {state}\n{output}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def running_gateway(config: Path, log: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`lapor-gateway serve` in a subprocess, answering /healthz when the block starts.

    A block may `kill` it (SIGKILL) to test a crash. Otherwise leaving the block stops it
    with SIGTERM and, when the block went well, requires the graceful stop to exit 0.
    """
    from gateway.settings import load_settings

    health = f"http://{load_settings(config).http.listen}/healthz"
    proc = start_gateway(config, log)
    try:
        await wait_http(health, proc=proc, log=log)
        yield proc
    except BaseException:
        if proc.poll() is None:
            await kill(proc)
        raise
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
        assert code == 0, f"graceful stop exited {code}\n{log_tail(log)}"


async def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the crash a power cut or the OOM killer gives."""
    proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(proc.wait)


def cli_in_process(config: Path, *args: str, input: str | None = None) -> Any:
    """Run the CLI in this process (click's runner): same code path, no interpreter start."""
    from click.testing import CliRunner

    from gateway.cli import cli

    return CliRunner().invoke(cli, ["--config", str(config), *args], input=input)


# A config whose SMS channel can answer and sends every notice (the default sends one).
EVERY_SMS_NOTICE = """
[channels.sms.reply]
kind = "http"
url = "http://127.0.0.1:9/sms"

[replies.sms]
notices = ["receipt", "help", "forwarded", "rejected_by_operator", "resolved"]
"""


async def pg_admin(base_url: str, sql: str) -> None:
    """One statement on the server of `base_url` (CREATE/DROP DATABASE need no transaction)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "test",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def with_http(settings: Settings, **changes: object) -> Settings:
    """The same settings with other [http] values (write_config fixes that section)."""
    http = settings.file.http.model_validate({**settings.file.http.model_dump(), **changes})
    settings.file = settings.file.model_copy(update={"http": http})
    return settings


async def raw_post(
    host: str, port: int, path: str, headers: list[tuple[str, bytes]], body: bytes
) -> tuple[int, bytes]:
    """One POST written byte for byte (header values an HTTP client library would refuse
    to send, e.g. invalid UTF-8); (status, body) of the answer."""
    reader, writer = await asyncio.open_connection(host, port)
    head = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n".encode()
        + head
        + b"\r\n"
        + body
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]

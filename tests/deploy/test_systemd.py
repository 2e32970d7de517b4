"""deploy/lapor-gateway.service is valid for systemd and drives the gateway the way it expects:
readiness (Type=notify), reload by SIGHUP, graceful stop by SIGTERM."""

from __future__ import annotations

import asyncio
import configparser
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO, running_gateway

UNIT = REPO / "deploy" / "lapor-gateway.service"
VENV_BIN = REPO / ".venv" / "bin"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def _local_copy(tmp_path: Path) -> Path:
    """The unit with its install paths pointed at this checkout, so verify finds ExecStart."""
    text = UNIT.read_text()
    text = text.replace("/opt/lapor-gateway/venv/bin", str(VENV_BIN))
    text = text.replace("/etc/lapor-gateway/gateway.toml", str(REPO / "config" / "gateway.toml"))
    path = tmp_path / "lapor-gateway.service"
    path.write_text(text)
    return path


needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (Debian package systemd; .ci/system-deps.sh installs it)",
)


@needs_analyze
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = _local_copy(tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", unit.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify also prints warnings about the host's own units; ours must have none.
    ours = [line for line in done.stderr.splitlines() if "lapor-gateway" in line]
    assert done.returncode == 0 and not ours, done.stderr


@needs_analyze
def test_unit_hardening_exposure_is_low(tmp_path: Path) -> None:
    unit = _local_copy(tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    if match is None and "--offline" in done.stderr:
        pytest.skip(f"this systemd-analyze cannot assess offline: {done.stderr.strip()}")
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.5, done.stdout  # systemd rates <= 2.9 as "OK"


def test_unit_restarts_on_failure_and_keeps_state() -> None:
    service = _unit()["Service"]
    assert service["Type"] == "notify"
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "lapor-gateway"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["User"] != "root"
    # The exit codes the CLI gives for a config error and an unmigrated database.
    assert set(service["RestartPreventExitStatus"].split()) == {"2", "3"}


def test_unit_commands_exist_in_the_cli() -> None:
    """ExecStart lines must keep working when the CLI changes: run them with --help."""
    service = _unit()["Service"]
    for key in ("ExecStartPre", "ExecStart"):
        args = service[key].split()
        assert args[0].endswith("/lapor-gateway")
        cmd = [str(VENV_BIN / "lapor-gateway"), *args[1:], "--help"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (key, done.stderr)


@pytest.mark.slow
async def test_notify_protocol_ready_reload_stopping(
    tmp_path: Path, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
    loop = asyncio.get_running_loop()

    async def next_state() -> str:
        return (await asyncio.wait_for(loop.sock_recv(sock, 4096), 30)).decode()

    try:
        async with running_gateway(config_path, tmp_path / "gateway.log") as proc:
            ready = await next_state()
            assert ready.startswith("READY=1") and f"MAINPID={proc.pid}" in ready
            proc.send_signal(signal.SIGHUP)
            assert await next_state() == "RELOADING=1"
            assert await next_state() == "READY=1"
            assert proc.poll() is None
        assert await next_state() == "STOPPING=1"
    finally:
        sock.close()

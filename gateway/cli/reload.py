"""`lapor-gateway reload`: check the config, then ask the running gateway to re-read regions."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from gateway.cli.common import CliContext, fail, pass_cli
from gateway.reload import pid_path


def _is_gateway(pid: int) -> bool:
    """After a crash the pid may belong to another program by now: never signal that."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        args = cmdline.read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc to ask: trust the pid file
    return any(b"lapor-gateway" in a or a == b"gateway.cli" for a in args)


@click.command()
@pass_cli
def reload(ctx: CliContext) -> None:
    """Re-read the region files in the running gateway without dropping connections (SIGHUP).

    The config is checked first: with an error, nothing is sent and the gateway keeps
    its regions. Other keys than regions take effect at the next restart.
    """
    settings = ctx.settings  # a config error stops here, before any signal
    path = pid_path(settings)
    try:
        pid = int(path.read_text().strip())
    except FileNotFoundError:
        fail(f"no running gateway: {path} not found (under systemd: systemctl reload)")
    except ValueError:
        fail(f"{path}: not a process id")
    if not _is_gateway(pid):
        fail(f"process {pid} from {path} is not a running lapor-gateway")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        fail(f"process {pid} from {path} is not running")
    click.echo(f"reload requested (pid {pid}); the gateway logs 'regions reloaded'")

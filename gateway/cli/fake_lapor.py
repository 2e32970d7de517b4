"""`fake-lapor`: the sandbox LAPOR for tests, `make run` and operator training (bimtek)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from fakes.lapor_sandbox import Faults, ReportFileError, run_sandbox
from gateway.cli.common import CliContext, fail, pass_cli, run
from gateway.config_base import parse_listen


@click.command("fake-lapor")
@click.option("--listen", default="127.0.0.1:8090", show_default=True, help="HOST:PORT.")
@click.option(
    "--token", default=None, help="Bearer token to require (default: [lapor] token of the config)."
)
@click.option(
    "--fail-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of failing calls."
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every answer.")
@click.option(
    "--status", "status", type=click.IntRange(400, 599), help="Fail with this HTTP status."
)
@click.option(
    "--retry-after", type=click.IntRange(min=0), help="Retry-After seconds with --status."
)
@click.option(
    "--reports-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the reports here, across restarts (default: sandbox-lapor.jsonl in "
    "[gateway] data_dir).",
)
@click.option("--in-memory", is_flag=True, help="Keep no file: a restart forgets every report.")
@pass_cli
def fake_lapor(
    ctx: CliContext,
    listen: str,
    token: str | None,
    fail_rate: float,
    latency_ms: int,
    status: int | None,
    retry_after: int | None,
    reports_file: Path | None,
    in_memory: bool,
) -> None:
    """Run a fake LAPOR!-SP4N: keeps reports (in a file, across restarts), answers 7-digit
    tracking ids, honours idempotency keys, shows an Indonesian page of received reports,
    injects faults."""
    try:
        host, port = parse_listen(listen)
    except ValueError as e:
        fail(f"--listen: {e}")
    faults = Faults(
        fail_rate=fail_rate, latency_ms=latency_ms, status=status, retry_after=retry_after
    )
    token = token or ctx.settings.lapor.token
    if in_memory and reports_file:
        fail("--in-memory and --reports-file exclude each other")
    if not in_memory and reports_file is None:
        reports_file = ctx.settings.data_dir / "sandbox-lapor.jsonl"

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_sandbox(host, port, token, faults, stop=stop, reports_file=reports_file)
        except ReportFileError as e:
            fail(str(e))

    run(go())

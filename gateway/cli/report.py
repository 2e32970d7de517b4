"""`lapor-gateway report`: the console's report for pimpinan, as a file."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store
from gateway.ops.aggregates import Period
from gateway.ops.report_data import MAX_REPORT_DAYS, build_report
from gateway.ops.report_files import to_csv, to_xlsx
from gateway.sla import working_days
from gateway.store.db import Store

WRITERS = {"csv": to_csv, "xlsx": to_xlsx}


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: expected a date YYYY-MM-DD")


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader (or a mail job picking up the file) never sees half a report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o640)  # personal data, even masked: not for every local user
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.command()
@click.option("--region", help="Region code, e.g. AGAM (default: every region).")
@click.option("--from", "from_", required=True, help="First day received, YYYY-MM-DD.")
@click.option("--to", "to", required=True, help="Last day received, YYYY-MM-DD (inclusive).")
@click.option("--format", "fmt", type=click.Choice(sorted(WRITERS)), required=True)
@click.option(
    "--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path)
)
@pass_cli
def report(
    ctx: CliContext, region: str | None, from_: str, to: str, fmt: str, output: Path
) -> None:
    """Complaints received FROM..TO (days in [gateway] timezone) for pimpinan: totals, per
    channel, per category and the list. Reporters are masked, as for an admin."""
    settings = ctx.settings
    zone = ZoneInfo(settings.gateway.timezone)
    start, end = _day(from_, "--from"), _day(to, "--to")
    if start > end:
        fail(f"--from {start} is after --to {end}")
    if (end - start).days >= MAX_REPORT_DAYS:
        fail(f"the period is longer than {MAX_REPORT_DAYS} days")
    code = region.upper() if region else None
    if code is not None and code not in settings.regions:
        fail(f"unknown region {region!r}; known: {', '.join(sorted(settings.regions))}")
    if not output.parent.is_dir():
        fail(f"--output {output}: directory {output.parent} does not exist")

    async def go(store: Store) -> None:
        async with store.reader() as session:
            built = await build_report(
                session,
                settings,
                working_days(settings),
                Period(start, end, zone),
                code,
                full_reporter=False,
            )
        _write_atomically(output, WRITERS[fmt](built))
        click.echo(f"{output}: {len(built.lines)} complaints received {start}..{end}")

    run_with_store(settings, go)

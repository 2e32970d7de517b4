from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from gateway.cli.common import CliContext, pass_cli, run_with_store, to_json
from gateway.queries import intake_stats
from gateway.store.db import Store


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def stats(ctx: CliContext, as_json: bool) -> None:
    """Inbound counts by region × channel × outcome: today ([gateway] timezone), 7 days,
    all time."""

    async def go(store: Store) -> None:
        async with store.reader() as session:
            data = await intake_stats(session, zone=ZoneInfo(ctx.settings.gateway.timezone))
        if as_json:
            click.echo(to_json(data))
            return
        for window in ("today", "7d", "all"):
            zone = f" (since midnight {ctx.settings.gateway.timezone})" if window == "today" else ""
            click.echo(f"[{window}]{zone}")
            for row in sorted(data[window], key=lambda r: (r["region"] or "", r["channel"])):
                click.echo(
                    f"  {row['region'] or '-':<6} {row['channel']:<8} "
                    f"{row['outcome']:<10} {row['count']}"
                )
        click.echo("[complaints by status]")
        for row in data["complaints_by_status"]:
            click.echo(f"  {row['region']:<6} {row['status']:<20} {row['count']}")

    run_with_store(ctx.settings, go)

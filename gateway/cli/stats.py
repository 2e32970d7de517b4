from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import click

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store, to_json
from gateway.ops.aggregates import DEFAULT_DAYS, Period, region_summary
from gateway.queries import intake_stats, reply_stats
from gateway.sla import working_days
from gateway.store.db import Store


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: expected a date YYYY-MM-DD")


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--from", "from_", help="Regions table: received from YYYY-MM-DD (30 days back).")
@click.option("--to", "to", help="Regions table: received up to YYYY-MM-DD (today).")
@pass_cli
def stats(ctx: CliContext, as_json: bool, from_: str | None, to: str | None) -> None:
    """Inbound counts by region × channel × outcome (today, 7 days, all time), replies sent
    / failed / unsendable per channel per day (7 days, `replies`) and, per region,
    received / forwarded / waiting / overdue / resolved / on time (`regions`)."""
    zone = ZoneInfo(ctx.settings.gateway.timezone)
    default = Period.last_days(DEFAULT_DAYS, zone)
    period = Period(_day(from_, "--from") or default.start, _day(to, "--to") or default.end, zone)
    if period.start > period.end:
        fail("--from is after --to")

    async def go(store: Store) -> None:
        async with store.reader() as session:
            data = await intake_stats(session, zone=zone)
            data["regions"] = await region_summary(
                session, ctx.settings, working_days(ctx.settings), period
            )
            data["regions_period"] = period.as_json()
            data["replies"] = await reply_stats(session, zone)
        if as_json:
            click.echo(to_json(data))
            return
        for window in ("today", "7d", "all"):
            today = window == "today"
            since = f" (since midnight {ctx.settings.gateway.timezone})" if today else ""
            click.echo(f"[{window}]{since}")
            for row in sorted(data[window], key=lambda r: (r["region"] or "", r["channel"])):
                click.echo(
                    f"  {row['region'] or '-':<6} {row['channel']:<8} "
                    f"{row['outcome']:<10} {row['count']}"
                )
        click.echo("[complaints by status]")
        for row in data["complaints_by_status"]:
            click.echo(f"  {row['region']:<6} {row['status']:<20} {row['count']}")
        click.echo(f"[replies per day ({ctx.settings.gateway.timezone})]")
        click.echo("  day        channel    sent failed unsendable")
        for r in data["replies"]:
            click.echo(
                f"  {r['day']} {r['channel']:<9} {r['sent']:>5} {r['failed']:>6} "
                f"{r['unsendable']:>10}"
            )
        click.echo(f"[regions {period.start} .. {period.end}]")
        click.echo("  region  received forwarded pending overdue resolved on_time% median_h")
        for r in data["regions"]:
            pct = "-" if r["on_time_pct"] is None else f"{r['on_time_pct']:.1f}"
            med = "-" if r["median_hours_to_forward"] is None else r["median_hours_to_forward"]
            click.echo(
                f"  {r['region']:<7} {r['received']:>8} {r['forwarded']:>9} "
                f"{r['pending_review']:>7} {r['overdue']:>7} {r['resolved']:>8} {pct:>8} {med:>8}"
            )

    run_with_store(ctx.settings, go)

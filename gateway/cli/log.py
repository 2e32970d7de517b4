from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import click

from gateway import events
from gateway.cli.common import CliContext, pass_cli, run_with_store, to_json
from gateway.store.db import Store

FOLLOW_INTERVAL_S = 0.5


@click.command("log")
@click.option("--follow", "-f", is_flag=True, help="Keep printing events as they are committed.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines.")
@click.option("--channel", help="Only this channel.")
@click.option("--region", help="Only this region.")
@click.option("--since-id", type=int, default=0, help="Start after this event id.")
@pass_cli
def log_cmd(
    ctx: CliContext,
    follow: bool,
    as_json: bool,
    channel: str | None,
    region: str | None,
    since_id: int,
) -> None:
    """The ingestion log: every inbound outcome, forward and reply, oldest first. An inbound
    message's number (#12) is what `complaints assign 12 --region R` takes."""

    zone = ZoneInfo(ctx.settings.gateway.timezone)  # JSON keeps UTC; people read local time

    async def go(store: Store) -> None:
        last = since_id
        while True:
            async with store.reader() as session:
                batch = await events.fetch_after(
                    session, last, channel=channel, region=region and region.upper()
                )
            for e in batch:
                data = events.event_json(e)
                if as_json:
                    click.echo(to_json(data))
                else:
                    number = f"#{data['inbound_id']}" if data["inbound_id"] else "-"
                    click.echo(
                        f"{e.ts.astimezone(zone):%Y-%m-%d %H:%M:%S %Z} "
                        f"{e.kind:<8} {e.channel or '-':<8} "
                        f"{e.region_code or '-':<6} {e.outcome:<12} {number:<7} "
                        f"{e.external_id or ''}{'  ' + e.reason if e.reason else ''}"
                    )
                last = e.id
            if batch:
                continue  # there may be more than one page
            if not follow:
                return
            # Polling the table sees commits of every process on both databases.
            await asyncio.sleep(FOLLOW_INTERVAL_S)

    try:
        run_with_store(ctx.settings, go)
    except BrokenPipeError:
        pass

from __future__ import annotations

import click

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store, to_json
from gateway.queries import complaint_json, find_complaint, list_complaints
from gateway.store.db import Store

STATUSES = ["pending_review", "queued", "forwarded", "failed", "rejected_by_operator", "closed"]


@click.group()
def complaints() -> None:
    """List, show and review complaints."""


@complaints.command("list")
@click.option("--region", help="Region code, e.g. AGAM.")
@click.option("--channel", type=click.Choice(["sms", "twitter", "email", "web", "api"]))
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--limit", type=click.IntRange(min=1), help="At most N (oldest first).")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_cli
def list_cmd(
    ctx: CliContext,
    region: str | None,
    channel: str | None,
    status: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Every matching complaint, oldest first."""

    async def go(store: Store) -> None:
        async with store.reader() as session:
            rows = await list_complaints(
                session, region=region, channel=channel, status=status, limit=limit
            )
        if as_json:
            click.echo(to_json([complaint_json(c, r) for c, r in rows]))
            return
        for c, _ in rows:
            received = c.received_at.strftime("%Y-%m-%d %H:%M")
            click.echo(
                f"{c.tracking_ref:<12} {c.region_code:<6} {c.channel:<8} {c.status:<20} "
                f"{received}  {c.subject}"
            )

    run_with_store(ctx.settings, go)


@complaints.command("show")
@click.argument("id_or_ref")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def show_cmd(ctx: CliContext, id_or_ref: str, as_json: bool) -> None:
    """One complaint by id or tracking number."""

    async def go(store: Store) -> None:
        async with store.reader() as session:
            found = await find_complaint(session, id_or_ref)
        if found is None:
            fail(f"no complaint {id_or_ref!r}")
        data = complaint_json(*found)
        if as_json:
            click.echo(to_json(data))
            return
        for key, value in data.items():
            click.echo(f"{key:>22}: {to_json(value) if isinstance(value, dict | list) else value}")

    run_with_store(ctx.settings, go)

from __future__ import annotations

from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

import click

from gateway.cli.common import (
    CliContext,
    fail,
    pass_cli,
    run_quietly_into_pipe,
    run_with_store,
    to_json,
)
from gateway.labels import COMPLAINT_STATUSES
from gateway.queries import complaint_json, find_complaint, list_complaints
from gateway.review import Decision, ReviewError, approve, assign, reject
from gateway.sla import working_days
from gateway.store.db import Store
from gateway.store.models import utcnow
from normalizer.types import Channel


@click.group()
def complaints() -> None:
    """List, show and review complaints."""


@complaints.command("list")
@click.option("--region", help="Region code, e.g. AGAM.")
@click.option("--channel", type=click.Choice([c.value for c in Channel]))
@click.option("--status", type=click.Choice(COMPLAINT_STATUSES))
@click.option("--limit", type=click.IntRange(min=1), help="At most N (oldest first).")
@click.option("--overdue", is_flag=True, help="Only complaints past their SLA ([sla]).")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_cli
def list_cmd(
    ctx: CliContext,
    region: str | None,
    channel: str | None,
    status: str | None,
    limit: int | None,
    overdue: bool,
    as_json: bool,
) -> None:
    """Every matching complaint, oldest first."""
    calendar = working_days(ctx.settings)

    async def go(store: Store) -> None:
        now = utcnow()
        async with store.reader() as session:
            rows = await list_complaints(
                session,
                region=region,
                channel=channel,
                status=status,
                limit=limit,
                where=calendar.overdue_clause(now) if overdue else None,
            )
        if as_json:
            out = [
                complaint_json(c, r) | {"sla": calendar.sla_json(c, now), "location": c.location}
                for c, r in rows
            ]
            click.echo(to_json(out))
            return
        zone = ZoneInfo(ctx.settings.gateway.timezone)
        for c, _ in rows:
            received = c.received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
            late = "  TERLAMBAT" if calendar.is_overdue(c, now) else ""
            click.echo(
                f"{c.tracking_ref:<12} {c.region_code:<6} {c.channel:<8} {c.status:<20} "
                f"{received}  {c.subject}{late}"
            )

    run_quietly_into_pipe(lambda: run_with_store(ctx.settings, go))


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
        data = complaint_json(*found) | {"location": found[0].location}
        if as_json:
            click.echo(to_json(data))
            return
        for key, value in data.items():
            click.echo(f"{key:>22}: {to_json(value) if isinstance(value, dict | list) else value}")

    run_with_store(ctx.settings, go)


# -- review queue (gateway/review.py) ------------------------------------------------------


def _decide(ctx: CliContext, decide: Callable[[Store], Awaitable[Decision]]) -> None:
    async def go(store: Store) -> None:
        try:
            d = await decide(store)
        except ReviewError as e:
            fail(e.en)
        click.echo(f"{d.tracking_ref} {d.region_code} {d.status}")

    run_with_store(ctx.settings, go)


@complaints.command("approve")
@click.argument("id_or_ref")
@pass_cli
def approve_cmd(ctx: CliContext, id_or_ref: str) -> None:
    """Approve a complaint waiting for review: it is forwarded to LAPOR."""
    _decide(ctx, lambda store: approve(store, ctx.settings, id_or_ref))


@complaints.command("reject")
@click.argument("id_or_ref")
@click.option("--reason", required=True, help="Told to the citizen (Indonesian).")
@pass_cli
def reject_cmd(ctx: CliContext, id_or_ref: str, reason: str) -> None:
    """Reject a complaint; the citizen gets a polite reply with the reason."""
    _decide(ctx, lambda store: reject(store, ctx.settings, id_or_ref, reason))


@complaints.command("assign")
@click.argument("target")
@click.option("--region", required=True, help="Region code, e.g. AGAM.")
@pass_cli
def assign_cmd(ctx: CliContext, target: str, region: str) -> None:
    """Move a complaint to another region (its tracking number stays), or make an
    unrouted/rejected inbound message (its number, as `log` shows) a complaint."""
    _decide(ctx, lambda store: assign(store, ctx.settings, target, region))

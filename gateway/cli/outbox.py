"""`outbox status [--json]` and `outbox retry [ID | --dead]`."""

from __future__ import annotations

import click

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store, to_json
from gateway.outbox import NothingToRetry, replay, status_summary
from gateway.store.db import Store


@click.group()
def outbox() -> None:
    """Forwards to LAPOR and replies to citizens waiting to leave."""


@outbox.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_cli
def status_cmd(ctx: CliContext, as_json: bool) -> None:
    """Rows by kind and status, and every dead or unsendable row with its last error."""

    async def go(store: Store) -> None:
        summary = await status_summary(store)
        if as_json:
            click.echo(to_json(summary))
            return
        if not summary["counts"]:
            click.echo("outbox is empty")
        for kind, by_status in sorted(summary["counts"].items()):
            counts = ", ".join(f"{s} {n}" for s, n in sorted(by_status.items()))
            click.echo(f"{kind:<8} {counts}")
        if summary["oldest_pending_due"]:
            click.echo(
                f"oldest pending row due at {summary['oldest_pending_due']:%Y-%m-%d %H:%M:%S} UTC"
            )
        for row in summary["dead"]:
            click.echo(
                f"{row['status']:<10} #{row['id']:<6} {row['kind']:<8} "
                f"{row['tracking_ref'] or '-':<12} attempts {row['attempts']}: {row['last_error']}"
            )

    run_with_store(ctx.settings, go)


@outbox.command("retry")
@click.argument("row_id", type=int, required=False)
@click.option("--dead", is_flag=True, help="Replay every dead row.")
@pass_cli
def retry_cmd(ctx: CliContext, row_id: int | None, dead: bool) -> None:
    """Send a dead (or unsendable) row again, or all dead rows. The idempotency key stays
    the same, so LAPOR does not file a complaint twice."""
    if (row_id is None) == (not dead):
        fail("give either an outbox row ID or --dead")

    async def go(store: Store) -> None:
        try:
            n = await replay(store, row_id=row_id, dead=dead)
        except NothingToRetry as e:
            fail(str(e))
        click.echo(f"{n} row(s) queued again; a running gateway sends them within seconds")

    run_with_store(ctx.settings, go)

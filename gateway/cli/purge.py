"""`lapor-gateway purge --older-than DAYS`: reporter personal data retention (gateway/purge.py)."""

from __future__ import annotations

import click

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store, to_json
from gateway.purge import history, preview
from gateway.purge import purge as run_purge


@click.command()
@click.option(
    "--older-than",
    "days",
    type=int,
    default=None,
    help="Purge reporter data of what was received more than DAYS days ago.",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be purged.")
@click.option("--history", "show_history", is_flag=True, help="Show the log of past purges.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_cli
def purge(
    ctx: CliContext, days: int | None, dry_run: bool, show_history: bool, as_json: bool
) -> None:
    """Remove reporter personal data (name, phone, e-mail, X account, sender addresses)
    of finished complaints older than DAYS, keeping the complaints themselves (UU PDP).
    Every run is logged (tracking numbers and counts): see --history."""
    if show_history:
        runs = run_with_store(ctx.settings, history)
        if as_json:
            click.echo(to_json(runs))
            return
        for r in runs:
            counts = ", ".join(f"{k}={v}" for k, v in sorted(r["counts"].items()))
            click.echo(
                f"{r['ran_at']}  run {r['run_id']}  by {r['actor']}  older than "
                f"{r['older_than_days']} days (before {r['cutoff']}): {counts}"
            )
        if not runs:
            click.echo("no purge has run yet")
        return
    if days is None:
        fail("give --older-than DAYS (or --history)", 2)
    if days < 1:
        fail("--older-than must be at least 1 day", 2)

    if dry_run:
        would = run_with_store(ctx.settings, lambda store: preview(store, days))
        if as_json:
            click.echo(to_json(would))
        else:
            click.echo("would purge: " + ", ".join(f"{k}={v}" for k, v in would.items()))
        return
    result = run_with_store(ctx.settings, lambda store: run_purge(store, days))
    if as_json:
        click.echo(
            to_json(
                {
                    "run_id": result.run_id,
                    "cutoff": result.cutoff,
                    "counts": result.counts,
                    "tracking_refs": result.tracking_refs,
                }
            )
        )
        return
    counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
    click.echo(f"purged data received before {result.cutoff.isoformat()}: {counts}")
    click.echo(f"logged as run {result.run_id} (lapor-gateway purge --history)")

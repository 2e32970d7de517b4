from __future__ import annotations

import signal

import click

from gateway.cli.common import CliContext, fail, pass_cli, run, run_with_store
from gateway.instance_lock import InstanceLocked, instance_lock
from gateway.logfmt import configure as configure_logging
from gateway.reload import pid_file
from gateway.secrets import permission_warnings
from gateway.settings import FileConfig
from gateway.store.db import Store


@click.command()
@pass_cli
def serve(ctx: CliContext) -> None:
    """Run the gateway: HTTP, every enabled channel and the outbox worker."""
    from gateway.app import serve as serve_app

    configure_logging()
    # Until the loop handles SIGHUP (reload), one must not end the process.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    settings = ctx.settings
    try:
        # Held until the process exits: a second gateway on the same SQLite file is refused.
        with instance_lock(settings.database_url), pid_file(settings):
            run(serve_app(settings))
    except InstanceLocked as e:
        fail(str(e), 4)


@click.command("check-config")
@click.option("--no-db", is_flag=True, help="Do not try to connect to the database.")
@pass_cli
def check_config(ctx: CliContext, no_db: bool) -> None:
    """Validate the config and the region files; connect to the database and check that it
    is migrated (exit 3, saying what to run, when it is not)."""
    settings = ctx.settings
    revision = None
    if not no_db:
        # Connection problems raise StoreUnavailable, an old schema NotMigrated: both exit 3.
        revision = run_with_store(settings, Store.check_migrated, check=False)
    regions = ", ".join(f"{r.code} ({r.name})" for r in settings.regions.values())
    for warning in permission_warnings(FileConfig, settings.path):
        click.echo(f"lapor-gateway: warning: {warning}", err=True)
    click.echo(f"config OK: {settings.path}")
    click.echo(f"regions: {regions}")
    if revision is not None:
        click.echo(f"database: migrated (revision {revision}, the newest this version knows)")

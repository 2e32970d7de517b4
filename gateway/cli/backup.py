"""`db backup PATH` and `db restore PATH`: see gateway/backup.py for how each is consistent."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.backup import (
    BackupError,
    backup_postgres,
    backup_sqlite,
    restore_postgres,
    restore_sqlite,
    revision_note,
)
from gateway.cli.common import CliContext, fail, pass_cli
from gateway.instance_lock import InstanceLocked, sqlite_path


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@pass_cli
def backup(ctx: CliContext, path: Path) -> None:
    """Write a consistent copy of the database to PATH; the gateway may keep running.

    SQLite: a single file (owner-only permissions). PostgreSQL: a pg_dump custom-format
    archive (pg_dump must be installed).
    """
    url = ctx.settings.database_url
    try:
        if sqlite_path(url) is None:
            click.echo(f"backup written: {backup_postgres(url, path)} (pg_dump custom format)")
            return
        info = backup_sqlite(url, path)
    except BackupError as e:
        fail(str(e))
    click.echo(f"backup written: {info.path} ({info.complaints} complaints, {info.size} bytes)")


@click.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that already exists.")
@pass_cli
def restore(ctx: CliContext, path: Path, force: bool) -> None:
    """Replace the configured database with the backup at PATH (stop the gateway first).

    PostgreSQL: pg_restore --clean into the configured database, in one transaction.
    """
    url = ctx.settings.database_url
    try:
        if sqlite_path(url) is None:
            if not force:
                fail("restoring replaces everything in the database: add --force")
            restore_postgres(url, path)
            click.echo(f"restored {path} into {ctx.settings.gateway.database_url}")
            return
        info = restore_sqlite(url, path, force=force)
    except (BackupError, InstanceLocked) as e:
        fail(str(e))
    click.echo(f"restored {path}: {info.complaints} complaints{revision_note(info)}")

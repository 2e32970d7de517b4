from __future__ import annotations

import click

from gateway.cli.common import CliContext, pass_cli
from gateway.logsafe import redact
from gateway.store.db import StoreUnavailable
from gateway.store.migrate import upgrade as alembic_upgrade


@click.group()
def db() -> None:
    """Database schema."""


@db.command()
@pass_cli
def upgrade(ctx: CliContext) -> None:
    """Create or migrate the database schema to the newest version."""
    settings = ctx.settings
    try:
        alembic_upgrade(settings.database_url)
    except (OSError, ConnectionError) as e:
        raise StoreUnavailable(f"{settings.gateway.database_url}: {e}") from e
    except Exception as e:
        # SQLAlchemy wraps driver errors; show the first line, not a traceback.
        from sqlalchemy.exc import DBAPIError

        if isinstance(e, DBAPIError):
            raise StoreUnavailable(str(e).splitlines()[0]) from e
        raise
    click.echo(f"database is up to date: {redact(settings.gateway.database_url)}")

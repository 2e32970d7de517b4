from __future__ import annotations

import sys

import click
from argon2 import PasswordHasher
from sqlalchemy import select

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store
from gateway.store.db import Store
from gateway.store.models import Operator


@click.group()
def operator() -> None:
    """Console accounts for admins and pejabat penghubung."""


@operator.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "operator"]), required=True)
@click.option("--region", help="Region the operator works for (operators need one).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_cli
def add(ctx: CliContext, name: str, role: str, region: str | None, password_stdin: bool) -> None:
    """Create or update an operator account."""
    settings = ctx.settings
    region = region.upper() if region else None
    if role == "operator" and not region:
        fail("an operator needs --region")
    if region and region not in settings.regions:
        fail(f"unknown region {region!r}; known: {', '.join(settings.regions)}")
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        fail("password must have at least 8 characters")
    hashed = PasswordHasher().hash(password)

    async def go(store: Store) -> None:
        async with store.transaction() as session:
            existing = await session.scalar(select(Operator).where(Operator.name == name))
            if existing:
                existing.role, existing.region_code, existing.password_hash = role, region, hashed
            else:
                session.add(
                    Operator(name=name, role=role, region_code=region, password_hash=hashed)
                )

    run_with_store(settings, go)
    click.echo(f"operator {name} ({role}{', ' + region if region else ''}) saved")

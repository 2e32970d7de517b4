"""`operator add|list|disable|passwd`: console accounts. Every change to an account's
password, role, region or state ends its open console sessions at once."""

from __future__ import annotations

import sys
from typing import Any

import click
from argon2 import PasswordHasher
from sqlalchemy import select

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store, to_json
from gateway.ops.auth import MIN_PASSWORD, end_sessions
from gateway.store.db import Store
from gateway.store.models import Operator, utcnow


@click.group()
def operator() -> None:
    """Console accounts for admins and pejabat penghubung."""


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD:
        fail(f"password must have at least {MIN_PASSWORD} characters")
    return PasswordHasher().hash(password)


@operator.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "operator"]), required=True)
@click.option("--region", help="Region the operator works for (operators need one).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@click.option("--update", is_flag=True, help="Change an existing account (ends its sessions).")
@pass_cli
def add(
    ctx: CliContext,
    name: str,
    role: str,
    region: str | None,
    password_stdin: bool,
    update: bool,
) -> None:
    """Create an operator account (or change one with --update)."""
    settings = ctx.settings
    region = region.upper() if region else None
    if role == "operator" and not region:
        fail("an operator needs --region")
    if region and region not in settings.regions:
        fail(f"unknown region {region!r}; known: {', '.join(settings.regions)}")
    hashed = _read_password()

    async def go(store: Store) -> str:
        async with store.transaction() as session:
            existing = await session.scalar(select(Operator).where(Operator.name == name))
            if existing is None:
                session.add(
                    Operator(name=name, role=role, region_code=region, password_hash=hashed)
                )
                return "created"
            if not update:
                fail(f"operator {name} exists already; add --update to change the account")
            existing.role, existing.region_code, existing.password_hash = role, region, hashed
            existing.disabled_at = None
            await end_sessions(session, existing.id)
            return "updated (its console sessions ended)"

    done = run_with_store(settings, go)
    click.echo(f"operator {name} ({role}{', ' + region if region else ''}) {done}")


def _account_json(op: Operator) -> dict[str, Any]:
    return {
        "name": op.name,
        "role": op.role,
        "region": op.region_code,
        "disabled": op.disabled_at is not None,
        "disabled_at": op.disabled_at,
        "created_at": op.created_at,
    }


@operator.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_cli
def list_cmd(ctx: CliContext, as_json: bool) -> None:
    """Every account, by name."""

    async def go(store: Store) -> list[Operator]:
        async with store.reader() as session:
            return list((await session.scalars(select(Operator).order_by(Operator.name))).all())

    accounts = run_with_store(ctx.settings, go)
    if as_json:
        click.echo(to_json([_account_json(op) for op in accounts]))
        return
    for op in accounts:
        state = "disabled" if op.disabled_at else "active"
        click.echo(f"{op.name:<24} {op.role:<9} {op.region_code or '-':<6} {state}")


async def _change(store: Store, name: str, change: Any) -> None:
    async with store.transaction() as session:
        op = await session.scalar(select(Operator).where(Operator.name == name))
        if op is None:
            fail(f"no operator {name!r} (see `lapor-gateway operator list`)")
        change(op)
        await end_sessions(session, op.id)


@operator.command("disable")
@click.argument("name")
@pass_cli
def disable(ctx: CliContext, name: str) -> None:
    """Lock an account out; its open console sessions end at once."""

    def change(op: Operator) -> None:
        op.disabled_at = op.disabled_at or utcnow()

    run_with_store(ctx.settings, lambda store: _change(store, name, change))
    click.echo(f"operator {name} disabled; its console sessions ended")


@operator.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_cli
def passwd(ctx: CliContext, name: str, password_stdin: bool) -> None:
    """Set a new password; the account's open console sessions end."""
    hashed = _read_password()

    def change(op: Operator) -> None:
        op.password_hash = hashed

    run_with_store(ctx.settings, lambda store: _change(store, name, change))
    click.echo(f"password of operator {name} changed; its console sessions ended")

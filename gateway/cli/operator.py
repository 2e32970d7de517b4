"""`operator add|list|disable|enable|passwd|totp-reset`: console accounts, with the same
rules as the console's account page (gateway/ops/accounts.py). Every change to an
account's password, role, region or state ends its open console sessions at once."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click
from sqlalchemy import select

from gateway.cli.common import CliContext, fail, pass_cli, run_with_store, to_json
from gateway.ops import accounts
from gateway.ops.auth import hash_password
from gateway.store.db import Store
from gateway.store.models import Operator


@click.group()
def operator() -> None:
    """Console accounts for admins and pejabat penghubung."""


def _read_password(name: str) -> str:
    password = sys.stdin.readline().rstrip("\n")
    try:
        accounts.check_password(password, name)
    except accounts.AccountError as e:
        fail(e.en)
    return hash_password(password)


def _run(ctx: CliContext, go: Callable[[Store], Awaitable[Any]]) -> Any:
    async def guarded(store: Store) -> Any:
        try:
            return await go(store)
        except accounts.AccountError as e:
            fail(e.en)

    return run_with_store(ctx.settings, guarded)


@operator.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--region", help="Region the operator works for (operators need one).")
@click.option("--display-name", help="The name the console shows, e.g. 'Budi (Diskominfo)'.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@click.option("--update", is_flag=True, help="Change an existing account (ends its sessions).")
@pass_cli
def add(
    ctx: CliContext,
    name: str,
    role: str,
    region: str | None,
    display_name: str | None,
    password_stdin: bool,
    update: bool,
) -> None:
    """Create an operator account (or change one with --update)."""
    try:
        profile = accounts.check_profile(role, region, display_name, set(ctx.settings.regions))
        accounts.check_name(name)
    except accounts.AccountError as e:
        fail(e.en)
    hashed = _read_password(name)

    async def go(store: Store) -> str:
        async with store.transaction() as session:
            existing = await session.scalar(select(Operator).where(Operator.name == name))
            if existing is None:
                await accounts.create(session, name, profile, hashed)
                return "created"
            if not update:
                fail(f"operator {name} exists already; add --update to change the account")
            await accounts.update(
                session, existing, profile=profile, disabled=False, password_hash=hashed
            )
            return "updated (its console sessions ended)"

    done = _run(ctx, go)
    where = f", {profile.region}" if profile.region else ""
    click.echo(f"operator {name} ({profile.role}{where}) {done}")


def _account_json(op: Operator) -> dict[str, Any]:
    return {
        "name": op.name,
        "display_name": op.display_name,
        "role": op.role,
        "region": op.region_code,
        "disabled": op.disabled_at is not None,
        "disabled_at": op.disabled_at,
        "totp": op.totp_enabled_at is not None,
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

    found = run_with_store(ctx.settings, go)
    if as_json:
        click.echo(to_json([_account_json(op) for op in found]))
        return
    for op in found:
        state = "disabled" if op.disabled_at else "active"
        totp = " totp" if op.totp_enabled_at else ""
        shown = f"  {op.display_name}" if op.display_name else ""
        click.echo(f"{op.name:<24} {op.role:<9} {op.region_code or '-':<6} {state}{totp}{shown}")


def _change(ctx: CliContext, name: str, **change: Any) -> None:
    async def go(store: Store) -> None:
        async with store.transaction() as session:
            op = await accounts.by_name(session, name)
            await accounts.update(session, op, **change)

    _run(ctx, go)


@operator.command("disable")
@click.argument("name")
@pass_cli
def disable(ctx: CliContext, name: str) -> None:
    """Lock an account out; its open console sessions end at once."""
    _change(ctx, name, disabled=True)
    click.echo(f"operator {name} disabled; its console sessions ended")


@operator.command("enable")
@click.argument("name")
@pass_cli
def enable(ctx: CliContext, name: str) -> None:
    """Let a disabled account sign in again."""
    _change(ctx, name, disabled=False)
    click.echo(f"operator {name} enabled")


@operator.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_cli
def passwd(ctx: CliContext, name: str, password_stdin: bool) -> None:
    """Set a new password; the account's open console sessions end."""
    _change(ctx, name, password_hash=_read_password(name))
    click.echo(f"password of operator {name} changed; its console sessions ended")


@operator.command("totp-reset")
@click.argument("name")
@pass_cli
def totp_reset(ctx: CliContext, name: str) -> None:
    """Remove an account's second factor (lost phone); it signs in with its password
    and can enrol again on its account page."""

    async def go(store: Store) -> None:
        async with store.transaction() as session:
            await accounts.reset_totp(session, await accounts.by_name(session, name))

    _run(ctx, go)
    click.echo(f"second factor of operator {name} removed; its console sessions ended")

"""What every command shares: loading settings once, running async code, clean errors."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from gateway.jsonutil import to_json  # noqa: F401 - re-exported for commands
from gateway.logsafe import redact
from gateway.settings import ConfigError, Settings, load_settings
from gateway.store.db import NotMigrated, Store, StoreUnavailable

T = TypeVar("T")


class CliContext:
    def __init__(self, config: str | None):
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


pass_cli = click.make_pass_decorator(CliContext)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"lapor-gateway: error: {redact(message)}", err=True)
    sys.exit(code)


def run_guarded(fn: Callable[[], T]) -> T:
    """Turn the errors an installer can fix into one line and an exit code."""
    try:
        return fn()
    except ConfigError as e:
        click.echo(f"lapor-gateway: config error:\n{redact(str(e))}", err=True)
        sys.exit(2)
    except NotMigrated as e:
        fail(f"{e}. Run `lapor-gateway db upgrade` first.", 3)
    except StoreUnavailable as e:
        fail(f"database unavailable: {e}", 3)
    except OSError as e:
        fail(str(e), 1)


def run_with_store(
    settings: Settings, fn: Callable[[Store], Awaitable[T]], *, check: bool = True
) -> T:
    async def go() -> T:
        store = Store(settings.database_url)
        try:
            if check:
                await store.check_migrated()
            return await fn(store)
        finally:
            await store.close()

    return run(go())


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        sys.exit(130)


def run_quietly_into_pipe(fn: Callable[[], T]) -> T | None:
    """`lapor-gateway complaints list | head -1`: the reader closing the pipe ends the
    output quietly with exit 0, as `log` does, not with "Broken pipe"."""
    try:
        return fn()
    except BrokenPipeError:
        # Python would report the pipe again while flushing stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return None

"""SIGHUP (`systemctl reload`, `lapor-gateway reload`): re-read the region files in place.

HTTP connections, SMTP sessions and the modem stay up: only `settings.regions` is replaced
(every reader looks it up per message) and the region rows are synced first, so a new
region's tracking counter exists before the first complaint routes to it. An invalid
config is refused whole and the running regions stay, so a typo never takes intake down.
Other keys (listen addresses, secrets, channels) still need a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway import sdnotify
from gateway.runtime import Runtime
from gateway.settings import ConfigError, Settings, load_settings
from gateway.store.db import StoreUnavailable
from gateway.store.regions import sync_regions

log = logging.getLogger(__name__)

PID_FILE = "lapor-gateway.pid"


async def reload_regions(rt: Runtime) -> bool:
    sdnotify.notify("RELOADING=1")
    try:
        return await _reload(rt)
    finally:
        sdnotify.notify("READY=1")


async def _reload(rt: Runtime) -> bool:
    try:
        fresh = await asyncio.to_thread(load_settings, rt.settings.path)
        await sync_regions(rt.store, fresh)
    except ConfigError as e:
        log.error("reload refused, regions unchanged", extra={"error": str(e)})
        return False
    except StoreUnavailable as e:
        log.error("reload failed, regions unchanged", extra={"error": str(e)})
        return False
    rt.settings.regions = fresh.regions
    for hook in rt.reload_hooks:
        hook()
    log.info("regions reloaded", extra={"regions": ",".join(sorted(fresh.regions))})
    return True


class Reloader:
    """Runs one reload at a time; a SIGHUP during a reload runs another one after it."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def request(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            await reload_regions(self.rt)
            if not self._again:
                return


def pid_path(settings: Settings) -> Path:
    return settings.data_dir / PID_FILE


@contextmanager
def pid_file(settings: Settings) -> Iterator[Path]:
    """data_dir/lapor-gateway.pid while serving: where `lapor-gateway reload` sends SIGHUP."""
    path = pid_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n")
    try:
        yield path
    finally:
        try:
            if path.read_text().strip() == str(os.getpid()):
                path.unlink()
        except OSError:
            pass

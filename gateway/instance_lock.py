"""One gateway per SQLite file: a lock file beside the database, held while the process runs.

SQLite serves one instance (its outbox claims, the tracking counters and the pollers assume
a single process); PostgreSQL is the way to run several. The lock is flock(2) on
`<database>.lock`: the kernel drops it when the process dies, however it dies, so a crash
never leaves a stale lock behind. `db restore` takes the same lock, so it never replaces
the file under a running gateway.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.store.db import StoreUnavailable


class InstanceLocked(Exception):
    """Another process holds the database; the message says which and what to do."""


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def instance_lock(database_url: str, purpose: str = "serve") -> Iterator[Path | None]:
    """Hold the SQLite file's lock for the block; a no-op on PostgreSQL."""
    db_path = sqlite_path(database_url)
    if db_path is None:
        yield None
        return
    path = lock_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError as e:
        raise StoreUnavailable(
            f"{path}: cannot create the lock file ({e.strerror}); the database directory "
            "must be writable by the gateway (SQLite writes its -wal and -shm files there too)"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            raise InstanceLocked(
                f"{db_path} is in use by another lapor-gateway ({holder}). SQLite serves "
                "one instance: stop the other one first, or move to PostgreSQL to run "
                "several (see docs/deploy.md)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {purpose}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race a new holder)

"""Operator sign-in: argon2 hashes off the event loop, throttled logins, server-side
sessions that end at once, and the HMAC signer for CSRF tokens and flash messages.

A session is a row in `operator_sessions`; the cookie holds a random token and the row
only its sha256, so a stolen database does not yield usable cookies. Every request reads
the session together with the operator's current role, region and state: a role or region
change, a disabled account, a password change or a logout take effect on the next request
(and close an open live-log stream within a second, see stream.py).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.http_common import secret_matches
from gateway.store.db import Store
from gateway.store.models import LoginFailure, Operator, utcnow
from gateway.store.models import OperatorSession as SessionRow

COOKIE = "lapor_ops"
# OWASP's argon2id parameters (19 MiB, 2 passes, 1 lane): ~20 ms on one core. The library's
# default (64 MiB, 4 lanes) took ~125 ms and, in 4 threads, both cores of a small server,
# so a wrong-password flood slowed intake. Older hashes are redone at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    """Blocking; the console goes through PasswordWork, the CLI may call it directly."""
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """Verifying against it makes an unknown name cost as much as a wrong password. Made on
    first use (in the hashing thread), not at import: every CLI command imports this module."""
    return _hasher.hash(secrets.token_hex(8))


@dataclass(frozen=True, slots=True)
class OperatorSession:
    name: str
    role: str  # admin | operator
    region: str | None
    operator_id: int = 0
    session_id: str = ""  # sha256 of the cookie token

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def scope(self) -> str | None:
        """The region filter for queries: None (all regions) for an admin."""
        return None if self.is_admin else self.region

    def may_see(self, region_code: str | None) -> bool:
        return self.is_admin or (region_code is not None and region_code == self.region)


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "ops_secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class Signer:
    """HMAC over small values the browser carries back: CSRF tokens and flash messages."""

    def __init__(self, secret: bytes):
        self.secret = secret

    def mac(self, payload: bytes) -> str:
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()

    def csrf_token(self, cookie: str) -> str:
        return self.mac(b"csrf:" + cookie.encode())[:32]

    def check_csrf(self, cookie: str, token: object) -> bool:
        return bool(cookie) and secret_matches(str(token or ""), self.csrf_token(cookie))

    def dump(self, data: dict[str, Any], purpose: bytes = b"flash") -> str:
        """Signed (not secret) data; `purpose` keeps a flash from passing as anything else."""
        payload = base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode())
        return f"{payload.decode()}.{self.mac(purpose + b':' + payload)}"

    def load(self, value: str | None, purpose: bytes = b"flash") -> dict[str, Any] | None:
        if not value or "." not in value:
            return None
        payload, _, mac = value.rpartition(".")
        if not hmac.compare_digest(self.mac(purpose + b":" + payload.encode()), mac):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self, store: Store, max_age_s: float):
        self.store = store
        self.max_age_s = max_age_s

    async def start(self, operator_id: int) -> str:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with self.store.transaction() as session:
            await session.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            session.add(
                SessionRow(
                    id=token_id(token),
                    operator_id=operator_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.max_age_s),
                )
            )
        return token

    async def load(self, token: str | None) -> OperatorSession | None:
        if not token:
            return None
        return await self.by_id(token_id(token))

    async def by_id(self, session_id: str) -> OperatorSession | None:
        """The session with the operator's CURRENT role and region, if it is still alive."""
        async with self.store.reader() as session:
            op = await session.scalar(
                select(Operator)
                .join(SessionRow, SessionRow.operator_id == Operator.id)
                .where(
                    SessionRow.id == session_id,
                    SessionRow.expires_at > utcnow(),
                    Operator.disabled_at.is_(None),
                )
            )
        if op is None:
            return None
        return OperatorSession(
            name=op.name,
            role=op.role,
            region=op.region_code,
            operator_id=op.id,
            session_id=session_id,
        )

    async def end(self, session_id: str) -> None:
        async with self.store.transaction() as session:
            await session.execute(delete(SessionRow).where(SessionRow.id == session_id))


async def end_sessions(session: AsyncSession, operator_id: int, *, keep: str | None = None) -> None:
    """Sign an operator out everywhere (in the caller's transaction), but for `keep`."""
    query = delete(SessionRow).where(SessionRow.operator_id == operator_id)
    if keep:
        query = query.where(SessionRow.id != keep)
    await session.execute(query)


class Busy(Exception):
    """Too many password checks are waiting; the caller answers 503 instead of queueing."""


class PasswordWork:
    """argon2 runs in a small thread pool: a flood of logins queues there (bounded) and
    never stalls the event loop that takes complaints in."""

    def __init__(self, workers: int | None = None, max_waiting: int = 16):
        # One core is always left to the event loop: a flood never starves intake of CPU.
        cpus = sorted(os.sched_getaffinity(0))
        workers = workers or max(1, len(cpus) - 1)
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="argon2",
            initializer=_keep_off_first_cpu,
            initargs=(cpus,),
        )
        self._max_waiting = max_waiting
        self._waiting = 0

    async def _run(self, fn: Callable[[], Any]) -> Any:
        if self._waiting >= self._max_waiting:
            raise Busy
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
        finally:
            self._waiting -= 1

    async def hash(self, password: str) -> str:
        return await self._run(lambda: hash_password(password))

    async def verify(self, hashed: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return _hasher.verify(hashed or _dummy_hash(), password) and hashed is not None
            except (VerificationError, InvalidHashError):
                return False

        return await self._run(check)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _keep_off_first_cpu(cpus: list[int]) -> None:
    """argon2 verifies with as many threads as the hash's parallelism (4 in hashes made
    with the library's defaults, until their next sign-in), whatever the pool's size:
    pinned, they and the pool share the other cores and the event loop keeps the first
    for itself. Threads inherit the affinity of the thread that starts them."""
    if len(cpus) > 1:
        os.sched_setaffinity(0, cpus[1:])


async def authenticate(
    store: Store, work: PasswordWork, name: str, password: str
) -> Operator | None:
    async with store.reader() as session:
        op = await session.scalar(select(Operator).where(Operator.name == name))
    ok = await work.verify(op.password_hash if op else None, password)
    if not ok or op is None or op.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(op.password_hash):
        # Same password, current parameters; before the second factor's step binds to it.
        # Only when the pool has room: a right password is never turned away for this.
        try:
            op.password_hash = await work.hash(password)
        except Busy:
            return op
        async with store.transaction() as session:
            await session.execute(
                update(Operator).where(Operator.id == op.id).values(password_hash=op.password_hash)
            )
    return op


class LoginThrottle:
    """Failed logins per account and per client address, with a lock that doubles after
    each further failure (2 s, 4 s, 8 s … up to 15 min). An office behind one NAT address
    gets more free attempts than a single account does.

    Kept in the database (`login_failures`), so every instance on one PostgreSQL database
    counts the same failures and a restart forgets nothing. A refused attempt writes
    nothing, and a lock this instance has seen is remembered until it ends (locks only
    grow while they last: no sign-in can succeed to lift one), so a flood against a locked
    account or address costs no query at all."""

    def __init__(
        self,
        store: Store,
        *,
        free_per_account: int = 3,
        free_per_address: int = 10,
        max_lock_s: float = 900.0,
        forget_after_s: float = 3600.0,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.free = {"n": free_per_account, "a": free_per_address}
        self.max_lock_s = max_lock_s
        self.forget_after = timedelta(seconds=forget_after_s)
        self.clock = clock
        self._locked: dict[str, datetime] = {}  # key -> locked until, as last seen
        self._reported: dict[tuple[str, str], datetime] = {}
        self._checking: set[str] = set()  # keys with a password check under way here

    @staticmethod
    def _keys(name: str, address: str) -> tuple[str, str]:
        # Always this order (account, then address): two instances lock rows alike.
        return f"n:{name.lower()[:64]}", f"a:{address[:64]}"

    async def wait_s(self, name: str, address: str) -> float:
        """Seconds until this account or address may try again (0: now)."""
        now = self.clock()
        keys = self._keys(name, address)
        known = [self._locked[k] for k in keys if k in self._locked and self._locked[k] > now]
        if known:
            return max((until - now).total_seconds() for until in known)
        async with self.store.reader() as session:
            rows = (
                await session.execute(
                    select(LoginFailure.key, LoginFailure.locked_until).where(
                        LoginFailure.key.in_(keys), LoginFailure.locked_until > now
                    )
                )
            ).all()
        for key, until in rows:
            self._remember(key, until, now)
        return max([0.0, *((until - now).total_seconds() for _, until in rows)])

    def begin(self, name: str, address: str) -> bool:
        """Claim the one password check this instance runs at a time per account and per
        address; False while another runs. A burst when a lock ends (32 connections at
        once) then costs one argon2 check, not 32. Release with `end`."""
        keys = self._keys(name, address)
        if self._checking.intersection(keys):
            return False
        self._checking.update(keys)
        return True

    def end(self, name: str, address: str) -> None:
        self._checking.difference_update(self._keys(name, address))

    def first_refusal(self, name: str, address: str) -> bool:
        """True once per lock for this account and address: a flood against a lock is
        logged as one line, not one line per attempt."""
        now = self.clock()
        until = max((self._locked.get(k, now) for k in self._keys(name, address)), default=now)
        pair = (name.lower(), address)
        if self._reported.get(pair) == until:
            return False
        if len(self._reported) > 10_000:
            self._reported = {k: u for k, u in self._reported.items() if u > now}
        self._reported[pair] = until
        return True

    def _remember(self, key: str, until: datetime, now: datetime) -> None:
        if len(self._locked) > 10_000:  # bounded under a spray of names and addresses
            self._locked = {k: u for k, u in self._locked.items() if u > now}
        self._locked[key] = until

    async def failed(self, name: str, address: str) -> None:
        now = self.clock()
        keys = self._keys(name, address)

        async def count(session: AsyncSession) -> list[tuple[str, datetime]]:
            await session.execute(
                delete(LoginFailure).where(LoginFailure.last_at < now - self.forget_after)
            )
            insert = (
                postgresql.insert
                if session.get_bind().dialect.name == "postgresql"
                else sqlite.insert
            )
            locks = []
            for key in keys:
                await session.execute(
                    insert(LoginFailure)
                    .values(key=key, count=0, last_at=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                row = await session.scalar(
                    select(LoginFailure).where(LoginFailure.key == key).with_for_update()
                )
                assert row is not None
                row.count += 1
                row.last_at = now
                free = self.free[key[0]]
                if row.count > free:
                    lock = min(2.0 ** (row.count - free), self.max_lock_s)
                    row.locked_until = now + timedelta(seconds=lock)
                    locks.append((key, row.locked_until))
            return locks

        # Intake's write path (on SQLite one hop to the writer thread for the whole
        # transaction): a flood of failures, one transaction each, then holds the write
        # lock for microseconds instead of a loop turn per statement, and the complaints
        # queued behind it are not delayed.
        for key, until in await self.store.run_write(count):
            self._remember(key, until, now)

    async def succeeded(self, name: str) -> None:
        account, _ = self._keys(name, "")
        self._locked.pop(account, None)
        async with self.store.transaction() as session:
            await session.execute(delete(LoginFailure).where(LoginFailure.key == account))

"""Operator sign-in: argon2 password hashes, HMAC-signed session cookies, region scope."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from gateway.store.db import Store
from gateway.store.models import Operator

COOKIE = "lapor_ops"
_hasher = PasswordHasher()
# Verifying against a dummy hash makes an unknown name cost as much as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))


@dataclass(frozen=True, slots=True)
class OperatorSession:
    name: str
    role: str  # admin | operator
    region: str | None

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


class SessionSigner:
    def __init__(self, secret: bytes, max_age_s: float):
        self.secret = secret
        self.max_age_s = max_age_s

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()

    def dump(self, session: OperatorSession) -> str:
        data = {"n": session.name, "r": session.role, "g": session.region, "t": int(time.time())}
        payload = base64.urlsafe_b64encode(json.dumps(data).encode())
        return f"{payload.decode()}.{self._mac(payload)}"

    def load(self, cookie: str | None) -> OperatorSession | None:
        if not cookie or "." not in cookie:
            return None
        payload, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(self._mac(payload.encode()), mac):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload))
        except ValueError:
            return None
        if time.time() - data.get("t", 0) > self.max_age_s:
            return None
        return OperatorSession(name=data["n"], role=data["r"], region=data["g"])

    def csrf_token(self, cookie: str) -> str:
        return self._mac(b"csrf:" + cookie.encode())[:32]


async def authenticate(store: Store, name: str, password: str) -> OperatorSession | None:
    async with store.reader() as session:
        op = await session.scalar(select(Operator).where(Operator.name == name))
    try:
        _hasher.verify(op.password_hash if op else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if op is None:
        return None
    return OperatorSession(name=op.name, role=op.role, region=op.region_code)

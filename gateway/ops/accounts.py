"""Account rules shared by the console's account pages and `lapor-gateway operator`:
the password policy, who may hold which role and region, and the last enabled admin.

Every change that alters what an account may do or who can use it (password, role,
region, disabled) ends that account's console sessions in the same transaction.
Errors carry the Indonesian text the console shows and the English one the CLI prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.ops.auth import end_sessions
from gateway.store.models import Operator, utcnow

ROLES = ("admin", "operator")
MIN_PASSWORD = 10
MAX_PASSWORD = 128
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# Passwords every guessing list starts with (lower-cased, separators dropped).
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "qwertyuiop",
        "password123",
        "passwordpassword",
        "katasandi123",
        "katasandikatasandi",
        "rahasia123",
        "admin12345",
        "administrator",
        "bismillah123",
        "indonesia123",
        "laporgateway",
        "sandisandi",
    }
)


class AccountError(Exception):
    """A refused account change: `text` for the console, `en` for the CLI."""

    def __init__(self, text: str, en: str):
        super().__init__(en)
        self.text = text
        self.en = en


def check_password(password: str, name: str) -> None:
    """The policy: long enough, not the account name, not a well-known or one-character
    password. Length over composition rules, as NIST SP 800-63B advises."""
    folded = re.sub(r"[\s._-]", "", password.lower())
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"Kata sandi terlalu pendek: paling sedikit {MIN_PASSWORD} karakter. "
            "Gunakan beberapa kata yang mudah Anda ingat, misalnya kopi-pagi-di-pasar.",
            f"the password must have at least {MIN_PASSWORD} characters",
        )
    if len(password) > MAX_PASSWORD:
        raise AccountError(
            f"Kata sandi terlalu panjang: paling banyak {MAX_PASSWORD} karakter.",
            f"the password may have at most {MAX_PASSWORD} characters",
        )
    if name and name.lower() in password.lower():
        raise AccountError(
            "Kata sandi tidak boleh memuat nama pengguna.",
            "the password must not contain the account name",
        )
    if len(set(folded)) <= 2 or folded in COMMON:
        raise AccountError(
            "Kata sandi ini terlalu mudah ditebak. Pilih yang lain, misalnya beberapa kata.",
            "the password is too easy to guess; choose another",
        )


@dataclass(frozen=True)
class Profile:
    role: str
    region: str | None
    display_name: str | None


def check_profile(
    role: str, region: str | None, display_name: str | None, regions: set[str]
) -> Profile:
    """Validated role, region (admins have none) and display name."""
    if role not in ROLES:
        raise AccountError("Peran tidak dikenal.", f"unknown role {role!r}")
    region = (region or "").strip().upper() or None
    if role == "admin":
        region = None
    elif region is None:
        raise AccountError("Operator wilayah harus punya wilayah.", "an operator needs --region")
    elif region not in regions:
        raise AccountError(
            f"Wilayah {region} tidak dikenal.",
            f"unknown region {region!r}; known: {', '.join(sorted(regions))}",
        )
    display_name = " ".join((display_name or "").split()) or None
    if display_name and len(display_name) > 100:
        raise AccountError(
            "Nama tampilan paling banyak 100 karakter.",
            "the display name may have at most 100 characters",
        )
    return Profile(role, region, display_name)


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise AccountError(
            "Nama pengguna 1–64 karakter: huruf, angka, titik, garis bawah, @ atau tanda "
            "hubung, diawali huruf atau angka.",
            "the account name has 1-64 characters: letters, digits and . _ @ -, "
            "starting with a letter or digit",
        )
    return name


async def by_name(session: AsyncSession, name: str) -> Operator:
    op = await session.scalar(select(Operator).where(Operator.name == name))
    if op is None:
        raise AccountError(
            f"Akun {name} tidak ditemukan.",
            f"no operator {name!r} (see `lapor-gateway operator list`)",
        )
    return op


async def _other_enabled_admins(session: AsyncSession, op: Operator) -> int:
    # FOR UPDATE on PostgreSQL: two admins disabling each other at once cannot both
    # pass this check (SQLite writers are serialized already).
    rows = await session.scalars(
        select(Operator.id)
        .where(Operator.role == "admin", Operator.disabled_at.is_(None), Operator.id != op.id)
        .with_for_update()
    )
    return len(rows.all())


async def create(
    session: AsyncSession, name: str, profile: Profile, password_hash: str
) -> Operator:
    check_name(name)
    exists = await session.scalar(select(func.count()).where(Operator.name == name))
    if exists:
        raise AccountError(
            f"Akun {name} sudah ada.",
            f"operator {name} exists already; add --update to change the account",
        )
    op = Operator(
        name=name,
        role=profile.role,
        region_code=profile.region,
        display_name=profile.display_name,
        password_hash=password_hash,
    )
    session.add(op)
    await session.flush()
    return op


async def update(
    session: AsyncSession,
    op: Operator,
    *,
    profile: Profile | None = None,
    disabled: bool | None = None,
    password_hash: str | None = None,
    keep_session: str | None = None,
) -> bool:
    """Apply a change; True when the account's sessions were ended (all but
    `keep_session`, the caller's own when they change their own password)."""
    demoted = profile is not None and op.role == "admin" and profile.role != "admin"
    disabling = bool(disabled) and op.disabled_at is None
    if (demoted or disabling) and op.role == "admin" and op.disabled_at is None:
        if await _other_enabled_admins(session, op) == 0:
            raise AccountError(
                f"{op.name} adalah satu-satunya admin yang aktif: tambahkan atau aktifkan "
                "admin lain dulu.",
                f"{op.name} is the last enabled admin; add or enable another admin first",
            )
    ends = disabling or password_hash is not None
    if profile is not None:
        ends = ends or (profile.role, profile.region) != (op.role, op.region_code)
        op.role, op.region_code = profile.role, profile.region
        op.display_name = profile.display_name
    if disabled is not None:
        op.disabled_at = (op.disabled_at or utcnow()) if disabled else None
    if password_hash is not None:
        op.password_hash = password_hash
    if ends:
        await end_sessions(session, op.id, keep=keep_session)
    return ends


async def reset_totp(session: AsyncSession, op: Operator) -> None:
    """Forget the second factor (the locked-out case); the account signs in again."""
    op.totp_secret = op.totp_enabled_at = op.totp_last_step = None
    await end_sessions(session, op.id)

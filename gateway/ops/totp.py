"""The optional TOTP second factor (RFC 6238, 6 digits, 30 s) for console accounts.

The secret is stored sealed (Fernet) with a key derived from the console secret
(`[ops] session_secret`, else `data_dir/ops_secret`), which lives outside the database: a
dump of the database alone yields no usable secret. Changing that secret makes every
enrolment unreadable; `lapor-gateway operator totp-reset NAME` clears one to enrol again.

A code is accepted for its own 30 s step and the one either side (phone clocks drift),
and only once: the step used is stored, and a code from that step or an earlier one is
refused (no replay of an observed code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from io import BytesIO

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.http_common import secret_matches
from gateway.store.models import Operator

ISSUER = "lapor-gateway"
STEP_S = 30
DRIFT_STEPS = 1


class TotpKey:
    """Seals and opens TOTP secrets with a key kept outside the database."""

    def __init__(self, console_secret: bytes):
        key = hmac.new(console_secret, b"totp-secret-key", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def new_secret(self) -> tuple[str, str]:
        """(the base32 secret to show once, its sealed form to store)."""
        secret = pyotp.random_base32()
        return secret, self.seal(secret)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The secret, or None when it was sealed with another console secret."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return None


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (drawn here: no image library, no CDN)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step `code` belongs to (now, or one step either side), else None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_S)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if secret_matches(code, totp.generate_otp(step)):
            return step
    return None


async def use_step(session: AsyncSession, operator_id: int, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) was used already. One
    conditional UPDATE, so two requests racing with the same code cannot both win."""
    done = await session.execute(
        update(Operator)
        .where(
            Operator.id == operator_id,
            or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return done.rowcount == 1

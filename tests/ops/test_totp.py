"""The optional TOTP second factor for admins, over a real socket: enrol, confirm with a
code, then the code after the password; no replay, wrong codes throttled; the secret is
sealed in the database; `operator totp-reset` for a lost phone."""

from __future__ import annotations

import asyncio
import html
import re
import time

import pyotp
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy import select

from gateway.ops.auth import Signer, load_secret
from gateway.ops.totp import STEP_S, TotpKey, matching_step
from gateway.runtime import Runtime
from gateway.store.models import Operator
from tests.ops.conftest import PASSWORD
from tests.ops.test_accounts import alive, fresh_login, post, sign_in_as
from tests.support import cli_in_process

Console = tuple[TestClient, Runtime]


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def now_step() -> int:
    return int(time.time() // STEP_S)


async def enrol(client: TestClient) -> str:
    """Enrol the signed-in admin; the secret as the page shows it."""
    page = await post(client, "/ops/account/totp", {}, "/ops/account")
    assert "Pindai kode QR" in page and "<svg" in page
    secret = re.search(r'<code class="kunci">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    uri = html.unescape(re.search(r'<code class="kunci">(otpauth://[^<]+)</code>', page).group(1))
    assert uri.startswith("otpauth://totp/lapor-gateway:admin?") and f"secret={secret}" in uri
    return secret


async def password_step(client: TestClient, name: str = "admin") -> str:
    """Sign in with the password; the code form's hidden `pending` value (no session yet)."""
    client.session.cookie_jar.clear()
    form = await (await client.get("/ops/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    resp = await client.post("/ops/login", data={"name": name, "password": PASSWORD, "csrf": token})
    page = await resp.text()
    assert resp.status == 200 and "Kode 6 angka" in page
    assert "lapor_ops" not in {c.key for c in client.session.cookie_jar}
    return page


async def code_step(client: TestClient, page: str, code: str) -> int:
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    pending = re.search(r'name="pending" value="([^"]+)"', page).group(1)
    resp = await client.post(
        "/ops/login/totp",
        data={"csrf": token, "pending": pending, "code": code},
        allow_redirects=False,
    )
    return resp.status


async def test_enrol_confirm_then_the_code_after_the_password(console: Console) -> None:
    client, _ = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    # Not on before a code confirmed it: the password alone still signs in.
    wrong = await post(client, "/ops/account/totp/confirm", {"code": "000000"}, "/ops/account")
    assert "Kode salah atau sudah dipakai" in wrong
    assert await fresh_login(client, "admin") == 303
    step = now_step()
    done = await post(
        client, "/ops/account/totp/confirm", {"code": code_at(secret, step)}, "/ops/account"
    )
    assert "Verifikasi dua langkah aktif" in done

    page = await password_step(client)
    # The code that confirmed the enrolment was used: it cannot be replayed.
    assert await code_step(client, page, code_at(secret, step)) == 401
    assert await code_step(client, page, code_at(secret, step + 1)) == 303
    assert await alive(
        client, next(c.value for c in client.session.cookie_jar if c.key == "lapor_ops")
    )
    # That code is spent too: a second sign-in within its window needs a new one.
    page = await password_step(client)
    assert await code_step(client, page, code_at(secret, step + 1)) == 401


async def test_wrong_codes_are_throttled(console: Console) -> None:
    client, _ = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    await post(
        client, "/ops/account/totp/confirm", {"code": code_at(secret, now_step())}, "/ops/account"
    )
    page = await password_step(client)
    statuses = [await code_step(client, page, f"{i:06d}") for i in range(5)]
    assert statuses[:4] == [401] * 4 and statuses[4] == 429
    # While the lock lasts, even the right code is refused.
    assert await code_step(client, page, code_at(secret, now_step() + 1)) == 429


async def test_a_forged_or_foreign_pending_login_is_refused(console: Console) -> None:
    client, _ = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    await post(
        client, "/ops/account/totp/confirm", {"code": code_at(secret, now_step())}, "/ops/account"
    )
    page = await password_step(client)
    forged = re.sub(r'name="pending" value="[^"]+"', 'name="pending" value="e30.abc"', page)
    assert await code_step(client, forged, code_at(secret, now_step() + 1)) == 403
    # Another browser (another login cookie) cannot finish this sign-in.
    stolen = page
    client.session.cookie_jar.clear()
    await client.get("/ops/login")
    assert await code_step(client, stolen, code_at(secret, now_step() + 1)) == 403


async def test_the_secret_is_sealed_in_the_database(console: Console) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    async with rt.store.reader() as s:
        stored = await s.scalar(select(Operator.totp_secret).where(Operator.name == "admin"))
    assert secret not in stored
    own_key = TotpKey(load_secret(rt.settings.file.ops.session_secret, rt.settings.data_dir))
    assert own_key.open(stored) == secret
    assert TotpKey(b"another-installation-secret-0123456789").open(stored) is None
    assert Signer(b"x").load(stored) is None


async def test_totp_reset_from_the_cli_for_a_lost_phone(console: Console) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    await post(
        client, "/ops/account/totp/confirm", {"code": code_at(secret, now_step())}, "/ops/account"
    )
    listed = await asyncio.to_thread(cli_in_process, rt.settings.path, "operator", "list")
    assert "admin" in listed.output and " totp" in listed.output
    done = await asyncio.to_thread(
        cli_in_process, rt.settings.path, "operator", "totp-reset", "admin"
    )
    assert done.exit_code == 0 and "second factor of operator admin removed" in done.output
    assert await fresh_login(client, "admin") == 303  # the password alone again


async def test_an_enabled_factor_is_turned_off_only_with_a_code(console: Console) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    step = now_step()
    await post(client, "/ops/account/totp/confirm", {"code": code_at(secret, step)}, "/ops/account")
    for spent_or_wrong in ("123456", code_at(secret, step), code_at(secret, step - 1)):
        refused = await post(
            client, "/ops/account/totp/off", {"code": spent_or_wrong}, "/ops/account"
        )
        assert "Kode salah atau sudah dipakai" in refused
    async with rt.store.reader() as s:
        assert await s.scalar(select(Operator.totp_enabled_at).where(Operator.name == "admin"))
    done = await post(
        client, "/ops/account/totp/off", {"code": code_at(secret, step + 1)}, "/ops/account"
    )
    assert "Verifikasi dua langkah dimatikan." in done
    assert await fresh_login(client, "admin") == 303  # the password alone again


def test_a_code_matches_its_step_and_the_neighbours_only() -> None:
    secret = pyotp.random_base32()
    now = 1_800_000_000.0
    step = int(now // STEP_S)
    assert matching_step(secret, code_at(secret, step), now) == step
    assert matching_step(secret, code_at(secret, step - 1), now) == step - 1
    assert matching_step(secret, code_at(secret, step + 1), now) == step + 1
    assert matching_step(secret, code_at(secret, step + 2), now) is None
    spaced = code_at(secret, step)
    assert matching_step(secret, f"{spaced[:3]} {spaced[3:]}", now) == step
    for garbage in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert matching_step(secret, garbage, now) is None


async def test_a_password_reset_voids_a_sign_in_waiting_for_its_code(console: Console) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    step = now_step()
    await post(client, "/ops/account/totp/confirm", {"code": code_at(secret, step)}, "/ops/account")
    page = await password_step(client)
    done = await asyncio.to_thread(
        cli_in_process,
        rt.settings.path,
        "operator",
        "passwd",
        "admin",
        "--password-stdin",
        input="kopi-pagi-di-pasar\n",
    )
    assert done.exit_code == 0, done.output
    assert await code_step(client, page, code_at(secret, step + 1)) == 401


async def test_an_older_hash_is_redone_at_sign_in_and_the_code_still_follows(
    console: Console,
) -> None:
    """A hash with older parameters (the library's defaults: 64 MiB, 4 lanes) is replaced
    at the password step, before the code step binds to it: the code then still signs in."""
    client, rt = console
    await sign_in_as(client, "admin")
    secret = await enrol(client)
    step = now_step()
    await post(client, "/ops/account/totp/confirm", {"code": code_at(secret, step)}, "/ops/account")
    async with rt.store.transaction() as s:
        admin = await s.scalar(select(Operator).where(Operator.name == "admin"))
        admin.password_hash = PasswordHasher().hash(PASSWORD)
    page = await password_step(client)
    assert await code_step(client, page, code_at(secret, step + 1)) == 303
    async with rt.store.reader() as s:
        stored = await s.scalar(select(Operator.password_hash).where(Operator.name == "admin"))
    assert "$m=19456,t=2,p=1$" in stored
    assert await fresh_login(client, "admin") == 200  # the password alone: the code form again

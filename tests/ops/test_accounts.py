"""Accounts in the console over a real socket (issue 14 item 8): admins add, change,
disable and reset operators; everyone changes their own password; the last enabled admin
stays; every change of rights ends that account's sessions at once."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.store.models import Operator
from tests.ops.conftest import PASSWORD, login
from tests.support import cli_in_process

Console = tuple[TestClient, Runtime]
NEW_PASSWORD = "kopi-pagi-di-pasar"


def session_cookie(client: TestClient) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "lapor_ops")


async def alive(client: TestClient, cookie: str) -> bool:
    resp = await client.get("/ops/", allow_redirects=False, cookies={"lapor_ops": cookie})
    return resp.status == 200


async def fresh_login(client: TestClient, name: str, password: str = PASSWORD) -> int:
    client.session.cookie_jar.clear()
    return await login(client, name, password)


async def sign_in_as(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """A fresh sign-in (the jar cleared first); the session cookie."""
    assert await fresh_login(client, name, password) == 303
    return session_cookie(client)


async def post(client: TestClient, path: str, data: dict[str, str], page: str) -> str:
    """Submit a form as the browser does: the CSRF token from the page it is on."""
    html = await (await client.get(page)).text()
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    resp = await client.post(path, data={**data, "csrf": token})
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def account(rt: Runtime, name: str) -> Operator | None:
    async with rt.store.reader() as s:
        return await s.scalar(select(Operator).where(Operator.name == name))


async def test_an_admin_adds_an_operator_who_can_then_sign_in(console: Console) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    page = await post(
        client,
        "/ops/accounts",
        {
            "name": "penghubung.sby",
            "display_name": "Rina  (Diskominfo)",
            "role": "operator",
            "region": "SBY",
            "password": NEW_PASSWORD,
        },
        "/ops/accounts",
    )
    assert "Akun penghubung.sby (Operator wilayah, SBY) dibuat" in page
    listed = await (await client.get("/ops/accounts")).text()
    assert "Rina (Diskominfo)" in listed and "penghubung.sby" in listed
    created = await account(rt, "penghubung.sby")
    assert (created.role, created.region_code) == ("operator", "SBY")
    assert NEW_PASSWORD not in created.password_hash
    await sign_in_as(client, "penghubung.sby", NEW_PASSWORD)
    # The CLI sees the same account, with the same fields.
    done = await asyncio.to_thread(cli_in_process, rt.settings.path, "operator", "list", "--json")
    rows = {r["name"]: r for r in json.loads(done.output)}
    assert rows["penghubung.sby"]["display_name"] == "Rina (Diskominfo)"
    assert rows["penghubung.sby"]["totp"] is False and rows["admin"]["role"] == "admin"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"password": "pendek"}, "paling sedikit 10 karakter"),
        ({"password": "1234567890"}, "terlalu mudah ditebak"),
        ({"password": "aaaaaaaaaaaa"}, "terlalu mudah ditebak"),
        ({"password": "rina.sby-2026!"}, "tidak boleh memuat nama pengguna"),
        ({"region": ""}, "harus punya wilayah"),
        ({"region": "XYZ"}, "Wilayah XYZ tidak dikenal"),
        ({"name": "agam"}, "Akun agam sudah ada"),
        ({"name": "nama dengan spasi"}, "Nama pengguna 1–64 karakter"),
    ],
)
async def test_a_refused_account_says_why_in_indonesian(
    console: Console, form: dict[str, str], message: str
) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    data = {"name": "rina.sby", "role": "operator", "region": "SBY", "password": NEW_PASSWORD}
    page = await post(client, "/ops/accounts", {**data, **form}, "/ops/accounts")
    assert message in page and 'class="pesan galat"' in page
    if form.get("name") != "agam":
        assert await account(rt, data["name"]) is None


async def test_a_region_operator_cannot_manage_accounts(console: Console) -> None:
    client, rt = console
    cookie = await sign_in_as(client, "agam")
    assert (await client.get("/ops/accounts")).status == 403
    assert (await client.get("/ops/accounts/admin")).status == 403
    html = await (await client.get("/ops/account")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    resp = await client.post("/ops/accounts/admin/state", data={"csrf": token, "action": "disable"})
    assert resp.status == 403
    assert (await account(rt, "admin")).disabled_at is None
    assert "/ops/accounts" not in html  # no link to a page they cannot open
    assert await alive(client, cookie)


async def test_every_account_form_needs_its_csrf_token(console: Console) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    for path, data in [
        ("/ops/accounts", {"name": "x1", "role": "admin", "password": NEW_PASSWORD}),
        ("/ops/accounts/agam/state", {"action": "disable"}),
        ("/ops/accounts/agam/profile", {"role": "admin"}),
        ("/ops/accounts/agam/password", {"password": NEW_PASSWORD}),
        ("/ops/account/password", {"current": PASSWORD, "new": NEW_PASSWORD}),
        ("/ops/account/totp", {}),
    ]:
        resp = await client.post(path, data=data, allow_redirects=False)
        assert resp.status == 403, path
    agam = await account(rt, "agam")
    assert agam.disabled_at is None and agam.role == "operator"
    assert await account(rt, "x1") is None


async def test_disable_and_enable_from_the_console(console: Console) -> None:
    client, _ = console
    agam = await sign_in_as(client, "agam")
    await sign_in_as(client, "admin")
    page = await post(
        client, "/ops/accounts/agam/state", {"action": "disable"}, "/ops/accounts/agam"
    )
    assert "Akun agam dinonaktifkan. Sesi konsolnya diakhiri." in page
    assert not await alive(client, agam)
    assert "Nonaktif" in await (await client.get("/ops/accounts")).text()
    assert await fresh_login(client, "agam") == 401
    await sign_in_as(client, "admin")
    page = await post(client, "/ops/accounts/agam/state", {"action": "enable"}, "/ops/accounts")
    assert "Akun agam diaktifkan kembali." in page
    await sign_in_as(client, "agam")


@pytest.mark.parametrize(
    ("change", "ends"),
    [
        ({"role": "operator", "region": "SBY", "display_name": ""}, True),
        ({"role": "admin", "region": "", "display_name": ""}, True),
        ({"role": "operator", "region": "AGAM", "display_name": "Budi"}, False),
    ],
    ids=["region", "role", "display-name-only"],
)
async def test_a_change_of_rights_ends_the_sessions(
    console: Console, change: dict[str, str], ends: bool
) -> None:
    client, rt = console
    agam = await sign_in_as(client, "agam")
    await sign_in_as(client, "admin")
    page = await post(client, "/ops/accounts/agam/profile", change, "/ops/accounts/agam")
    assert "Data akun agam disimpan." in page
    assert ("Sesi konsolnya diakhiri." in page) is ends
    assert await alive(client, agam) is not ends
    stored = await account(rt, "agam")
    assert (stored.role, stored.region_code) == (change["role"], change["region"] or None)
    assert stored.display_name == (change["display_name"] or None)


async def test_an_admin_resets_a_password(console: Console) -> None:
    client, _ = console
    agam = await sign_in_as(client, "agam")
    await sign_in_as(client, "admin")
    refused = await post(
        client, "/ops/accounts/agam/password", {"password": "pendek"}, "/ops/accounts/agam"
    )
    assert "Kata sandi terlalu pendek" in refused and await alive(client, agam)
    page = await post(
        client, "/ops/accounts/agam/password", {"password": NEW_PASSWORD}, "/ops/accounts/agam"
    )
    assert "Kata sandi agam diganti. Sesi konsolnya diakhiri." in page
    assert not await alive(client, agam)
    assert await fresh_login(client, "agam") == 401
    await sign_in_as(client, "agam", NEW_PASSWORD)


async def test_the_last_enabled_admin_is_neither_disabled_nor_demoted(console: Console) -> None:
    client, rt = console
    await sign_in_as(client, "admin")
    page = await post(
        client,
        "/ops/accounts/admin/profile",
        {"role": "operator", "region": "AGAM"},
        "/ops/accounts/admin",
    )
    assert "satu-satunya admin yang aktif" in page
    page = await post(client, "/ops/accounts/admin/state", {"action": "disable"}, "/ops/accounts")
    assert "tidak dapat menonaktifkan akun Anda sendiri" in page
    done = await asyncio.to_thread(cli_in_process, rt.settings.path, "operator", "disable", "admin")
    assert done.exit_code == 1 and "last enabled admin" in done.output
    demote = ["operator", "add", "admin", "--role", "operator", "--region", "AGAM"]
    done = await asyncio.to_thread(
        cli_in_process,
        rt.settings.path,
        *demote,
        "--password-stdin",
        "--update",
        input=NEW_PASSWORD,
    )
    assert done.exit_code == 1 and "last enabled admin" in done.output
    assert (await account(rt, "admin")).role == "admin"
    # With a second admin, the first may go.
    await post(
        client,
        "/ops/accounts",
        {"name": "admin2", "role": "admin", "password": NEW_PASSWORD},
        "/ops/accounts",
    )
    await sign_in_as(client, "admin2", NEW_PASSWORD)
    page = await post(client, "/ops/accounts/admin/state", {"action": "disable"}, "/ops/accounts")
    assert "Akun admin dinonaktifkan." in page
    page = await post(
        client,
        "/ops/accounts/admin2/profile",
        {"role": "operator", "region": "AGAM"},
        "/ops/accounts/admin2",
    )
    assert "satu-satunya admin yang aktif" in page  # the disabled one does not count


async def test_everyone_changes_their_own_password(console: Console) -> None:
    client, _ = console
    elsewhere = await sign_in_as(client, "agam")
    here = await sign_in_as(client, "agam")
    page = "/ops/account"
    form = {"current": "salah-sekali-ini", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert "Kata sandi sekarang salah." in await post(client, page + "/password", form, page)
    form = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}
    assert "ulangannya tidak sama" in await post(client, page + "/password", form, page)
    form = {"current": PASSWORD, "new": "agam-123456", "confirm": "agam-123456"}
    assert "tidak boleh memuat nama pengguna" in await post(client, page + "/password", form, page)
    assert await alive(client, elsewhere)
    form = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    done = await post(client, page + "/password", form, page)
    assert "Kata sandi Anda diganti. Sesi Anda di perangkat lain sudah diakhiri." in done
    assert await alive(client, here) and not await alive(client, elsewhere)
    assert await fresh_login(client, "agam") == 401
    await sign_in_as(client, "agam", NEW_PASSWORD)


@pytest.mark.parametrize(
    "args",
    [
        ["operator", "passwd", "agam", "--password-stdin"],
        [
            "operator",
            "add",
            "agam",
            "--role",
            "operator",
            "--region",
            "AGAM",
            "--password-stdin",
            "--update",
        ],
    ],
    ids=["passwd", "add-update"],
)
async def test_the_cli_applies_the_same_password_policy(console: Console, args: list[str]) -> None:
    _, rt = console
    done = await asyncio.to_thread(cli_in_process, rt.settings.path, *args, input="agam-1234567\n")
    assert done.exit_code == 1 and "must not contain the account name" in done.output
    done = await asyncio.to_thread(cli_in_process, rt.settings.path, *args, input="pendek\n")
    assert done.exit_code == 1 and "at least 10 characters" in done.output
    assert await fresh_login(console[0], "agam") == 303  # unchanged


async def test_cli_enable_lets_a_disabled_account_back_in(console: Console) -> None:
    client, rt = console
    for command in ("disable", "enable"):
        done = await asyncio.to_thread(
            cli_in_process, rt.settings.path, "operator", command, "agam"
        )
        assert done.exit_code == 0, done.output
        if command == "disable":
            assert await fresh_login(client, "agam") == 401
    assert await fresh_login(client, "agam") == 303
    done = await asyncio.to_thread(cli_in_process, rt.settings.path, "operator", "enable", "nemo")
    assert done.exit_code == 1 and "no operator 'nemo'" in done.output

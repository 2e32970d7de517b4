"""`/ops/accounts`: admins list, add, change, disable/enable operators and set a new
password for one; `/ops/account`: every operator changes their own password, and an admin
enrols the TOTP second factor. The rules are those of `lapor-gateway operator`
(ops/accounts.py), so the console and the CLI cannot disagree."""

from __future__ import annotations

from functools import partial
from typing import Any, NoReturn

from aiohttp import web
from sqlalchemy import select

from gateway.http_common import client_address
from gateway.labels import ROLE_LABELS
from gateway.ops import accounts, totp
from gateway.ops.accounts import AccountError
from gateway.ops.auth import Busy, OperatorSession
from gateway.ops.views import Console
from gateway.store.models import Operator, utcnow

BUSY = "Server sedang sibuk. Coba lagi sebentar lagi."


def _admin_only(op: OperatorSession) -> None:
    if not op.is_admin:
        raise web.HTTPForbidden(text="Halaman ini hanya untuk admin.")


def _view(console: Console, o: Operator) -> dict[str, Any]:
    return {
        "name": o.name,
        "display_name": o.display_name or "",
        "role": o.role,
        "role_label": ROLE_LABELS.get(o.role, o.role),
        "region": o.region_code or "",
        "disabled": o.disabled_at is not None,
        "totp": o.totp_enabled_at is not None,
        "created": console.local_time(o.created_at),
    }


async def _hash(console: Console, back: str, op: OperatorSession, password: str) -> str:
    try:
        return await console.passwords.hash(password)
    except Busy:
        console.redirect(back, op, BUSY, error=True)


# -- admins: every account ----------------------------------------------------------------


async def accounts_page(
    console: Console, request: web.Request, op: OperatorSession
) -> web.Response:
    _admin_only(op)
    async with console.rt.store.reader() as session:
        rows = (await session.scalars(select(Operator).order_by(Operator.name))).all()
    return console.render(
        "ops_accounts.html",
        request,
        op,
        nav="accounts",
        accounts=[_view(console, o) for o in rows],
        regions=console.regions_for(op),
        min_password=accounts.MIN_PASSWORD,
    )


async def add_account(console: Console, request: web.Request, op: OperatorSession) -> NoReturn:
    _admin_only(op)
    form = await request.post()
    name = str(form.get("name", "")).strip()
    try:
        accounts.check_name(name)
        profile = accounts.check_profile(
            str(form.get("role", "")),
            str(form.get("region", "")),
            str(form.get("display_name", "")),
            set(console.rt.settings.regions),
        )
        accounts.check_password(str(form.get("password", "")), name)
    except AccountError as e:
        console.redirect("/ops/accounts", op, e.text, error=True)
    hashed = await _hash(console, "/ops/accounts", op, str(form.get("password", "")))
    try:
        async with console.rt.store.transaction() as session:
            await accounts.create(session, name, profile, hashed)
    except AccountError as e:
        console.redirect("/ops/accounts", op, e.text, error=True)
    where = f", {profile.region}" if profile.region else ""
    console.redirect(
        f"/ops/accounts/{name}",
        op,
        f"Akun {name} ({ROLE_LABELS[profile.role]}{where}) dibuat. Berikan kata sandinya "
        "secara langsung, bukan lewat pesan.",
    )


async def account_page(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    _admin_only(op)
    async with console.rt.store.reader() as session:
        name = request.match_info["name"]
        o = await session.scalar(select(Operator).where(Operator.name == name))
    if o is None:
        raise web.HTTPNotFound(text="Akun tidak ditemukan.")
    return console.render(
        "ops_account_edit.html",
        request,
        op,
        nav="accounts",
        a=_view(console, o),
        regions=console.regions_for(op),
        own=o.id == op.operator_id,
        min_password=accounts.MIN_PASSWORD,
    )


async def _change(
    console: Console, op: OperatorSession, name: str, done: str, **change: Any
) -> NoReturn:
    back = f"/ops/accounts/{name}"
    try:
        async with console.rt.store.transaction() as session:
            target = await accounts.by_name(session, name)
            ended = await accounts.update(session, target, **change)
    except AccountError as e:
        console.redirect(back, op, e.text, error=True)
    if ended and target.id == op.operator_id:
        raise web.HTTPSeeOther("/ops/login")  # the admin changed their own rights
    console.redirect(back, op, done + (" Sesi konsolnya diakhiri." if ended else ""))


async def change_profile(console: Console, request: web.Request, op: OperatorSession) -> NoReturn:
    _admin_only(op)
    name = request.match_info["name"]
    form = await request.post()
    try:
        profile = accounts.check_profile(
            str(form.get("role", "")),
            str(form.get("region", "")),
            str(form.get("display_name", "")),
            set(console.rt.settings.regions),
        )
    except AccountError as e:
        console.redirect(f"/ops/accounts/{name}", op, e.text, error=True)
    await _change(console, op, name, f"Data akun {name} disimpan.", profile=profile)


async def change_state(console: Console, request: web.Request, op: OperatorSession) -> NoReturn:
    _admin_only(op)
    name = request.match_info["name"]
    disable = (await request.post()).get("action") == "disable"
    if disable and name == op.name:
        console.redirect(
            f"/ops/accounts/{name}",
            op,
            "Anda tidak dapat menonaktifkan akun Anda sendiri; minta admin lain.",
            error=True,
        )
    done = f"Akun {name} dinonaktifkan." if disable else f"Akun {name} diaktifkan kembali."
    await _change(console, op, name, done, disabled=disable)


async def reset_password(console: Console, request: web.Request, op: OperatorSession) -> NoReturn:
    _admin_only(op)
    name = request.match_info["name"]
    password = str((await request.post()).get("password", ""))
    try:
        accounts.check_password(password, name)
    except AccountError as e:
        console.redirect(f"/ops/accounts/{name}", op, e.text, error=True)
    hashed = await _hash(console, f"/ops/accounts/{name}", op, password)
    await _change(console, op, name, f"Kata sandi {name} diganti.", password_hash=hashed)


# -- every operator: their own account ----------------------------------------------------


async def _own(console: Console, op: OperatorSession) -> Operator:
    async with console.rt.store.reader() as session:
        me = await session.get(Operator, op.operator_id)
    assert me is not None  # the session was loaded with this operator a moment ago
    return me


async def own_page(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    me = await _own(console, op)
    enrol: dict[str, str] | None = None
    if op.is_admin and me.totp_secret and me.totp_enabled_at is None:
        secret = console.totp_key.open(me.totp_secret)
        if secret:
            uri = totp.provisioning_uri(secret, me.name)
            enrol = {
                "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
                "uri": uri,
                "qr": totp.qr_svg(uri),
            }
    return console.render(
        "ops_account_own.html",
        request,
        op,
        nav="own",
        me=_view(console, me),
        enrol=enrol,
        min_password=accounts.MIN_PASSWORD,
    )


async def change_own_password(
    console: Console, request: web.Request, op: OperatorSession
) -> NoReturn:
    form = await request.post()
    current, new = str(form.get("current", "")), str(form.get("new", ""))
    address = client_address(request, console.rt.settings.http.trusted_proxies)
    if await console.throttle.wait_s(op.name, address) > 0:
        console.redirect(
            "/ops/account", op, "Terlalu banyak percobaan yang gagal. Coba lagi nanti.", error=True
        )
    me = await _own(console, op)
    try:
        right = await console.passwords.verify(me.password_hash, current)
    except Busy:
        console.redirect("/ops/account", op, BUSY, error=True)
    if not right:
        await console.throttle.failed(op.name, address)
        console.redirect("/ops/account", op, "Kata sandi sekarang salah.", error=True)
    if new != str(form.get("confirm", "")):
        console.redirect(
            "/ops/account", op, "Kata sandi baru dan ulangannya tidak sama.", error=True
        )
    if new == current:
        console.redirect(
            "/ops/account", op, "Kata sandi baru harus berbeda dari yang sekarang.", error=True
        )
    try:
        accounts.check_password(new, op.name)
    except AccountError as e:
        console.redirect("/ops/account", op, e.text, error=True)
    hashed = await _hash(console, "/ops/account", op, new)
    async with console.rt.store.transaction() as session:
        me = await accounts.by_name(session, op.name)
        await accounts.update(session, me, password_hash=hashed, keep_session=op.session_id)
    console.redirect(
        "/ops/account",
        op,
        "Kata sandi Anda diganti. Sesi Anda di perangkat lain sudah diakhiri.",
    )


async def totp_start(console: Console, request: web.Request, op: OperatorSession) -> NoReturn:
    _admin_only(op)
    async with console.rt.store.transaction() as session:
        me = await accounts.by_name(session, op.name)
        if me.totp_enabled_at is not None:
            console.redirect("/ops/account", op, "Verifikasi dua langkah sudah aktif.", error=True)
        _, me.totp_secret = console.totp_key.new_secret()
        me.totp_last_step = None
    console.redirect(
        "/ops/account",
        op,
        "Pindai kode QR (atau ketik kuncinya) di aplikasi autentikator, lalu masukkan "
        "kode 6 angka untuk mengaktifkan.",
    )


async def _check_code(console: Console, request: web.Request, op: OperatorSession) -> None:
    """Returns once the code in the form is right for the caller (and unused); else back
    to the account page with the error."""
    code = str((await request.post()).get("code", ""))
    address = client_address(request, console.rt.settings.http.trusted_proxies)
    if await console.throttle.wait_s(op.name, address) > 0:
        console.redirect(
            "/ops/account", op, "Terlalu banyak kode yang salah. Coba lagi nanti.", error=True
        )
    async with console.rt.store.transaction() as session:
        me = await accounts.by_name(session, op.name)
        secret = console.totp_key.open(me.totp_secret) if me.totp_secret else None
        step = totp.matching_step(secret, code) if secret else None
        if step is not None and await totp.use_step(session, me.id, step):
            return
    await console.throttle.failed(op.name, address)
    console.redirect(
        "/ops/account",
        op,
        "Kode salah atau sudah dipakai. Masukkan kode yang sedang tampil di aplikasi.",
        error=True,
    )


async def totp_confirm(console: Console, request: web.Request, op: OperatorSession) -> NoReturn:
    _admin_only(op)
    await _check_code(console, request, op)
    async with console.rt.store.transaction() as session:
        me = await accounts.by_name(session, op.name)
        me.totp_enabled_at = utcnow()
    console.redirect(
        "/ops/account",
        op,
        "Verifikasi dua langkah aktif: setelah kata sandi, konsol meminta kode dari aplikasi.",
    )


async def totp_off(console: Console, request: web.Request, op: OperatorSession) -> NoReturn:
    await _check_code(console, request, op)
    async with console.rt.store.transaction() as session:
        me = await accounts.by_name(session, op.name)
        me.totp_secret = me.totp_enabled_at = me.totp_last_step = None
    console.redirect("/ops/account", op, "Verifikasi dua langkah dimatikan.")


def routes(console: Console) -> list[web.RouteDef]:
    def page(handler: Any) -> Any:
        return console.page(partial(handler, console))

    name = "{name:[A-Za-z0-9][A-Za-z0-9._@-]{0,63}}"
    return [
        web.get("/ops/accounts", page(accounts_page)),
        web.post("/ops/accounts", page(add_account)),
        web.get(f"/ops/accounts/{name}", page(account_page)),
        web.post(f"/ops/accounts/{name}/profile", page(change_profile)),
        web.post(f"/ops/accounts/{name}/state", page(change_state)),
        web.post(f"/ops/accounts/{name}/password", page(reset_password)),
        web.get("/ops/account", page(own_page)),
        web.post("/ops/account/password", page(change_own_password)),
        web.post("/ops/account/totp", page(totp_start)),
        web.post("/ops/account/totp/confirm", page(totp_confirm)),
        web.post("/ops/account/totp/off", page(totp_off)),
    ]

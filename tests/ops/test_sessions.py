"""Sign-in and sessions over a real socket (issue 11 items 6, 8, 9, 10)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from sqlalchemy import select

from gateway.app import build_http_app, build_runtime
from gateway.ops.auth import Busy, LoginThrottle, PasswordWork, authenticate
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import LoginFailure, Operator
from tests.ops.conftest import PASSWORD, csrf, login
from tests.support import cli_in_process, make_raw

Console = tuple[TestClient, Runtime]
PAGES = ("/ops/", "/ops/inbox", "/ops/review", "/ops/complaints", "/ops/stats")


def session_cookie(client: TestClient) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "lapor_ops")


async def with_cookie(client: TestClient, cookie: str, path: str = "/ops/") -> int:
    """A GET with exactly this session cookie (as a copied cookie would be replayed)."""
    resp = await client.get(path, allow_redirects=False, cookies={"lapor_ops": cookie})
    return resp.status


async def test_a_cookie_copied_before_logout_is_dead_after_it(console: Console) -> None:
    client, _ = console
    await login(client, "agam")
    copied = session_cookie(client)
    assert await with_cookie(client, copied) == 200
    resp = await client.post("/ops/logout", data={"csrf": await csrf(client)})
    assert "Anda sudah keluar." in await resp.text()
    assert await with_cookie(client, copied) == 303


@pytest.mark.parametrize(
    "change",
    [
        ["operator", "disable", "agam"],
        ["operator", "passwd", "agam", "--password-stdin"],
        ["operator", "add", "agam", "--role", "operator", "--region", "SBY", "--update"],
    ],
    ids=["disable", "passwd", "region"],
)
async def test_account_changes_end_sessions_at_once(console: Console, change: list[str]) -> None:
    client, rt = console
    await login(client, "agam")
    cookie = session_cookie(client)
    stream = await client.get("/ops/events/stream?after=0")
    assert stream.status == 200
    args = [*change, "--password-stdin"] if change[1] == "add" else change
    done = await asyncio.to_thread(
        cli_in_process, rt.settings.path, *args, input="sandi-baru-panjang\n"
    )
    assert done.exit_code == 0, done.output
    assert await with_cookie(client, cookie) == 303
    # The open live-log stream says why and closes, within its next poll.
    body = await asyncio.wait_for(stream.content.read(), 10)
    assert b"event: end\ndata: session" in body


async def test_operator_add_refuses_an_existing_name_without_update(console: Console) -> None:
    _, rt = console
    args = ["operator", "add", "agam", "--role", "admin", "--password-stdin"]
    done = await asyncio.to_thread(
        cli_in_process, rt.settings.path, *args, input="sandi-baru-panjang\n"
    )
    assert done.exit_code == 1 and "--update" in done.output
    listed = await asyncio.to_thread(cli_in_process, rt.settings.path, "operator", "list", "--json")
    assert '"role": "operator"' in listed.output and '"name": "agam"' in listed.output
    assert await login(console[0], "agam") == 303  # the old password still works


async def test_wrong_passwords_lock_the_account_and_are_logged_without_the_password(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = console
    caplog.set_level(logging.WARNING, logger="gateway.ops.views")
    statuses = [await login(client, "agam", f"tebakan-{i}") for i in range(6)]
    assert statuses[:4] == [401, 401, 401, 401] and statuses[-1] == 429
    # The right password does not help while the lock lasts.
    form = await (await client.get("/ops/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    resp = await client.post(
        "/ops/login",
        data={"name": "agam", "password": PASSWORD, "csrf": token},
        allow_redirects=False,
    )
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "Terlalu banyak percobaan" in await resp.text()
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "ops login failed" in logged and "agam" in logged
    assert "tebakan" not in logged
    # Another account from elsewhere is not locked by this one.
    assert await login(client, "admin") == 303


async def test_throttle_doubles_its_lock_and_forgets(store: Store) -> None:
    now = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    throttle = LoginThrottle(store, clock=lambda: now[0])
    for _ in range(3):
        await throttle.failed("agam", "10.0.0.1")
    assert await throttle.wait_s("agam", "10.0.0.9") == 0
    await throttle.failed("agam", "10.0.0.1")
    assert await throttle.wait_s("agam", "10.0.0.9") == 2
    now[0] += timedelta(seconds=2)
    await throttle.failed("AGAM", "10.0.0.1")  # names are case-insensitive
    assert await throttle.wait_s("agam", "10.0.0.9") == 4
    # Many names from one address: the address is locked too.
    for i in range(12):
        await throttle.failed(f"nama{i}", "10.0.0.2")
    assert await throttle.wait_s("siapa-saja", "10.0.0.2") > 0
    await throttle.succeeded("agam")
    assert await throttle.wait_s("agam", "10.0.0.9") == 0
    # An hour later the address's failures are forgotten (and their rows deleted).
    now[0] += timedelta(hours=2)
    await throttle.failed("lain", "10.0.0.3")
    assert await throttle.wait_s("siapa-saja", "10.0.0.2") == 0
    async with store.reader() as session:
        keys = set(await session.scalars(select(LoginFailure.key)))
    assert keys == {"n:lain", "a:10.0.0.3"}


async def test_the_lock_is_shared_by_every_instance_and_counts_the_proxied_client(
    settings: Settings, store: Store
) -> None:
    """Two gateways on one database behind a proxy: failures at one lock the other, for the
    citizen's address named by the trusted proxy, not for the proxy itself."""
    behind_proxy = settings.file.model_copy(
        update={
            "http": settings.file.http.model_copy(
                update={"trusted_proxies": (ip_network("127.0.0.0/8"),)}
            )
        }
    )
    settings = Settings(settings.path, behind_proxy, settings.regions)
    hashed = PasswordHasher().hash(PASSWORD)
    async with store.transaction() as s:
        s.add(Operator(name="agam", role="operator", region_code="AGAM", password_hash=hashed))
    apps = [build_http_app(build_runtime(settings, store)) for _ in range(2)]
    async with TestClient(TestServer(apps[0])) as one, TestClient(TestServer(apps[1])) as two:
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        for i in range(11):
            name = f"tebak{i}"
            assert await login(one, name, "salah", headers=attacker) == 401
        # The other instance refuses that address at once, whatever the account...
        assert await login(two, "agam", headers=attacker) == 429
        # ...while an operator behind the same proxy, at another address, signs in.
        assert await login(two, "agam", headers={"X-Forwarded-For": "198.51.100.20"}) == 303


async def test_concurrent_guesses_for_one_account_get_one_password_check(
    console: Console,
) -> None:
    """A burst (32 connections when a lock ends) costs one argon2 check, not one each."""
    client, _ = console
    statuses = await asyncio.gather(*(login(client, "agam", f"tebakan-{i}") for i in range(8)))
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) <= 2  # checks run one after another, never side by side


async def test_password_work_is_bounded_and_off_the_loop() -> None:
    work = PasswordWork(workers=1, max_waiting=2)
    hashed = await work.hash("kata-sandi-uji")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    checks = [asyncio.create_task(work.verify(hashed, "salah")) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(Busy):
        await work.verify(hashed, "salah")
    assert await asyncio.gather(*checks) == [False, False]
    tick.cancel()
    # The loop kept running while argon2 worked in its thread.
    assert ticks > 10
    assert await work.verify(hashed, "kata-sandi-uji") is True
    assert await work.verify(None, "apa saja") is False
    work.close()


async def test_a_right_password_signs_in_when_the_pool_has_no_room_to_rehash(
    store: Store,
) -> None:
    """Redoing an old hash is an extra: with the pool full it waits for the next sign-in."""

    class FullForHashing(PasswordWork):
        async def hash(self, password: str) -> str:
            raise Busy

    old = PasswordHasher().hash(PASSWORD)  # the library's defaults: due for a redo
    async with store.transaction() as s:
        s.add(Operator(name="lama", role="admin", region_code=None, password_hash=old))
    work = FullForHashing()
    try:
        account = await authenticate(store, work, "lama", PASSWORD)
    finally:
        work.close()
    assert account is not None and account.name == "lama"
    async with store.reader() as s:
        assert await s.scalar(select(Operator.password_hash).where(Operator.name == "lama")) == old


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to leave free")
async def test_password_work_leaves_the_first_cpu_to_the_event_loop() -> None:
    """argon2 starts its own threads (one per lane); they inherit the pool thread's CPUs."""
    work = PasswordWork()
    mine = sorted(os.sched_getaffinity(0))
    try:
        seen = await work._run(lambda: sorted(os.sched_getaffinity(0)))
    finally:
        work.close()
    assert seen == mine[1:]
    assert sorted(os.sched_getaffinity(0)) == mine  # the caller's thread is untouched


async def test_login_form_needs_its_csrf_token(console: Console) -> None:
    client, _ = console
    resp = await client.post(
        "/ops/login", data={"name": "agam", "password": PASSWORD}, allow_redirects=False
    )
    assert resp.status == 403 and "lapor_ops" not in resp.cookies
    assert "kedaluwarsa" in await resp.text()
    await client.get("/ops/login")  # the login cookie the token would belong to
    forged = await client.post(  # not ASCII: compare_digest on str would raise (a 500)
        "/ops/login",
        data={"name": "agam", "password": PASSWORD, "csrf": "tökén-palsu"},
        allow_redirects=False,
    )
    assert forged.status == 403 and "kedaluwarsa" in await forged.text()


async def test_every_console_answer_is_uncached_and_unframeable(console: Console) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak", sender="081234567890"))
    answers = [await client.get("/ops/login"), await client.get("/ops/", allow_redirects=False)]
    await login(client, "agam")
    answers += [await client.get(path) for path in PAGES]
    answers.append(await client.get("/ops/events/stream?after=0"))
    for resp in answers:
        assert resp.headers["Cache-Control"] == "no-store", resp.url
        assert resp.headers["X-Frame-Options"] == "DENY", resp.url
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], resp.url
    answers[-1].close()


async def test_flash_text_comes_from_the_server_never_the_url(console: Console) -> None:
    client, rt = console
    forged = "Akun Anda diblokir, hubungi 0812-0000-1111"
    for path in ("/ops/login", "/ops/review"):
        await login(client, "admin") if path != "/ops/login" else None
        page = await (await client.get(path, params={"pesan": forged, "galat": "1"})).text()
        assert forged not in page and "diblokir" not in page
    held = await rt.intake.submit(make_raw("BEBEJA jembatan putus di Cibaliung"))
    resp = await client.post(
        f"/ops/complaints/{held.complaint_id}/approve", data={"csrf": await csrf(client)}
    )
    assert "disetujui dan diantrekan" in await resp.text()
    again = await (await client.get("/ops/review")).text()
    assert "disetujui dan diantrekan" not in again  # shown once


async def test_a_second_instance_sees_the_same_sessions(console: Console) -> None:
    """Sessions live in the database: a logout on one gateway ends them on every other."""
    client, rt = console
    other_rt = build_runtime(rt.settings, rt.store)
    async with TestClient(TestServer(build_http_app(other_rt))) as other:
        await login(client, "agam")
        cookie = session_cookie(client)
        assert await with_cookie(other, cookie) == 200
        await client.post("/ops/logout", data={"csrf": await csrf(client)})
        assert await with_cookie(other, cookie) == 303

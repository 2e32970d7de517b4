"""The live log's stream: resume without repeats, end on shutdown (issue 11 item 11)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient

from gateway.runtime import Runtime
from tests.ops.conftest import login
from tests.support import make_raw, run_cli, running_gateway, write_config


async def data_ids(resp: aiohttp.ClientResponse, count: int) -> list[int]:
    ids: list[int] = []
    while len(ids) < count:
        line = await asyncio.wait_for(resp.content.readline(), 10)
        if line.startswith(b"data: "):
            ids.append(json.loads(line[6:])["id"])
    return ids


async def test_a_reconnect_resumes_after_the_last_event_seen(
    console: tuple[TestClient, Runtime],
) -> None:
    client, rt = console
    for i in range(3):
        await rt.intake.submit(make_raw(f"AGAM lampu jalan mati {i}"))
    await login(client, "agam")
    first = await client.get("/ops/events/stream?after=0")
    ids = await data_ids(first, 3)
    first.close()
    await rt.intake.submit(make_raw("AGAM lampu jalan mati lagi"))
    # The browser reconnects with the page's original ?after=0 AND the last id it saw.
    again = await client.get("/ops/events/stream?after=0", headers={"Last-Event-ID": str(ids[1])})
    assert await data_ids(again, 2) == [ids[2], ids[2] + 1]
    again.close()


async def test_sigterm_ends_open_streams_at_once(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    config = write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{db}")
    done = run_cli(
        config,
        "operator",
        "add",
        "admin",
        "--role",
        "admin",
        "--password-stdin",
        input="kata-sandi-uji\n",
    )
    assert done.returncode == 0, done.stderr
    from gateway.settings import load_settings

    base = f"http://{load_settings(config).http.listen}"
    async with running_gateway(config, tmp_path / "gateway.log") as proc:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            form = await (await http.get(f"{base}/ops/login")).text()
            token = form.split('name="csrf" value="')[1].split('"')[0]
            await http.post(
                f"{base}/ops/login",
                data={"name": "admin", "password": "kata-sandi-uji", "csrf": token},
            )
            streams = [await http.get(f"{base}/ops/events/stream") for _ in range(3)]
            assert all(s.status == 200 for s in streams)
            proc.send_signal(signal.SIGTERM)
            bodies = [await asyncio.wait_for(s.content.read(), 8) for s in streams]
            code = await asyncio.to_thread(proc.wait, 8)
    # The streams ended because the gateway stopped (not by aiohttp's 10 s shutdown
    # timeout, and not after the old ~24 s per tab), and the stop was clean.
    assert code == 0
    assert all(b"event: end\ndata: shutdown" in body for body in bodies)

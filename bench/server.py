"""One side of a benchmark, in its own process, so the load (wrk, smtplib) never shares
its event loop. Prints READY once it listens; SIGTERM stops it.

    python bench/server.py ours CONFIG [--service NAME ...]   the gateway's HTTP app
        (production assembly) plus the named services (e.g. email-smtp), nothing else
    python bench/server.py bare HOST:PORT                       a bare aiohttp handler: parses
        the JSON or form body and answers (what a handler does before any storing)
    python bench/server.py null-smtp HOST:PORT                  aiosmtpd, null handler
    python bench/server.py sandbox HOST:PORT                    the sandbox LAPOR (token
        SANDBOX_TOKEN), the outbox drain's far end
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.lapor_sandbox import SandboxLapor
from gateway.app import build_http_app, build_runtime
from gateway.config_base import parse_listen
from gateway.settings import load_settings
from gateway.store.db import Store
from gateway.store.regions import sync_regions


class NullHandler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


SANDBOX_TOKEN = "sandbox-token"  # [lapor] token's default


def bare_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        if request.content_type == "application/x-www-form-urlencoded":  # SMS webhooks
            form = await request.post()
            return web.Response(text="" if form.get("id") else "?", content_type="text/plain")
        data = json.loads(await request.read())
        return web.json_response({"ok": True, "region": data.get("region")}, status=201)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    return app


async def until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("READY", flush=True)
    await stop.wait()


async def serve_http(app: web.Application, listen: str) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = parse_listen(listen)
    await web.TCPSite(runner, host, port, backlog=1024).start()
    return runner


async def ours(config: Path, services: list[str]) -> None:
    settings = load_settings(config)
    store = Store(settings.database_url)
    await sync_regions(store, settings)
    rt = build_runtime(settings, store)
    runner = await serve_http(build_http_app(rt), settings.http.listen)
    started = [s for s in rt.services if s.name in services]
    for service in started:
        await service.start()
    try:
        await until_stopped()
    finally:
        await runner.cleanup()
        for service in reversed(started):
            await service.stop()
        await store.close()


async def bare(listen: str) -> None:
    runner = await serve_http(bare_app(), listen)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()


async def sandbox(listen: str) -> None:
    runner = await serve_http(SandboxLapor(SANDBOX_TOKEN).app(), listen)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()


async def null_smtp(listen: str) -> None:
    host, port = parse_listen(listen)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(NullHandler(), hostname="bench.local"), host, port
    )
    try:
        await until_stopped()
    finally:
        server.close()
        await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["ours", "bare", "null-smtp", "sandbox"])
    parser.add_argument("where", help="CONFIG for ours, HOST:PORT otherwise")
    parser.add_argument("--service", action="append", default=[])
    args = parser.parse_args()
    if args.kind == "ours":
        asyncio.run(ours(Path(args.where), args.service))
    elif args.kind == "bare":
        asyncio.run(bare(args.where))
    elif args.kind == "sandbox":
        asyncio.run(sandbox(args.where))
    else:
        asyncio.run(null_smtp(args.where))


if __name__ == "__main__":
    main()

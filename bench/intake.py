"""Intake throughput: POST /api/v1/complaints vs a bare aiohttp JSON handler, same run.

Prints requests/s for both and the ratio (ours / bare). Usage:
    .venv/bin/python bench/intake.py [--requests N] [--concurrency C] [--database-url URL]
(--database-url: an EMPTY database; it is migrated and filled.)
Default store: a fresh SQLite file (the embedded default). Numbers vary by machine; the
ratio is the figure to compare between versions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_setup import bench_store
from gateway.app import build_http_app, build_runtime
from gateway.config_base import parse_listen
from tests.support import API_KEY_ALL, free_port


async def bare_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        data = json.loads(await request.read())
        return web.json_response({"ok": True, "region": data["region"]}, status=201)

    app = web.Application()
    app.router.add_post("/api/v1/complaints", handler)
    return app


async def drive(url: str, total: int, concurrency: int, prefix: str) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            body = {"region": "AGAM", "text": f"Jalan rusak di depan pasar, laporan {i}"}
            async with http.post(
                url, json=body, headers={**headers, "Idempotency-Key": f"{prefix}-{i}"}
            ) as resp:
                assert resp.status == 201, await resp.text()

    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return total / (time.perf_counter() - start)


async def serve(app: web.Application, listen: str) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = parse_listen(listen)
    await web.TCPSite(runner, host, port).start()
    return runner


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with bench_store(args.database_url, Path(tmp)) as (settings, store):
            ours = await serve(build_http_app(build_runtime(settings, store)), settings.http.listen)
            bare_listen = f"127.0.0.1:{free_port()}"
            bare = await serve(await bare_app(), bare_listen)
            try:
                path = "/api/v1/complaints"
                # Warm both up, then alternate to share any machine noise fairly.
                await drive(f"http://{bare_listen}{path}", 100, args.concurrency, "warm")
                await drive(f"http://{settings.http.listen}{path}", 100, args.concurrency, "warm")
                bare_rate = await drive(
                    f"http://{bare_listen}{path}", args.requests, args.concurrency, "b"
                )
                our_rate = await drive(
                    f"http://{settings.http.listen}{path}", args.requests, args.concurrency, "o"
                )
            finally:
                await ours.cleanup()
                await bare.cleanup()
            backend = store.engine.dialect.name
    print(f"store: {backend}  requests: {args.requests}  concurrency: {args.concurrency}")
    print(f"bare aiohttp handler : {bare_rate:8.0f} req/s")
    print(f"lapor-gateway intake : {our_rate:8.0f} req/s (durable: committed before the 201)")
    print(f"ratio ours/bare      : {our_rate / bare_rate:8.3f}")


if __name__ == "__main__":
    asyncio.run(main())

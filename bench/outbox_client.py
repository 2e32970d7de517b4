"""The outbox drain's baseline: a raw aiohttp client, in its own process, posting the same
report bodies the outbox would send to the sandbox LAPOR (same headers, same concurrency,
no store). Prints JSON: seconds taken and each request's latency (s).

    python bench/outbox_client.py URL TOKEN BODIES_JSON CONCURRENCY
(BODIES_JSON: a file holding [[idempotency key, report body], ...].)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp


async def main(url: str, token: str, bodies: list[tuple[str, str]], concurrency: int) -> None:
    queue = list(reversed(bodies))
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def post(http: aiohttp.ClientSession) -> None:
        while queue:
            key, body = queue.pop()
            sent = time.perf_counter()
            async with http.post(
                f"{url}/api/v1/laporan", data=body, headers=headers | {"Idempotency-Key": key}
            ) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"sandbox answered {resp.status}: {await resp.text()}")
                await resp.read()
            latencies.append(time.perf_counter() - sent)

    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        await asyncio.gather(*(post(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    json.dump({"seconds": seconds, "latencies": latencies}, sys.stdout)


if __name__ == "__main__":
    url, token, path, concurrency = sys.argv[1:5]
    asyncio.run(main(url, token, json.loads(Path(path).read_text()), int(concurrency)))

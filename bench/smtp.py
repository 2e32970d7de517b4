"""SMTP delivery rate: our listener (parse, save, commit before the 250) against aiosmtpd
with a null handler (250 at once, nothing kept), both on this loop, in the same run.

Prints delivered messages/s for both and the ratio (ours / null). Usage:
    .venv/bin/python bench/smtp.py [--messages N] [--concurrency C] [--database-url URL]
(--database-url: an EMPTY database; it is migrated and filled.)
Default store: a fresh SQLite file. Each client connection sends several messages, as a
sending server's queue runner would. The ratio is the figure to compare between versions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_setup import bench_store
from channels.email.smtp_listener import SmtpListener
from gateway.intake import Intake
from gateway.runtime import Runtime
from tests.support import free_port

FIXTURE = (
    Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "email" / "gmail_reply_qp.eml"
)
RCPT = "aduan@agamkab.go.id"


class NullHandler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def message(template: bytes, prefix: str, i: int) -> bytes:
    # A distinct Message-ID per message, so each one is a new complaint.
    return template.replace(b"<CAHk8rT0w+V3ZP1hq6c5Lq0@", f"<{prefix}-{i}@".encode(), 1)


async def drive(port: int, total: int, concurrency: int, prefix: str) -> float:
    template = FIXTURE.read_bytes()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60) as smtp:
            while not queue.empty():
                i = queue.get_nowait()
                await smtp.sendmail("warga@mail.id", [RCPT], message(template, prefix, i))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    port = free_port()
    extra = f'[channels.email.smtp]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
    extra += 'hostname = "bench.local"\n'
    with tempfile.TemporaryDirectory() as tmp:
        async with bench_store(args.database_url, Path(tmp), extra) as (settings, store):
            rt = Runtime(settings=settings, store=store, intake=Intake(settings, store))
            ours = SmtpListener(rt)
            await ours.start()
            null_port = free_port()
            loop = asyncio.get_running_loop()
            null = await loop.create_server(
                lambda: SMTP(NullHandler(), hostname="bench.local"), "127.0.0.1", null_port
            )
            try:
                # Warm both up, then measure one after the other.
                await drive(null_port, 50, args.concurrency, "warm")
                await drive(port, 50, args.concurrency, "warm")
                null_rate = await drive(null_port, args.messages, args.concurrency, "n")
                our_rate = await drive(port, args.messages, args.concurrency, "o")
            finally:
                await ours.stop()
                null.close()
                await null.wait_closed()
            backend = store.engine.dialect.name
    print(f"store: {backend}  messages: {args.messages}  concurrency: {args.concurrency}")
    print(f"aiosmtpd null handler : {null_rate:8.0f} msg/s")
    print(f"lapor-gateway listener: {our_rate:8.0f} msg/s (parsed, committed before the 250)")
    print(f"ratio ours/null       : {our_rate / null_rate:8.3f}")


if __name__ == "__main__":
    asyncio.run(main())

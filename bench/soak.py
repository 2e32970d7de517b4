"""Soak: a steady mixed load for a long time, watching what must stay flat.

`lapor-gateway serve` (a subprocess, beside `lapor-gateway fake-lapor` that takes the
forwards) gets an open-loop load of --rate messages/s: JSON API complaints, SMS provider
webhooks and e-mail over SMTP (persistent sessions), mixed 5:3:2. Open loop: sends follow
the clock, not the answers, so a slow gateway shows as latency instead of a lower rate.
Every --sample-s seconds it prints one line: messages sent and answered, errors, latency
p50/p95/p99, the gateway's resident memory and open file descriptors, the database size
and the outbox backlog. At the end: the curve as JSON and the drift, each measure of the
last sample as a ratio of the first (the baseline of the same run). Usage:
    .venv/bin/python bench/soak.py [--minutes 30] [--rate 200] [--database-url URL]
(--database-url: an EMPTY database; it is migrated and filled. Default: a fresh SQLite file.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels.sms.webhooks import generic_signature  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from tests.support import API_KEY_ALL, free_port, wait_http, write_config  # noqa: E402

SECRET = "hmac-rahasia-soak"
MIX = ("api",) * 5 + ("sms",) * 3 + ("mail",) * 2
MAX_IN_FLIGHT = 4000  # beyond this the client counts sends as dropped (a stuck gateway)
SMTP_SESSIONS = 8


@dataclass
class Window:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    latencies: list[float] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Load:
    def __init__(self, base: str, smtp_port: int, run_id: str):
        self.base = base
        self.smtp_port = smtp_port
        self.run_id = run_id
        self.window = Window()
        self.in_flight = 0
        self.smtp: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(SMTP_SESSIONS):
            self.smtp.put_nowait(None)  # connected on first use

    async def send(self, http: aiohttp.ClientSession, kind: str, n: int) -> None:
        self.window.sent += 1
        self.in_flight += 1
        start = time.monotonic()
        key = f"{self.run_id}-{n}"
        try:
            ok, what = await getattr(self, f"_{kind}")(http, key)
        except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            ok, what = False, f"{kind}:{type(e).__name__}"
        finally:
            self.in_flight -= 1
        # Counted in the window it ends in: a sample never misses an answer.
        if ok:
            self.window.ok += 1
            self.window.latencies.append(time.monotonic() - start)
        else:
            self.window.error(what)

    async def _api(self, http: aiohttp.ClientSession, key: str) -> tuple[bool, str]:
        body = {"region": "AGAM", "text": f"Soak: jalan berlubang di Lubuk Basung ({key})"}
        headers = {"Authorization": f"Bearer {API_KEY_ALL}", "Idempotency-Key": key}
        async with http.post(f"{self.base}/api/v1/complaints", json=body, headers=headers) as r:
            await r.read()
            return r.status == 201, f"api:{r.status}"

    async def _sms(self, http: aiohttp.ClientSession, key: str) -> tuple[bool, str]:
        body = json.dumps(
            {"id": key, "from": "+6281298765432", "text": f"SBY lampu jalan mati {key}"}
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Lapor-Signature": generic_signature(SECRET, body),
        }
        async with http.post(f"{self.base}/webhooks/sms/generic", data=body, headers=headers) as r:
            await r.read()
            return r.status == 200, f"sms:{r.status}"

    async def _mail(self, _: aiohttp.ClientSession, key: str) -> tuple[bool, str]:
        msg = EmailMessage()
        msg["From"] = "warga@example.com"
        msg["To"] = "aduan@agamkab.go.id"
        msg["Subject"] = "Saluran air tersumbat"
        msg["Message-ID"] = f"<{key}@soak.example.com>"
        msg.set_content(f"Saluran air di depan pasar tersumbat sejak kemarin ({key}).")
        session = await self.smtp.get()
        try:
            if session is None or not session.is_connected:
                session = aiosmtplib.SMTP(
                    hostname="127.0.0.1", port=self.smtp_port, timeout=30, start_tls=False
                )
                await session.connect()
            await session.send_message(msg)
            return True, ""
        except aiosmtplib.SMTPResponseException as e:
            return False, f"mail:{e.code}"
        except BaseException:
            session = None  # reconnect next time
            raise
        finally:
            self.smtp.put_nowait(session)

    async def run(self, rate: float, seconds: float) -> None:
        """Open loop: the n-th message leaves at start + n/rate, whatever came back."""
        tasks: set[asyncio.Task[None]] = set()
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            start = time.monotonic()
            n = 0
            while (now := time.monotonic()) - start < seconds:
                due = int((now - start) * rate)
                while n < due:
                    if self.in_flight >= MAX_IN_FLIGHT:
                        self.window.dropped += 1
                    else:
                        task = asyncio.create_task(self.send(http, MIX[n % len(MIX)], n))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    n += 1
                await asyncio.sleep(0.005)
            if tasks:
                await asyncio.wait(tasks, timeout=60)
        while not self.smtp.empty():
            session = self.smtp.get_nowait()
            if session is not None and session.is_connected:
                try:
                    await session.quit()
                except aiosmtplib.SMTPException:
                    session.close()


def proc_stats(pid: int) -> tuple[float, int]:
    """(resident memory in MB, open file descriptors) of a process, from /proc."""
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    return rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def outbox_backlog(url: str) -> int:
    from sqlalchemy import func, select

    from gateway.store.db import Store
    from gateway.store.models import OutboxItem

    store = Store(url)
    try:
        async with store.reader() as s:
            return (
                await s.scalar(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(OutboxItem.status.in_(("pending", "sending")))
                )
            ) or 0
    finally:
        await store.close()


def db_size(url: str) -> float:
    from gateway.instance_lock import sqlite_path

    path = sqlite_path(url)
    if path is None:
        return float("nan")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


async def sample_loop(
    load: Load, pid: int, url: str, every: float, samples: list[dict], stop: asyncio.Event
) -> None:
    minute = 0
    print(
        "  min    sent      ok  errors  dropped   p50 ms   p95 ms   p99 ms   rss MB  fds"
        "   db MB  outbox",
        flush=True,
    )
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass
        window, load.window = load.window, Window()
        minute += 1
        rss, fds = proc_stats(pid)
        row = {
            "minute": minute,
            "sent": window.sent,
            "ok": window.ok,
            "errors": sum(window.errors.values()),
            "error_kinds": window.errors,
            "dropped": window.dropped,
            "p50_ms": round(percentile(window.latencies, 50) * 1000, 1),
            "p95_ms": round(percentile(window.latencies, 95) * 1000, 1),
            "p99_ms": round(percentile(window.latencies, 99) * 1000, 1),
            "rss_mb": round(rss, 1),
            "open_fds": fds,
            "db_mb": round(db_size(url), 1),
            "outbox_backlog": await outbox_backlog(url),
        }
        samples.append(row)
        print(
            f"{minute:5d} {row['sent']:7d} {row['ok']:7d} {row['errors']:7d} {row['dropped']:8d}"
            f" {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['p99_ms']:8.1f}"
            f" {row['rss_mb']:8.1f} {fds:4d} {row['db_mb']:7.1f} {row['outbox_backlog']:7d}",
            flush=True,
        )


def cli(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", "--config", str(cfg), *args]


async def soak(
    args: argparse.Namespace,
    base: str,
    smtp_port: int,
    gateway: int,
    url: str,
    log: Path,
    proc: subprocess.Popen[bytes],
) -> list[dict]:
    await wait_http(f"{base}/healthz", proc=proc, log=log)
    store_kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"soak: {args.rate:g} msg/s (API:SMS:mail 5:3:2) for {args.minutes:g} min, "
        f"{store_kind}, gateway pid {gateway}, work dir {log.parent}",
        flush=True,
    )
    load = Load(base, smtp_port, f"soak{int(time.time())}")
    samples: list[dict] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_loop(load, gateway, url, args.sample_s, samples, stop))
    await load.run(args.rate, args.minutes * 60)
    stop.set()
    await sampler
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--sample-s", type=float, default=60.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--output", type=Path, default=None, help="write the curve as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lapor-soak-"))
    url = args.database_url or f"sqlite+aiosqlite:///{work}/soak.db"
    smtp_port, lapor_port = free_port(), free_port()
    extra = (
        f'[channels.sms.webhook]\nenabled = true\nsecret = "{SECRET}"\n'
        f'[channels.email.smtp]\nenabled = true\nlisten = "127.0.0.1:{smtp_port}"\n'
    )
    cfg = write_config(work, url, extra, lapor_url=f"http://127.0.0.1:{lapor_port}")
    base = f"http://{load_settings(cfg).http.listen}"
    subprocess.run(cli(cfg, "db", "upgrade"), check=True, capture_output=True, cwd=ROOT)
    log_path = work / "gateway.log"
    log = log_path.open("ab")
    lapor = subprocess.Popen(
        cli(cfg, "fake-lapor", "--listen", f"127.0.0.1:{lapor_port}", "--in-memory"),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    gateway = subprocess.Popen(cli(cfg, "serve"), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        samples = asyncio.run(soak(args, base, smtp_port, gateway.pid, url, log_path, gateway))
    finally:
        for proc in (gateway, lapor):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        code = gateway.wait(60)
        lapor.wait(30)
        log.close()
    if not samples:
        return 1
    first, last = samples[0], samples[-1]

    def ratio(key: str) -> float:
        return round(last[key] / first[key], 3) if first[key] else float("nan")

    total_sent = sum(s["sent"] for s in samples)
    total_ok = sum(s["ok"] for s in samples)
    summary = {
        "rate_per_s": args.rate,
        "minutes": args.minutes,
        "sent": total_sent,
        "ok": total_ok,
        "errors": sum(s["errors"] for s in samples),
        "dropped": sum(s["dropped"] for s in samples),
        "achieved_per_s": round(total_ok / (args.minutes * 60), 1),
        "drift_last_over_first": {k: ratio(k) for k in ("rss_mb", "open_fds", "p99_ms")},
        "graceful_stop_exit": code,
        "samples": samples,
    }
    print(
        f"answered {total_ok}/{total_sent} ({summary['achieved_per_s']} msg/s), "
        f"errors {summary['errors']}, dropped {summary['dropped']}; drift last/first: "
        + ", ".join(f"{k} {v}" for k, v in summary["drift_last_over_first"].items())
        + f"; graceful stop exit {code}",
        flush=True,
    )
    if args.output:
        args.output.write_text(json.dumps(summary, indent=2))
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

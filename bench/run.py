"""`make bench`: one table of ours vs a baseline measured in the same run, load from
separate processes (wrk for HTTP, several smtplib processes for SMTP).

    .venv/bin/python bench/run.py [--duration S] [--connections C] [--only ROW ...]
                                  [--postgres URL | --no-postgres] [--outbox-complaints N]

Rows (ROW names in brackets):
- API intake on SQLite [api-sqlite] and PostgreSQL [api-postgres], and the Kannel SMS
  webhook [sms]: wrk, 2 threads, C connections, every request its own idempotency key,
  against a bare aiohttp handler (parses the body, answers) in its own process.
- SMTP [smtp]: smtplib processes, one connection each, against aiosmtpd with a null handler.
- Outbox drain [outbox]: `serve`'s worker forwarding N queued complaints (bench/prefill.py)
  to a sandbox LAPOR process, against bench/outbox_client.py posting the same bodies with
  the same concurrency to another sandbox process.
Afterwards every 2xx / 250 is looked up in the store (lost = answered but not stored;
doubled = two complaints for one key; for the outbox: not forwarded / filed twice).
Numbers vary by machine and by what else runs on it; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server import SANDBOX_TOKEN  # noqa: E402
from gateway.lapor.report import build_report, report_json  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from gateway.store.db import Store  # noqa: E402
from gateway.store.migrate import upgrade  # noqa: E402
from gateway.store.models import Complaint, InboundMessage, Reporter  # noqa: E402
from tests.support import API_KEY_ALL, free_port, pg_admin, write_config  # noqa: E402

PY = sys.executable
KANNEL_SECRET = "bench-kannel-secret"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass
class Row:
    name: str
    baseline: str
    ours_rate: float
    base_rate: float
    ours_p50: float | None = None
    ours_p99: float | None = None
    base_p50: float | None = None
    base_p99: float | None = None
    checked: str = ""

    @property
    def ratio(self) -> float:
        return self.ours_rate / self.base_rate if self.base_rate else 0.0


# --- processes -----------------------------------------------------------------------


@contextmanager
def process(*args: str) -> Iterator[subprocess.Popen[str]]:
    """A server process; waits for its READY line, SIGTERMs it at the end.

    Its stderr goes to a file: a pipe nobody reads fills up and stalls the server at its
    first few hundred log lines (what once made a bare handler answer 24/s)."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [PY, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "READY":
                proc.kill()
                proc.wait()
                err.seek(0)
                raise RuntimeError(f"{args} did not start: {line}{err.read()[-2000:]}")
            yield proc
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def config_for(directory: Path, url: str, extra: str = "", **kw: object) -> Path:
    path = write_config(directory, url, extra, **kw)  # type: ignore[arg-type]
    # The test config's per-client rate limit would throttle the load generator.
    body = path.read_text().replace(
        "rate_limit_per_minute = 100000", "rate_limit_per_minute = 100000000"
    )
    path.write_text(body)
    return path


def listen_of(config: Path) -> str:
    return re.search(r'^listen = "([^"]+)"', config.read_text(), re.M).group(1)  # type: ignore[union-attr]


# --- wrk -----------------------------------------------------------------------------

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


@dataclass
class WrkResult:
    rate: float
    p50: float
    p99: float
    non_2xx: int
    errors: int
    ok_lines: list[str]


def wrk(url: str, mode: str, secret: str, args: argparse.Namespace, out: Path) -> WrkResult:
    run = uuid.uuid4().hex[:8]
    prefix = out / f"wrk-{mode}-{run}"
    cmd = [
        "wrk",
        "-t2",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        str(ROOT / "bench" / "unique_keys.lua"),
        url,
        "--",
        mode,
        secret,
        run,
        str(prefix),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done).group(1))  # type: ignore[union-attr]
    p50 = _seconds(re.search(r"\s50%\s+(\S+)", done).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"\s99%\s+(\S+)", done).group(1))  # type: ignore[union-attr]
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done)
    errs = re.search(r"Socket errors:.*?read (\d+), write (\d+), timeout (\d+)", done)
    lines: list[str] = []
    for path in out.glob(f"{prefix.name}-*.ok"):
        lines += path.read_text().split()
    return WrkResult(
        rate,
        p50,
        p99,
        int(non.group(1)) if non else 0,
        sum(int(g) for g in errs.groups()) if errs else 0,
        lines,
    )


# --- verification --------------------------------------------------------------------


async def check_api(url: str, refs: list[str]) -> str:
    store = Store(url)
    try:
        async with store.reader() as s:
            stored = set((await s.scalars(select(Complaint.tracking_ref))).all())
            doubled = await s.scalar(
                select(func.count()).select_from(
                    select(Complaint.channel, Complaint.external_id)
                    .group_by(Complaint.channel, Complaint.external_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
    finally:
        await store.close()
    lost = sum(1 for r in refs if r not in stored)
    return f"{len(refs)} 2xx: {lost} lost, {doubled} doubled"


async def check_kannel(url: str, oks: int) -> str:
    store = Store(url)
    try:
        async with store.reader() as s:
            stored = await s.scalar(
                select(func.count()).where(InboundMessage.external_id.like("kannel:%"))
            )
    finally:
        await store.close()
    # wrk cannot tie an answer to its request: every request has its own id, so every
    # 2xx must be one stored row (rows beyond the count: requests cut off at the end).
    lost = max(oks - stored, 0)
    return f"{oks} 2xx: {lost} lost, {stored} stored"


async def check_smtp(url: str, keys: list[str]) -> str:
    store = Store(url)
    try:
        async with store.reader() as s:
            ids = (
                await s.scalars(
                    select(InboundMessage.external_id).where(InboundMessage.channel == "email")
                )
            ).all()
            complaints = await s.scalar(
                select(func.count()).where(Complaint.channel == "email").select_from(Complaint)
            )
    finally:
        await store.close()
    stored = {m.group(1) for e in ids if (m := re.search(r"<([^<>@]+@)", e))}
    lost = sum(1 for k in keys if k not in stored)
    doubled = complaints - len(stored)
    return f"{len(keys)} 250: {lost} lost, {doubled} doubled"


# --- databases -----------------------------------------------------------------------


@contextmanager
def database(kind: str, work: Path, pg_base: str | None) -> Iterator[str]:
    """A fresh, migrated database for one row."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{work}/bench-{uuid.uuid4().hex[:8]}.db"
        upgrade(url)
        yield url
        return
    assert pg_base is not None
    name = f"lapor_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(pg_base, f'CREATE DATABASE "{name}"'))
    url = make_url(pg_base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(pg_admin(pg_base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- rows ----------------------------------------------------------------------------


def bare_http(args: argparse.Namespace, work: Path, mode: str) -> WrkResult:
    listen = f"127.0.0.1:{free_port()}"
    with process("bench/server.py", "bare", listen):
        return wrk(f"http://{listen}", "bare" if mode == "api" else mode, "x", args, work)


def http_row(
    name: str, kind: str, mode: str, args: argparse.Namespace, work: Path, base: WrkResult
) -> Row:
    with database(kind, work, args.postgres) as url:
        extra = f'[channels.sms.webhook]\nenabled = true\nkannel_secret = "{KANNEL_SECRET}"\n'
        config = config_for(work / f"cfg-{uuid.uuid4().hex[:6]}", url, extra)
        listen = listen_of(config)
        with process("bench/server.py", "ours", str(config)):
            secret = API_KEY_ALL if mode == "api" else KANNEL_SECRET
            ours = wrk(f"http://{listen}", mode, secret, args, work)
        if mode == "api":
            checked = asyncio.run(check_api(url, ours.ok_lines))
        else:
            checked = asyncio.run(check_kannel(url, len(ours.ok_lines)))
    if ours.non_2xx or ours.errors:
        checked += f"; {ours.non_2xx} non-2xx, {ours.errors} socket errors"
    return Row(
        name, "bare aiohttp", ours.rate, base.rate, ours.p50, ours.p99, base.p50, base.p99, checked
    )


def smtp_clients(port: int, args: argparse.Namespace) -> tuple[float, list[float], list[str]]:
    procs = [
        subprocess.Popen(
            [
                PY,
                "bench/smtp_client.py",
                "127.0.0.1",
                str(port),
                f"m{i}-{uuid.uuid4().hex[:6]}",
                str(args.duration),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(args.smtp_clients)
    ]
    started = time.perf_counter()
    results = [json.loads(p.communicate()[0]) for p in procs]
    wall = time.perf_counter() - started
    accepted = [k for r in results for k in r["accepted"]]
    latencies = [x for r in results for x in r["latencies"]]
    return len(accepted) / wall, latencies, accepted


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def smtp_row(args: argparse.Namespace, work: Path) -> Row:
    null_port = free_port()
    with process("bench/server.py", "null-smtp", f"127.0.0.1:{null_port}"):
        base_rate, base_lat, _ = smtp_clients(null_port, args)
    with database("sqlite", work, None) as url:
        port = free_port()
        extra = f'[channels.email.smtp]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
        extra += 'hostname = "bench.local"\n'
        config = config_for(work / f"cfg-{uuid.uuid4().hex[:6]}", url, extra)
        with process("bench/server.py", "ours", str(config), "--service", "email-smtp"):
            rate, lat, keys = smtp_clients(port, args)
        checked = asyncio.run(check_smtp(url, keys))
    return Row(
        "SMTP (sqlite)",
        "null aiosmtpd",
        rate,
        base_rate,
        _pct(lat, 50),
        _pct(lat, 99),
        _pct(base_lat, 50),
        _pct(base_lat, 99),
        checked,
    )


def _sandbox_stats(listen: str) -> dict[str, int]:
    with urllib.request.urlopen(f"http://{listen}/sandbox/stats", timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


async def _report_bodies(url: str, config: Path) -> list[tuple[str, str]]:
    """What the outbox will send for each queued complaint (key, JSON body)."""
    settings = load_settings(config)
    store = Store(url)
    try:
        async with store.reader() as s:
            complaints = (await s.scalars(select(Complaint))).all()
            reporters = {r.id: r for r in (await s.scalars(select(Reporter))).all()}
    finally:
        await store.close()
    return [
        (
            c.id,
            json.dumps(
                report_json(
                    build_report(
                        c,
                        reporters.get(c.reporter_id),  # type: ignore[arg-type]
                        settings.regions[c.region_code].lapor_institution_id,
                    )
                )
            ),
        )
        for c in complaints
    ]


async def check_outbox(url: str, n: int, stats: dict[str, int]) -> str:
    store = Store(url)
    try:
        async with store.reader() as s:
            forwarded = await s.scalar(select(func.count()).where(Complaint.status == "forwarded"))
    finally:
        await store.close()
    return (
        f"{n} queued: {n - forwarded} lost, {max(stats['reports'] - n, 0)} doubled, "
        f"{stats['replays']} replays"
    )


def outbox_row(args: argparse.Namespace, work: Path) -> Row:
    """`serve`'s outbox worker draining N queued complaints to a sandbox LAPOR process,
    against bench/outbox_client.py posting the same bodies to another one."""
    n = args.outbox_complaints
    with database("sqlite", work, None) as url:
        lapor = f"127.0.0.1:{free_port()}"
        config = config_for(work / f"cfg-{uuid.uuid4().hex[:6]}", url, lapor_url=f"http://{lapor}")
        subprocess.run([PY, "bench/prefill.py", str(config), str(n)], cwd=ROOT, check=True)
        bodies = work / "bodies.json"
        bodies.write_text(json.dumps(asyncio.run(_report_bodies(url, config))))
        concurrency = load_settings(config).lapor.outbox_concurrency
        base = f"127.0.0.1:{free_port()}"
        with process("bench/server.py", "sandbox", base):
            client = ["bench/outbox_client.py", f"http://{base}", SANDBOX_TOKEN, str(bodies)]
            raw = subprocess.run(
                [PY, *client, str(concurrency)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
        baseline = json.loads(raw.stdout)
        with process("bench/server.py", "sandbox", lapor):
            with process("bench/server.py", "ours", str(config), "--service", "outbox"):
                # From READY: the worker started just before (the start-up is not the drain).
                started = time.perf_counter()
                deadline = started + 600
                while (stats := _sandbox_stats(lapor))["reports"] < n:
                    if time.perf_counter() > deadline:
                        break
                    time.sleep(0.05)
                seconds = time.perf_counter() - started
            stats = _sandbox_stats(lapor)
        checked = asyncio.run(check_outbox(url, n, stats))
    return Row(
        "outbox drain (sqlite)",
        "raw aiohttp client",
        n / seconds,
        n / baseline["seconds"],
        None,
        None,
        _pct(baseline["latencies"], 50),
        _pct(baseline["latencies"], 99),
        checked,
    )


# --- table ---------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    head = (
        f"{'bench':<26} {'baseline':<20} {'ours/s':>8} {'base/s':>8} {'ratio':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'b.p50':>6} {'b.p99':>6}  checked afterwards"
    )
    print(
        f"\nlapor-gateway bench: wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"{args.smtp_clients} smtplib processes, {os.cpu_count()} CPUs"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.name:<26} {r.baseline:<20} {r.ours_rate:>8.0f} {r.base_rate:>8.0f} "
            f"{r.ratio:>6.3f} {_ms(r.ours_p50):>7} {_ms(r.ours_p99):>7} "
            f"{_ms(r.base_p50):>6} {_ms(r.base_p99):>6}  {r.checked}"
        )


ROWS = ("api-sqlite", "api-postgres", "sms", "smtp", "outbox")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--smtp-clients", type=int, default=8)
    parser.add_argument("--outbox-complaints", type=int, default=2000)
    parser.add_argument(
        "--postgres", default=os.environ.get("LAPOR_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--only",
        action="append",
        choices=ROWS,
        help="run only these rows (repeatable)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    if args.no_postgres:
        args.postgres = None
    wanted = args.only or list(ROWS)
    if args.postgres is None and "api-postgres" in wanted:
        wanted.remove("api-postgres")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if {"api-sqlite", "api-postgres", "sms"} & set(wanted):
            bare_api = bare_http(args, work, "api")
        if "api-sqlite" in wanted:
            rows.append(http_row("API intake (sqlite)", "sqlite", "api", args, work, bare_api))
        if "api-postgres" in wanted:
            rows.append(http_row("API intake (postgresql)", "pg", "api", args, work, bare_api))
        if "sms" in wanted:
            bare_sms = bare_http(args, work, "kannel")
            rows.append(http_row("SMS webhook (sqlite)", "sqlite", "kannel", args, work, bare_sms))
        if "smtp" in wanted:
            rows.append(smtp_row(args, work))
        if "outbox" in wanted:
            rows.append(outbox_row(args, work))
    print_table(rows, args)


if __name__ == "__main__":
    main()

"""The console's complaints list at scale: the same queries on an empty store, at 10,000 and
at 1,000,000 complaints, through a real gateway process (this process only asks, over HTTP,
signed in as an AGAM operator and as the admin).

    .venv/bin/python bench/search.py [--sizes 0,10000,1000000] [--repeat 7]
                                     [--postgres URL]   # PostgreSQL instead of SQLite

The store is filled in bulk (SQLite: one transaction with the complaints' indexes dropped
and rebuilt; PostgreSQL: COPY), with a realistic mix: three regions, every channel, most
complaints closed, some waiting, 3 years of receipt dates, Indonesian texts from a small
vocabulary plus a few rare words. Each row of the table is the median of `--repeat`
requests; the ratio is against the empty store measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.ops.complaint_search import encode_cursor  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from gateway.store.db import Store  # noqa: E402
from gateway.store.migrate import upgrade  # noqa: E402
from gateway.store.models import Complaint  # noqa: E402
from gateway.store.regions import sync_regions  # noqa: E402
from tests.support import pg_admin, run_cli, running_gateway, write_config  # noqa: E402

PASSWORD = "kata-sandi-bench"
REGIONS = [("AGAM", "AGM", 0.5), ("SBY", "SBY", 0.35), ("PDG", "PDG", 0.15)]
CHANNELS = [("sms", 40), ("web", 20), ("api", 15), ("email", 10), ("twitter", 8)]
CHANNELS += [("whatsapp", 5), ("open311", 1), ("telegram", 1)]
STATUSES = [("closed", 85), ("forwarded", 8), ("queued", 3), ("pending_review", 2)]
STATUSES += [("failed", 1), ("rejected_by_operator", 1)]
CATEGORIES = [("pengaduan", 80), ("aspirasi", 12), ("permintaan_informasi", 8)]
WHAT = ["jalan rusak", "lampu jalan mati", "sampah menumpuk", "saluran air tersumbat"]
WHAT += ["banjir", "pelayanan puskesmas lambat", "pungutan liar", "air PDAM tidak mengalir"]
WHAT += ["jembatan retak", "trotoar berlubang", "pohon tumbang", "antrean KTP lama"]
WHERE = ["di depan pasar", "dekat sekolah", "di simpang empat", "di jalan utama"]
WHERE += ["di kantor kelurahan", "di perumahan", "dekat masjid", "di terminal"]
# One complaint in 20,000 carries one of these: a search that finds a handful.
RARE = ["gorong-gorong", "kerangkeng", "mercusuar"]
SPAN_DAYS = 3 * 365


def weighted(rng: random.Random, table: list[tuple[str, int]], n: int) -> list[str]:
    names, weights = zip(*table, strict=True)
    return rng.choices(names, weights, k=n)


def complaints(n: int, start: int, now: datetime, seed: int) -> Iterator[tuple]:
    """(id, tracking_ref, region, channel, external_id, category, subject, text, received,
    status, forwarded_at, lapor_tracking_id) rows; `start` numbers the tracking refs on."""
    rng = random.Random(seed)
    channels = weighted(rng, CHANNELS, n)
    statuses = weighted(rng, STATUSES, n)
    categories = weighted(rng, CATEGORIES, n)
    regions = rng.choices(REGIONS, [w for *_, w in REGIONS], k=n)
    for i in range(n):
        code, prefix, _ = regions[i]
        text = f"{rng.choice(WHAT)} {rng.choice(WHERE)} RT {rng.randint(1, 30)}"
        if rng.random() < 1 / 20_000:
            text += f" dan {rng.choice(RARE)}"
        received = now - timedelta(seconds=rng.randint(0, SPAN_DAYS * 86400))
        status = statuses[i]
        forwarded = None
        if status in ("forwarded", "closed"):
            forwarded = received + timedelta(hours=rng.expovariate(1 / 20))
        seq = start + i
        yield (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            f"{prefix}-{seq:07d}",
            code,
            channels[i],
            f"bench-{seq}",
            categories[i],
            text[:200],
            text,
            received,
            status,
            forwarded,
            f"LAP-{seq}" if forwarded else None,
        )


COLUMNS = (
    "id, tracking_ref, region_code, channel, external_id, category, subject, text, received_at,"
    " status, forwarded_at, lapor_tracking_id, attachments, anonymous, confidential,"
    " created_at, updated_at, notes"
)


def fill_sqlite(path: Path, n: int, start: int, now: datetime) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    # Indexes and the text index's triggers are dropped for the fill and rebuilt after it:
    # one sorted build instead of a million random inserts.
    derived = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
        " AND tbl_name='complaints' AND sql IS NOT NULL"
    ).fetchall()
    fts = db.execute("SELECT 1 FROM sqlite_master WHERE name='complaints_fts'").fetchone()
    db.execute("BEGIN")
    for kind, name, _ in derived:
        db.execute(f'DROP {kind.upper()} "{name}"')

    def rows() -> Iterator[tuple]:
        for r in complaints(n, start, now, seed=start):
            *head, received, status, forwarded, lapor = r
            fmt = "%Y-%m-%d %H:%M:%S.%f"
            fwd = forwarded.strftime(fmt) if forwarded else None
            got = received.strftime(fmt)
            yield (*head, got, status, fwd, lapor, "[]", 0, 0, got, got, "[]")

    marks = ", ".join("?" * 18)
    db.executemany(f"INSERT INTO complaints ({COLUMNS}) VALUES ({marks})", rows())
    for _, _, sql in derived:
        db.execute(sql)
    if fts:
        db.execute("INSERT INTO complaints_fts(complaints_fts) VALUES ('rebuild')")
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


async def fill_postgres(url: str, n: int, start: int, now: datetime) -> None:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        records = (
            (*r, "[]", False, False, r[8], r[8], "[]")
            for r in complaints(n, start, now, seed=start)
        )
        cols = [c.strip() for c in COLUMNS.split(",")]
        await conn.copy_records_to_table("complaints", records=list(records), columns=cols)
        await conn.execute("ANALYZE complaints")
    finally:
        await conn.close()


class Console:
    def __init__(self, base: str):
        self.base = base
        # The gateway listens on an IP address: a default jar would drop its cookies.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login(self, name: str) -> None:
        self.http.cookie_jar.clear()
        form = await (await self.http.get(f"{self.base}/ops/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        resp = await self.http.post(
            f"{self.base}/ops/login",
            data={"name": name, "password": PASSWORD, "csrf": token},
            allow_redirects=False,
        )
        assert resp.status == 303, resp.status

    async def timed(self, path: str, repeat: int) -> tuple[float, int]:
        """Median milliseconds of `repeat` requests (after one warm-up) and rows shown."""
        times, rows = [], 0
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            resp = await self.http.get(self.base + path)
            body = await resp.text()
            elapsed = (time.perf_counter() - t0) * 1000
            assert resp.status == 200, (path, resp.status, body[:300])
            rows = len(re.findall(r'<td data-label="No. tiket"><a href', body))
            if i:
                times.append(elapsed)
        return statistics.median(times), rows

    async def close(self) -> None:
        await self.http.close()


def queries(now: datetime, ticket: str) -> list[tuple[str, str, str]]:
    """(label, who, path)"""
    week_to = (now - timedelta(days=200)).date()
    week_from = week_to - timedelta(days=6)
    deep = encode_cursor(now - timedelta(days=SPAN_DAYS // 2), "8" * 36)
    return [
        ("first page", "agam", "/ops/complaints"),
        ("first page, admin (all regions)", "admin", "/ops/complaints"),
        ("text, common word (jalan)", "agam", "/ops/complaints?q=jalan"),
        ("text, rare word (mercusuar)", "agam", "/ops/complaints?q=mercusuar"),
        ("text, no match", "agam", "/ops/complaints?q=tidakadasamasekali"),
        ("text, rare word, admin", "admin", "/ops/complaints?q=kerangkeng"),
        ("ticket number", "agam", f"/ops/complaints?q={ticket}"),
        ("status = waiting for review", "agam", "/ops/complaints?status=pending_review"),
        ("channel = Open311 (1%)", "agam", "/ops/complaints?channel=open311"),
        ("overdue only", "agam", "/ops/complaints?overdue=1"),
        ("one week, 200 days ago", "agam", f"/ops/complaints?from={week_from}&to={week_to}"),
        ("deep keyset page (1.5 years back)", "agam", f"/ops/complaints?page={deep}"),
        (
            "text + channel + oldest first",
            "admin",
            "/ops/complaints?q=banjir&channel=sms&sort=terlama",
        ),
    ]


async def an_agam_ticket(url: str) -> str:
    store = Store(url)
    try:
        async with store.reader() as s:
            ref = await s.scalar(
                select(Complaint.tracking_ref).where(Complaint.region_code == "AGAM").limit(1)
            )
    finally:
        await store.close()
    return ref or "AGM-0000001"


async def measure(
    base: str, now: datetime, ticket: str, repeat: int
) -> dict[str, tuple[float, int]]:
    console = Console(base)
    out: dict[str, tuple[float, int]] = {}
    try:
        current = None
        for label, who, path in queries(now, ticket):
            if who != current:
                await console.login(who)
                current = who
            out[label] = await console.timed(path, repeat)
    finally:
        await console.close()
    return out


async def run(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    now = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    pg_name = None
    try:
        if args.postgres:
            pg_name = f"lapor_bench_{uuid.uuid4().hex[:10]}"
            await pg_admin(args.postgres, f'CREATE DATABASE "{pg_name}"')
            url = make_url(args.postgres).set(database=pg_name).render_as_string(False)
        else:
            url = f"sqlite+aiosqlite:///{work}/bench.db"
        await asyncio.to_thread(upgrade, url)
        config = write_config(work / "cfg", url)
        store = Store(url)
        await sync_regions(store, load_settings(config))
        await store.close()
        for name, role, region in (("admin", "admin", None), ("agam", "operator", "AGAM")):
            extra = ["--region", region] if region else []
            done = run_cli(
                config,
                "operator",
                "add",
                name,
                "--role",
                role,
                *extra,
                "--password-stdin",
                input=PASSWORD + "\n",
            )
            assert done.returncode == 0, done.stderr
        listen = re.search(r'listen = "([^"]+)"', config.read_text()).group(1)
        results: dict[int, dict[str, tuple[float, int]]] = {}
        stored = 0
        for size in sizes:
            if size > stored:
                t0 = time.perf_counter()
                if args.postgres:
                    await fill_postgres(url, size - stored, stored, now)
                else:
                    await asyncio.to_thread(
                        fill_sqlite, work / "bench.db", size - stored, stored, now
                    )
                print(f"filled {size:,} complaints in {time.perf_counter() - t0:.0f} s", flush=True)
                stored = size
            async with running_gateway(config, work / "gateway.log"):
                ticket = await an_agam_ticket(url)
                results[size] = await measure(f"http://{listen}", now, ticket, args.repeat)
            print(f"measured at {size:,}", flush=True)
        report(results, sizes, "PostgreSQL" if args.postgres else "SQLite")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pg_name:
            await pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def report(results: dict[int, dict[str, tuple[float, int]]], sizes: list[int], db: str) -> None:
    """Ratios of the largest store against each smaller one (an empty store renders no
    rows, so the 10,000 column is the fairer baseline for pages that show 50)."""
    last = sizes[-1]
    head = "".join(f"{s:>12,}" for s in sizes)
    ratios = "".join(f"{f'{last:,}/{s:,}':>14}" for s in sizes[:-1])
    print(f"\n{db}: median ms per request (rows shown) by complaints stored")
    print(f"{'query':<40}{head}{ratios}")
    for label in results[sizes[0]]:
        cells = "".join(f"{results[s][label][0]:>8.1f}({results[s][label][1]:>2})" for s in sizes)
        top = results[last][label][0]
        cells += "".join(f"{top / results[s][label][0]:>14.2f}" for s in sizes[:-1])
        print(f"{label:<40}{cells}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,10000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres", help="an admin URL of a PostgreSQL server")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

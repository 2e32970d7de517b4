"""Intake latency under a wrong-password flood on the console (issue 11, item 9).

    .venv/bin/python bench/login_flood.py [--duration S] [--connections C] [--postgres URL]

The gateway's HTTP app runs in its own process (bench/server.py, SQLite by default). A probe,
in another process, sends `POST /aduan` (a citizen's form, each a new complaint) and
`GET /healthz` one after the other, 20 times a second each, and records every latency. It runs
three times, each for --duration seconds:

  quiet        the probe alone: the baseline of this run
  page         wrk, C connections, fetching the login page as fast as it can: what any
               flood of one cheap page costs a single process (the reference for the next)
  flood        wrk, C connections (default 32), posting wrong passwords for one account from
               one address: the throttle locks it and answers 429 without hashing
  distributed  the same flood, but every request from another address and for another
               account (X-Forwarded-For through a trusted proxy): no lock applies, every
               request costs an argon2 check (bounded pool; beyond it 503 at once)

Printed: p50 / p99 of each route per phase, each as a ratio of the quiet phase and of the
page phase, and the flood's answers by status. Numbers vary by machine and by what else
runs on it; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import config_for, database, listen_of  # noqa: E402
from gateway.ops.auth import hash_password  # noqa: E402
from gateway.store.db import Store  # noqa: E402
from gateway.store.models import Operator  # noqa: E402

PY = sys.executable
PROBE_INTERVAL_S = 0.05
PASSWORD = "kata-sandi-bench-benar"
MODES = ("quiet", "page", "flood", "distributed")

FLOOD_LUA = r"""
-- wrk -s flood.lua URL -- MODE COOKIE CSRF: wrong passwords, counted by status.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  mode, cookie, csrf = args[1], args[2], args[3]
  counter, statuses = 0, {}
end
function request()
  counter = counter + 1
  if mode == "page" then
    return wrk.format("GET", "/ops/login")
  end
  local name = "admin"
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "lapor_ops_login=" .. cookie,
  }
  if mode == "distributed" then
    name = "u" .. tid .. "-" .. counter
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", tid,
      math.floor(counter / 250) % 250, counter % 250 + 1)
  end
  local body = "name=" .. name .. "&password=salah-" .. counter .. "&csrf=" .. csrf
  return wrk.format("POST", "/ops/login", headers, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do all[code] = (all[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(all) do table.insert(parts, '"' .. code .. '": ' .. n) end
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\n")
end
"""


# --- the probe (its own process) -------------------------------------------------------


async def probe(base: str, duration: float) -> dict[str, list[float]]:
    """Paced, one request at a time: latency, not throughput, is what a citizen feels."""
    out: dict[str, list[float]] = {"aduan": [], "healthz": [], "errors": []}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        deadline = time.monotonic() + duration
        n = 0
        while time.monotonic() < deadline:
            n += 1
            tick = time.monotonic()
            form = {
                "token": secrets.token_urlsafe(16),
                "region": "AGAM",
                "text": f"Jalan rusak di depan pasar, laporan uji beban {n}",
                "name": "Warga",
            }
            started = time.perf_counter()
            async with http.post(f"{base}/aduan", data=form) as resp:
                await resp.read()
                ok = resp.status == 201
            out["aduan" if ok else "errors"].append(time.perf_counter() - started)
            started = time.perf_counter()
            async with http.get(f"{base}/healthz") as resp:
                await resp.read()
                ok = resp.status == 200
            out["healthz" if ok else "errors"].append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, PROBE_INTERVAL_S - (time.monotonic() - tick)))
    return out


def start_probe(base: str, duration: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PY, __file__, "--probe", base, "--probe-s", str(duration)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


# --- the orchestration -----------------------------------------------------------------


@contextmanager
def gateway(config: Path, log: Path) -> Iterator[None]:
    """bench/server.py with the production HTTP app; its log goes to a file (a pipe nobody
    reads would fill up under a flood of failed-login lines and stall the server)."""
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [PY, "bench/server.py", "ours", str(config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "READY":
                raise RuntimeError(f"the gateway did not start: {log.read_text()[-2000:]}")
            yield
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


async def add_operator(url: str) -> None:
    store = Store(url)
    try:
        async with store.transaction() as s:
            hashed = hash_password(PASSWORD)
            s.add(Operator(name="admin", role="admin", region_code=None, password_hash=hashed))
    finally:
        await store.close()


async def login_token(base: str) -> tuple[str, str]:
    """One login form's cookie and CSRF token: valid for every wrong password after it."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/ops/login") as resp:
            page = await resp.text()
            cookie = resp.cookies["lapor_ops_login"].value
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    return cookie, csrf.group(1)


def flood(base: str, mode: str, args: argparse.Namespace, lua: Path) -> subprocess.Popen[str]:
    cookie, csrf = asyncio.run(login_token(base))
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "30s"]
    cmd += ["-s", str(lua), base, "--", mode, cookie, csrf]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run_phase(base: str, mode: str, args: argparse.Namespace, lua: Path) -> dict[str, object]:
    wrk = flood(base, mode, args, lua) if mode != "quiet" else None
    if wrk is not None:
        time.sleep(1.0)  # the flood at full strength before the probe starts
    sample = start_probe(base, args.duration - 1.0 if wrk else args.duration)
    result = json.loads(sample.communicate()[0])
    phase: dict[str, object] = {"mode": mode, "errors": len(result["errors"])}
    for route in ("aduan", "healthz"):
        values = result[route]
        phase[route] = {"n": len(values), "p50": pct(values, 50), "p99": pct(values, 99)}
    if wrk is not None:
        out, err = wrk.communicate()
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        statuses = re.search(r"STATUSES (\{.*\})", out)
        phase["flood_rate"] = float(rate.group(1)) if rate else 0.0
        if statuses is None:
            raise RuntimeError(f"wrk failed: {err[-500:]}")
        phase["flood_statuses"] = json.loads(statuses.group(1))
    return phase


def print_table(phases: list[dict[str, object]], args: argparse.Namespace, kind: str) -> None:
    quiet = phases[0]
    print(
        f"\nlogin flood bench ({kind}): probe every {PROBE_INTERVAL_S * 1000:.0f} ms, "
        f"wrk -t2 -c{args.connections} -d{args.duration}s on /ops/login"
    )
    head = (
        f"{'phase':<12} {'route':<12} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'p50 x':>7} {'p99 x':>7} {'p50/pg':>7} {'p99/pg':>7}  flood"
    )
    print(head)
    print("-" * len(head))
    for phase in phases:
        for route, label in (("aduan", "POST /aduan"), ("healthz", "GET /healthz")):
            r, q, pg = phase[route], quiet[route], phases[1][route]
            assert isinstance(r, dict) and isinstance(q, dict) and isinstance(pg, dict)
            flood_note = ""
            if route == "aduan" and "flood_rate" in phase:
                flood_note = f"{phase['flood_rate']:.0f} req/s, {phase['flood_statuses']}"
            print(
                f"{phase['mode']:<12} {label:<12} {r['n']:>5} {r['p50'] * 1000:>8.1f} "
                f"{r['p99'] * 1000:>8.1f} {r['p50'] / q['p50']:>7.2f} {r['p99'] / q['p99']:>7.2f}"
                f" {r['p50'] / pg['p50']:>7.2f} {r['p99'] / pg['p99']:>7.2f}  {flood_note}"
            )
        if phase["errors"]:
            print(f"{'':<12} probe answers other than 201/200: {phase['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--probe", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--probe-s", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(asyncio.run(probe(args.probe, args.probe_s))))
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    kind = "postgresql" if args.postgres else "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with database("pg" if args.postgres else "sqlite", work, args.postgres) as url:
            asyncio.run(add_operator(url))
            config = config_for(work / "cfg", url)
            # The probe is one citizen sending many forms; the flood comes through a proxy.
            body = config.read_text().replace(
                "rate_limit_per_minute = 100000000\n",
                "rate_limit_per_minute = 100000000\nform_rate_limit_per_minute = 100000000\n"
                'trusted_proxies = ["127.0.0.1"]\n',
                1,
            )
            config.write_text(body)
            lua = work / "flood.lua"
            lua.write_text(FLOOD_LUA)
            base = f"http://{listen_of(config)}"
            with gateway(config, work / "gateway.log"):
                phases = [run_phase(base, m, args, lua) for m in MODES]
    print_table(phases, args, kind)


if __name__ == "__main__":
    main()

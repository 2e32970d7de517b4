"""Intake with the data: `lapor-gateway serve` on an empty SQLite store and on one holding
N complaints (default 1,000,000, written by bench/prefill.py), in the same run, loaded by
wrk from another process as bench/run.py's API row; serve's RSS is sampled all along.

    .venv/bin/python bench/scale.py [--complaints N] [--duration S] [--connections C]

Prints, per store: requests/s, p50, p99, serve's largest RSS, and what the check of every
2xx found; then the full store's rate as a ratio of the empty one's (target: within 20 %).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    API_KEY_ALL,
    PY,
    check_api,
    config_for,
    database,
    free_port,
    listen_of,
    process,
    wrk,
)

GATEWAY = str(Path(sys.executable).with_name("lapor-gateway"))


@contextmanager
def serve(config: Path) -> Iterator[subprocess.Popen[str]]:
    """`lapor-gateway serve` (every service of the config), until SIGTERM at the end."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [GATEWAY, "--config", str(config), "serve"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "serving on" not in line:
                proc.kill()
                proc.wait()
                err.seek(0)
                raise RuntimeError(f"serve did not start: {line}{err.read()[-2000:]}")
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class RssSampler(threading.Thread):
    """The largest resident set of a process, read from /proc every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kib


def measure(n: int, args: argparse.Namespace, work: Path) -> tuple[str, float, str]:
    """One store: prefilled with n complaints, then loaded; the printed line, rate, check."""
    with database("sqlite", work, None) as url:
        lapor = f"127.0.0.1:{free_port()}"
        config = config_for(work / f"cfg-{uuid.uuid4().hex[:6]}", url, lapor_url=f"http://{lapor}")
        prefill_s = 0.0
        if n:
            started = time.perf_counter()
            subprocess.run(
                [PY, "bench/prefill.py", str(config), str(n), "--outbox", "done"],
                cwd=ROOT,
                check=True,
            )
            prefill_s = time.perf_counter() - started
        with process("bench/server.py", "sandbox", lapor), serve(config) as proc:
            sampler = RssSampler(proc.pid)
            sampler.start()
            result = wrk(f"http://{listen_of(config)}", "api", API_KEY_ALL, args, work)
            peak_mib = sampler.stop() / 1024
        checked = asyncio.run(check_api(url, result.ok_lines))
        size_mib = Path(url.split("///", 1)[1]).stat().st_size / 2**20
    line = (
        f"{n:>10,} {result.rate:>8.0f} {result.p50 * 1000:>7.1f} {result.p99 * 1000:>7.1f} "
        f"{peak_mib:>8.0f} {size_mib:>8.0f} {prefill_s:>8.0f}  {checked}"
    )
    return line, result.rate, checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory(dir=os.environ.get("LAPOR_BENCH_TMP")) as tmp:
        work = Path(tmp)
        empty, empty_rate, _ = measure(0, args, work)
        full, full_rate, _ = measure(args.complaints, args, work)
    head = (
        f"{'stored':>10} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8} "
        f"{'db MiB':>8} {'fill s':>8}  checked afterwards"
    )
    print(
        f"\nlapor-gateway scale: serve on SQLite, wrk -t2 -c{args.connections} -d{args.duration}s"
    )
    print(head)
    print("-" * len(head))
    print(empty)
    print(full)
    print(f"rate at {args.complaints:,} / empty: {full_rate / empty_rate:.3f}")


if __name__ == "__main__":
    main()

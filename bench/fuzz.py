"""Fuzz every parser: the SMS PDU decoder, multipart reassembly, MIME parsing, the SMS
webhook parsers and the normalizer (targets in tests/fuzz/targets.py, seeded with the real
payloads of tests/fixtures/). Coverage-guided with atheris when it is installed
(`.venv/bin/pip install -e ".[fuzz]"`), each target in its own process; otherwise a seeded
random mutation of the same seeds. A crash, a hang (an input over 10 s) or an exception
other than the parser's own rejection fails the run. Usage:
    .venv/bin/python bench/fuzz.py [--runs 100000] [--target NAME ...]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(name: str, runs: int, corpus: Path) -> None:
    """One target under atheris (never returns: atheris exits the process)."""
    import atheris

    with atheris.instrument_imports():
        from tests.fuzz.targets import TARGETS

    target = TARGETS[name]
    args = [
        sys.argv[0],
        f"-atheris_runs={runs}",
        "-timeout=10",
        "-max_len=8192",
        f"-artifact_prefix={corpus}/",  # a failing input is kept there and printed
        str(corpus),
    ]
    atheris.Setup(args, target)
    atheris.Fuzz()


def mutate(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(4)
        pos = rng.randint(0, len(data))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif op == 2:
            del data[pos : pos + rng.randint(1, 32)]
        else:
            data[pos:pos] = data[pos : pos + rng.randint(1, 64)] * rng.randint(1, 8)
    return bytes(data)


def random_run(name: str, runs: int) -> None:
    from tests.fuzz.targets import TARGETS, seeds

    rng = random.Random(17)
    target, pool = TARGETS[name], seeds(name)
    for i in range(runs):
        data = mutate(rng, rng.choice(pool)) if i % 4 else rng.randbytes(rng.randint(0, 512))
        try:
            target(data)
        except Exception:
            print(f"{name}: failing input {data!r}", file=sys.stderr)
            raise


TARGET_NAMES = ("mime", "multipart", "normalizer", "pdu", "webhook")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--target", action="append", choices=TARGET_NAMES)
    parser.add_argument("--child", choices=TARGET_NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.runs, args.corpus)
        return 0
    # Imported only here: a child must import the targets inside atheris' instrumentation.
    from tests.fuzz.targets import TARGETS, seeds

    assert set(TARGETS) == set(TARGET_NAMES)
    try:
        import atheris  # noqa: F401

        engine = "atheris (coverage-guided)"
    except ImportError:
        engine = "random mutation (atheris not installed)"
    print(f"fuzz: {args.runs} inputs per target, {engine}")
    failed = []
    for name in args.target or sorted(TARGETS):
        start = time.monotonic()
        if engine.startswith("atheris"):
            with tempfile.TemporaryDirectory() as corpus:
                for i, seed in enumerate(seeds(name)):
                    (Path(corpus) / f"seed{i}").write_bytes(seed)
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        name,
                        "--runs",
                        str(args.runs),
                        "--corpus",
                        corpus,
                    ],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
            ok = done.returncode == 0
            covered = [ln for ln in done.stderr.splitlines() if ln.startswith("#")][-1:]
            detail = covered[0].split("exec/s")[0] if covered else ""
            if not ok:
                print(done.stderr[-3000:], file=sys.stderr)
        else:
            try:
                random_run(name, args.runs)
                ok, detail = True, ""
            except Exception as e:
                ok, detail = False, f"{type(e).__name__}: {e}"
        seconds = time.monotonic() - start
        status = "ok" if ok else "FAILED"
        print(f"{name:<11} {args.runs:>8} inputs {seconds:7.1f} s  {status}  {detail}", flush=True)
        if not ok:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

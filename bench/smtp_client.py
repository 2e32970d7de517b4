"""One SMTP load process: sends mail over one connection for DURATION seconds with the
standard library's smtplib, and prints JSON: the Message-IDs answered 250, latencies (s).

    python bench/smtp_client.py HOST PORT PREFIX DURATION
"""

from __future__ import annotations

import json
import smtplib
import sys
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests/fixtures/email/gmail_reply_qp.eml"
MARK = b"<CAHk8rT0w+V3ZP1hq6c5Lq0@"
RCPT = "aduan@agamkab.go.id"


def main() -> None:
    host, port, prefix, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    # On the wire a message's lines end in CRLF (smtplib sends bytes as given, and a
    # receiver reading LF-only text sees one line too long for RFC 5321).
    template = FIXTURE.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert MARK in template
    accepted: list[str] = []
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + duration
    with smtplib.SMTP(host, port, timeout=60) as smtp:
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            key = f"{prefix}-{i}"
            body = template.replace(MARK, f"<{key}@".encode(), 1)
            started = time.perf_counter()
            try:
                smtp.sendmail("warga@mail.id", [RCPT], body)
            except smtplib.SMTPException:
                failed += 1
                continue
            latencies.append(time.perf_counter() - started)
            accepted.append(f"{key}@")
    json.dump({"accepted": accepted, "latencies": latencies, "failed": failed}, sys.stdout)


if __name__ == "__main__":
    main()

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
# What differs from one citizen's mail to the next, so that no header parse is reused
# across messages that real mail would not share (To and the Content-Types are shared).
SENDER = b"budi.santoso.agam@"
THREAD = b"<CAF3xYj8q2_mHkz7d+AgN0Wq@"
SUBJECT = b"Subject: =?UTF-8?B?SmFsYW4gcnVzYWsgZGkgTHVidWsgQmFzdW5nIPCfmqc=?="
DATE = b"Date: Mon, 3 Jun 2024 17:40:58 +0700"


def main() -> None:
    host, port, prefix, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    # On the wire a message's lines end in CRLF (smtplib sends bytes as given, and a
    # receiver reading LF-only text sees one line too long for RFC 5321).
    template = FIXTURE.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert all(mark in template for mark in (MARK, SENDER, THREAD, SUBJECT, DATE))
    accepted: list[str] = []
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + duration
    with smtplib.SMTP(host, port, timeout=60) as smtp:
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            key = f"{prefix}-{i}"
            body = (
                template.replace(MARK, f"<{key}@".encode(), 1)
                .replace(SENDER, f"warga.{key}@".encode())
                .replace(THREAD, f"<thread-{key}@".encode())
                .replace(SUBJECT, f"Subject: Jalan rusak di Lubuk Basung ({i})".encode())
                .replace(
                    DATE, f"Date: Mon, 3 Jun 2024 17:{i // 60 % 60:02d}:{i % 60:02d} +0700".encode()
                )
            )
            started = time.perf_counter()
            try:
                smtp.sendmail(f"warga.{key}@gmail.com", [RCPT], body)
            except smtplib.SMTPException:
                failed += 1
                continue
            latencies.append(time.perf_counter() - started)
            accepted.append(f"{key}@")
    json.dump({"accepted": accepted, "latencies": latencies, "failed": failed}, sys.stdout)


if __name__ == "__main__":
    main()

"""A client of every intake channel that resends whatever got no success answer.

Each item (an API complaint, an SMS webhook call, a mail) is sent until it is answered with
success: 2xx for HTTP, 250 for SMTP. Every answer is recorded with the time it was sent and
how long it took, so a test can look at what the gateway said during a fault.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiohttp
import aiosmtplib

from channels.sms.webhooks import generic_signature
from tests.support import API_KEY_ALL

SMS_SECRET = "hmac-rahasia-uji-gangguan"
WEBHOOK_CONFIG = f'[channels.sms.webhook]\nenabled = true\nsecret = "{SMS_SECRET}"\n'


def smtp_config(listen: str) -> str:
    return f'[channels.email.smtp]\nenabled = true\nlisten = "{listen}"\n'


@dataclass
class Answer:
    kind: str
    key: str
    sent_at: float
    elapsed: float
    status: int  # HTTP status or SMTP code; 0 when the connection failed
    retry_after: str | None = None


@dataclass
class Resender:
    base: str
    smtp_host: str | None = None
    smtp_port: int | None = None
    answers: list[Answer] = field(default_factory=list)
    done: dict[str, str] = field(default_factory=dict)  # key -> kind, once answered OK

    async def _api(self, http: aiohttp.ClientSession, key: str) -> tuple[int, str | None]:
        body = {"region": "AGAM", "text": f"Aduan uji gangguan {key}: jalan berlubang"}
        headers = {"Authorization": f"Bearer {API_KEY_ALL}", "Idempotency-Key": key}
        async with http.post(f"{self.base}/api/v1/complaints", json=body, headers=headers) as r:
            await r.read()
            return r.status, r.headers.get("Retry-After")

    async def _sms(self, http: aiohttp.ClientSession, key: str) -> tuple[int, str | None]:
        body = json.dumps(
            {"id": key, "from": "+6281298765432", "text": f"AGAM lampu jalan mati {key}"}
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Lapor-Signature": generic_signature(SMS_SECRET, body),
        }
        async with http.post(f"{self.base}/webhooks/sms/generic", data=body, headers=headers) as r:
            await r.read()
            return r.status, r.headers.get("Retry-After")

    async def _mail(self, key: str) -> tuple[int, str | None]:
        msg = EmailMessage()
        msg["From"] = "warga@example.com"
        msg["To"] = "aduan@agamkab.go.id"
        msg["Subject"] = f"Aduan {key}"
        msg["Message-ID"] = f"<{key}@warga.example.com>"
        msg.set_content(f"Saluran air tersumbat di Lubuk Basung ({key}).")
        assert self.smtp_host and self.smtp_port
        try:
            await aiosmtplib.send(
                msg, hostname=self.smtp_host, port=self.smtp_port, timeout=10, start_tls=False
            )
        except aiosmtplib.SMTPResponseException as e:
            return e.code, None
        except aiosmtplib.SMTPRecipientsRefused as e:
            return e.recipients[0].code, None
        return 250, None

    async def run(self, items: list[tuple[str, str]], concurrency: int = 12) -> None:
        """Send every (kind, key) until each was answered with success."""
        pending: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for item in items:
            pending.put_nowait(item)
        remaining = len(items)
        finished = asyncio.Event()

        async def worker(http: aiohttp.ClientSession) -> None:
            nonlocal remaining
            while not finished.is_set():
                try:
                    kind, key = await asyncio.wait_for(pending.get(), 0.5)
                except TimeoutError:
                    continue
                start = time.monotonic()
                try:
                    if kind == "api":
                        status, retry_after = await self._api(http, key)
                    elif kind == "sms":
                        status, retry_after = await self._sms(http, key)
                    else:
                        status, retry_after = await self._mail(key)
                except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, TimeoutError):
                    status, retry_after = 0, None
                self.answers.append(
                    Answer(kind, key, start, time.monotonic() - start, status, retry_after)
                )
                if status in (200, 201, 250):
                    self.done[key] = kind
                    remaining -= 1
                    if remaining == 0:
                        finished.set()
                else:
                    await asyncio.sleep(0.2)  # a real client waits a little before resending
                    pending.put_nowait((kind, key))

        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await asyncio.gather(*(worker(http) for _ in range(concurrency)))


def mixed_items(prefix: str, n: int, *, mail: bool = True) -> list[tuple[str, str]]:
    kinds = ("api", "sms", "mail") if mail else ("api", "sms")
    return [(kinds[i % len(kinds)], f"{prefix}-{i:04d}") for i in range(n)]

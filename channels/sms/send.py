"""Replies by SMS: through the modem (AT+CMGS) or a provider, per [channels.sms.reply].

The outbox calls `SmsSender.send` for each reply row. Every number gets at most
`replies_per_number_per_hour` replies, counted from the outbox itself (durable, shared by all
instances), so an auto-responder answering our receipt can never start a loop: over the
limit, the reply is given up (not retried) and the outbox records why.
"""

from __future__ import annotations

import json
import random

import aiohttp

from channels.sms.config import SmsConfig
from channels.sms.modem import ModemFault, ModemReader
from channels.sms.pdu import encode_submit
from gateway.outbox import replies_sent_last_hour
from gateway.runtime import Reply, Runtime, SendResult

TWILIO_API = "https://api.twilio.com"


class SmsSender:
    """A reply sender, and a service only so that its HTTP session is closed at stop."""

    name = "sms-sender"

    def __init__(self, rt: Runtime, config: SmsConfig, modem: ModemReader | None):
        self.rt = rt
        self.config = config
        self.reply = config.reply
        self.modem = modem
        self._concat_ref = random.randrange(256)
        self._http: aiohttp.ClientSession | None = None

    async def send(self, reply: Reply) -> SendResult:
        number = reply.recipient.strip()
        if not number.lstrip("+").isdigit():
            return SendResult(ok=False, error="recipient is not a phone number", retry=False)
        if await self._over_limit(number):
            return SendResult(
                ok=False,
                error=f"rate_limited: {self.config.replies_per_number_per_hour} replies "
                "per number per hour already sent",
                retry=False,
            )
        kind = self.reply.kind
        if kind == "modem":
            return await self._via_modem(number, reply.text)
        if kind == "http":
            return await self._via_http(number, reply)
        if kind == "twilio":
            return await self._via_twilio(number, reply.text)
        return SendResult(ok=False, error="[channels.sms.reply] kind is none", retry=False)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def _over_limit(self, number: str) -> bool:
        sent = await replies_sent_last_hour(self.rt.store, "sms", number)
        return sent >= self.config.replies_per_number_per_hour

    async def _via_modem(self, number: str, text: str) -> SendResult:
        if self.modem is None:
            return SendResult(ok=False, error="no modem is enabled", retry=False)
        self._concat_ref = (self._concat_ref + 1) % 256
        try:
            pdus = encode_submit(number, text, self._concat_ref)
        except ValueError as e:
            return SendResult(ok=False, error=str(e), retry=False)
        try:
            refs = await self.modem.send_pdus(pdus)
        except ModemFault as e:
            return SendResult(ok=False, error=f"{e.reason}: {e}", retry=True)
        return SendResult(ok=True, external_id="modem:" + ",".join(map(str, refs)))

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._http

    async def _via_http(self, number: str, reply: Reply) -> SendResult:
        if not self.reply.url:
            return SendResult(ok=False, error="[channels.sms.reply] url is not set", retry=False)
        headers = {"Idempotency-Key": reply.idempotency_key}
        if self.reply.token:
            headers["Authorization"] = f"Bearer {self.reply.token}"
        body = {
            "to": number,
            "from": self.config.short_code,
            "text": reply.text,
            "id": reply.idempotency_key,
        }
        return await self._post(self.reply.url, json=body, headers=headers)

    async def _via_twilio(self, number: str, text: str) -> SendResult:
        sid, token = self.reply.twilio_account_sid, self.reply.token
        if not (sid and token and self.reply.twilio_from):
            return SendResult(
                ok=False,
                error="twilio replies need twilio_account_sid, token and twilio_from",
                retry=False,
            )
        base = (self.reply.url or TWILIO_API).rstrip("/")
        return await self._post(
            f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
            data={"To": number, "From": self.reply.twilio_from, "Body": text},
            headers={"Authorization": aiohttp.encode_basic_auth(sid, token)},
        )

    async def _post(self, url: str, **kwargs: object) -> SendResult:
        try:
            async with self._session().post(url, **kwargs) as resp:  # type: ignore[arg-type]
                payload = await resp.text()
                if 200 <= resp.status < 300:
                    return SendResult(ok=True, external_id=_message_id(payload))
                # 4xx other than 429 will not get better by retrying.
                retry = resp.status >= 500 or resp.status == 429
                return SendResult(
                    ok=False, error=f"provider answered HTTP {resp.status}", retry=retry
                )
        except (aiohttp.ClientError, TimeoutError) as e:
            return SendResult(ok=False, error=f"provider unreachable: {type(e).__name__}")


def _message_id(payload: str) -> str | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if isinstance(data, dict):
        value = data.get("sid") or data.get("id") or data.get("message_id")
        return str(value) if value else None
    return None

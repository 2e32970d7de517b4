"""SMTP listener: aiosmtpd's protocol served on the gateway's own loop.

aiosmtpd's Controller would run a second event loop in a thread; we create the server with
`loop.create_server(lambda: SMTP(handler, ...))` instead, so the handler awaits intake on
the same loop as everything else.

Replies, in the order a session meets them:
- RCPT to an address no region owns: `550 5.1.1`, and a `rejected` event.
- More than `max_message_bytes`: `552` (aiosmtpd counts while reading DATA and advertises
  SIZE in EHLO, so a polite client is refused at MAIL already).
- DATA: `250` only after intake committed every copy of the message; `451 4.3.0` on any
  fault of ours (store down, a bug): the sender keeps the mail and tries again, and dedup
  absorbs whatever part was stored before the fault. Never a 5xx for our own fault.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import weakref
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.inbound import MailIntake
from gateway.config_base import parse_listen
from gateway.logsafe import log_failure
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable

log = logging.getLogger(__name__)

TEMPFAIL = "451 4.3.0 Gangguan sementara, silakan kirim ulang nanti (temporary failure)"
UNKNOWN_RCPT = "550 5.1.1 Alamat tujuan tidak dikenal (no such recipient here)"
HEALTH = "email.smtp"


class GatewayHandler:
    """aiosmtpd hooks. Every hook catches everything: an escaping exception answers 500."""

    def __init__(self, rt: Runtime, mail: MailIntake):
        self.rt = rt
        self.mail = mail
        self.in_flight: set[asyncio.Task[str]] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        try:
            code = self.mail.region_for(address)
            if code is None:
                await self._record_unknown_recipient(address)
                return UNKNOWN_RCPT
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
            return "250 2.1.5 OK"
        except Exception as e:
            log_failure(log, "smtp rcpt failed", e)
            return TEMPFAIL

    async def _record_unknown_recipient(self, address: str) -> None:
        domain = address.rpartition("@")[2].strip("<>").lower()
        try:
            await self.mail.record_rejected(
                "unknown_recipient", detail={"via": "smtp", "recipient_domain": domain}
            )
        except StoreUnavailable:
            # The 550 is about the address, which is true either way; only the log misses it.
            log.warning("smtp unknown recipient not logged: store unavailable")

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Shielded: a client hanging up mid-commit must not cancel the transaction halfway;
        # it gets no 250 and resends, and dedup takes care of the rest.
        task = asyncio.ensure_future(self._deliver(envelope))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        return await asyncio.shield(task)

    async def _deliver(self, envelope: Envelope) -> str:
        try:
            raw = envelope.original_content or b""
            outcome = await self.mail.ingest(
                raw,
                received_at=datetime.now(UTC),
                via="smtp",
                envelope_sender=envelope.mail_from or "",
                recipients=tuple(envelope.rcpt_tos),
            )
        except StoreUnavailable as e:
            self.rt.health.set(HEALTH, False, f"store unavailable: {e}")
            log.warning("smtp delivery deferred: store unavailable")
            return TEMPFAIL
        except Exception as e:
            log_failure(log, "smtp delivery failed", e)
            return TEMPFAIL
        self.rt.health.set(HEALTH, True, "")
        if outcome.rejected:
            return f"250 2.0.0 Diterima (tidak diproses: {outcome.rejected})"
        refs = [r.tracking_ref for r in outcome.results if r.tracking_ref]
        if refs:
            return "250 2.0.0 Aduan diterima: " + ", ".join(refs)
        return "250 2.0.0 Diterima"

    async def handle_exception(self, error: Exception) -> str:
        log.error("smtp session error: %s", type(error).__name__)
        return TEMPFAIL


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


class SmtpListener:
    """A Service: `start` binds the port, `stop` lets deliveries in progress finish."""

    name = "email-smtp"

    def __init__(self, rt: Runtime, mail: MailIntake | None = None):
        self.rt = rt
        self.cfg = rt.settings.channels.email.smtp
        self.handler = GatewayHandler(rt, mail or MailIntake(rt))
        self.server: asyncio.Server | None = None
        self.sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self.port: int | None = None

    def _protocol(self, tls: ssl.SSLContext | None) -> SMTP:
        kwargs: dict[str, Any] = {
            "data_size_limit": self.cfg.max_message_bytes,
            "enable_SMTPUTF8": True,
            "tls_context": tls,
            "ident": "lapor-gateway",
            "timeout": 300,
        }
        if self.cfg.hostname:
            kwargs["hostname"] = self.cfg.hostname
        proto = SMTP(self.handler, **kwargs)
        self.sessions.add(proto)
        return proto

    async def start(self) -> None:
        # aiosmtpd logs every command at INFO, the MAIL FROM and RCPT TO addresses with it.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        host, port = parse_listen(self.cfg.listen)
        tls = None
        if self.cfg.tls_cert and self.cfg.tls_key:
            settings = self.rt.settings
            tls = tls_context(
                str(settings.resolve(self.cfg.tls_cert)), str(settings.resolve(self.cfg.tls_key))
            )
        loop = asyncio.get_running_loop()
        if not self.cfg.hostname:
            # socket.getfqdn() may block on DNS; do it once, off the loop.
            fqdn = await asyncio.to_thread(socket.getfqdn)
            self.cfg = self.cfg.model_copy(update={"hostname": fqdn})
        self.server = await loop.create_server(lambda: self._protocol(tls), host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        self.rt.health.set(HEALTH, True, "")
        log.info("smtp listening", extra={"listen": f"{host}:{self.port}"})

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        if self.handler.in_flight:
            await asyncio.wait(set(self.handler.in_flight), timeout=30)
        for proto in list(self.sessions):
            if proto.transport is not None:
                proto.transport.close()
        self.sessions.clear()
        await self.server.wait_closed()
        self.server = None

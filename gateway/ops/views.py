"""Operator console pages. Every page checks the session; operators see their region only.

Personal data: an operator sees the reporter of a non-anonymous complaint of their own
region (they may need to call back); anonymous reporters and every reporter shown to an
admin (IT staff) are masked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import func, or_, select

from gateway import events, review
from gateway.http_common import client_address
from gateway.intake import stored_raw
from gateway.labels import KIND_LABELS, OUTCOME_LABELS, REASON_LABELS, STATUS_LABELS
from gateway.ops import stream, totp
from gateway.ops.auth import (
    COOKIE,
    Busy,
    LoginThrottle,
    OperatorSession,
    PasswordWork,
    Sessions,
    Signer,
    authenticate,
)
from gateway.ops.masking import mask_sender, reporter_text
from gateway.queries import list_complaints
from gateway.runtime import Runtime
from gateway.sla import working_days
from gateway.store.models import Complaint, InboundMessage, Operator, Reporter
from normalizer import Normalized, normalize

INBOX_PAGE = 50
TOTP_LOGIN_S = 300  # how long the code step of a login stays open after the password
FLASH_COOKIE = "lapor_ops_flash"
LOGIN_COOKIE = "lapor_ops_login"
# The menu's counts for the page being rendered (each request runs in its own task).
NAV_COUNTS: ContextVar[dict[str, int] | None] = ContextVar("nav_counts", default=None)

log = logging.getLogger(__name__)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


Page = Callable[[web.Request, OperatorSession], Awaitable[web.StreamResponse]]


class Console:
    def __init__(self, rt: Runtime, signer: Signer):
        self.rt = rt
        self.signer = signer
        self.zone = ZoneInfo(rt.settings.gateway.timezone)
        self.sessions = Sessions(rt.store, rt.settings.file.ops.session_hours * 3600)
        self.passwords = PasswordWork()
        self.throttle = LoginThrottle(rt.store)
        self.totp_key = totp.TotpKey(signer.secret)
        # Set on shutdown: open live-log streams end at once instead of holding the stop.
        self.stopping = asyncio.Event()
        self.calendar = working_days(rt.settings)

    # -- plumbing ---------------------------------------------------------------------

    def page(
        self, handler: Page, *, counts: bool = True
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """`counts`: a page with the menu, whose counts are read before it renders."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            cookie = request.cookies.get(COOKIE, "")
            op = await self.sessions.load(cookie)
            if op is None:
                raise web.HTTPSeeOther("/ops/login")
            if request.method == "POST":
                form = await request.post()
                if not self.signer.check_csrf(cookie, form.get("csrf")):
                    raise web.HTTPForbidden(text="Sesi tidak sah. Muat ulang halaman.")
            elif counts:
                NAV_COUNTS.set(await self.nav_counts(op))
            return await handler(request, op)

        return wrapped

    async def nav_counts(self, op: OperatorSession) -> dict[str, int]:
        """What waits for this operator: complaints to review, inbox messages unhandled."""
        review_query = select(func.count()).where(Complaint.status == "pending_review")
        if op.scope:
            review_query = review_query.where(Complaint.region_code == op.scope)
        inbox_query = select(func.count()).select_from(self._inbox_query(op, False).subquery())
        async with self.rt.store.reader() as session:
            return {
                "review": await session.scalar(review_query) or 0,
                "inbox": await session.scalar(inbox_query) or 0,
            }

    async def counts(self, request: web.Request, op: OperatorSession) -> web.Response:
        """`/ops/counts`: the menu's counts, polled by static/nav_counts.js."""
        return web.json_response(await self.nav_counts(op))

    def render(
        self, name: str, request: web.Request, op: OperatorSession | None, **ctx: Any
    ) -> web.Response:
        cookie = request.cookies.get(COOKIE, "")
        # Flash messages come from a cookie this server signed, never from the URL.
        flash = self.signer.load(request.cookies.get(FLASH_COOKIE))
        if flash and flash.get("s") != (op.session_id[:16] if op else ""):
            flash = None
        ctx.setdefault("csrf", self.signer.csrf_token(cookie) if cookie else "")
        ctx.update(
            op=op,
            training=self.rt.settings.lapor.mode == "sandbox",
            flash=flash and flash.get("m"),
            flash_kind="galat" if flash and flash.get("k") == "galat" else "ok",
            zone_name=self.rt.settings.gateway.timezone,
            nav_counts=NAV_COUNTS.get(),
            counts_refresh_s=self.rt.settings.file.ops.counts_refresh_s,
        )
        resp = aiohttp_jinja2.render_template(name, request, ctx)
        if FLASH_COOKIE in request.cookies:
            resp.del_cookie(FLASH_COOKIE, path="/ops")
        return resp

    def redirect(
        self, location: str, op: OperatorSession | None, message: str, *, error: bool = False
    ) -> NoReturn:
        """303 to `location`, which then shows `message` once."""
        resp = web.HTTPSeeOther(location)
        value = {
            "m": message,
            "k": "galat" if error else "ok",
            "s": op.session_id[:16] if op else "",
        }
        resp.set_cookie(
            FLASH_COOKIE, self.signer.dump(value), httponly=True, samesite="Strict", path="/ops"
        )
        raise resp

    def regions_for(self, op: OperatorSession) -> list[Any]:
        regions = sorted(self.rt.settings.regions.values(), key=lambda r: r.name)
        return regions if op.is_admin else [r for r in regions if r.code == op.region]

    def reporter_text(self, op: OperatorSession, c: Complaint, r: Reporter | None) -> str:
        return reporter_text(r, anonymous=c.anonymous, full=not op.is_admin)

    def local_time(self, ts: datetime, fmt: str = "%d-%m-%Y %H:%M") -> str:
        return ts.astimezone(self.zone).strftime(fmt)

    def complaint_view(self, op: OperatorSession, c: Complaint, r: Reporter | None) -> dict:
        return {
            "id": c.id,
            "tracking_ref": c.tracking_ref,
            "region": c.region_code,
            "channel": c.channel,
            "status": c.status,
            "status_label": STATUS_LABELS.get(c.status, c.status),
            "received": self.local_time(c.received_at),
            "subject": c.subject,
            "text": c.text,
            "anonymous": c.anonymous,
            "confidential": c.confidential,
            "possible_duplicate_of": c.possible_duplicate_of,
            "lapor_tracking_id": c.lapor_tracking_id,
            "reporter": self.reporter_text(op, c, r),
            "overdue": self.calendar.is_overdue(c),
        }

    # -- sign in ----------------------------------------------------------------------

    def _login_page(
        self, request: web.Request, status: int = 200, error: str | None = None, **ctx: Any
    ) -> web.Response:
        """The form carries a CSRF token bound to a random cookie set with it."""
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
        resp = self.render(
            "ops_login.html",
            request,
            None,
            error=error,
            csrf=self.signer.csrf_token("login:" + nonce),
            **ctx,
        )
        resp.set_status(status)
        resp.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", path="/ops")
        return resp

    async def login_form(self, request: web.Request) -> web.Response:
        if await self.sessions.load(request.cookies.get(COOKIE)):
            raise web.HTTPSeeOther("/ops/")
        return self._login_page(request)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not self.signer.check_csrf("login:" + nonce, form.get("csrf")):
            return self._login_page(
                request, 403, "Formulir masuk kedaluwarsa. Silakan isi dan kirim lagi."
            )
        name = str(form.get("name", "")).strip()[:64]
        password = str(form.get("password", ""))
        address = client_address(request, self.rt.settings.http.trusted_proxies)
        wait = await self.throttle.wait_s(name, address)
        if wait <= 0 and not self.throttle.begin(name, address):
            wait = 1.0  # a check for this account or address is under way: one at a time
        if wait > 0:
            return self._throttled(request, name, address, wait)
        try:
            account = await authenticate(self.rt.store, self.passwords, name, password)
            if account is None:
                await self.throttle.failed(name, address)
        except Busy:
            return self._login_page(request, 503, "Server sedang sibuk. Coba lagi sebentar lagi.")
        finally:
            self.throttle.end(name, address)
        if account is None:
            # The name and address only: never the password that was tried.
            log.warning("ops login failed", extra={"account": name, "address": address})
            return self._login_page(request, 401, "Nama pengguna atau kata sandi salah.")
        if account.totp_enabled_at is not None:
            # The password was right; the session starts only after the code. The step is
            # bound to this browser (its login cookie) and to this password (a reset meanwhile
            # voids it).
            pending = {
                "o": account.id,
                "u": name,
                "n": nonce,
                "p": _fingerprint(account.password_hash),
                "e": time.time() + TOTP_LOGIN_S,
            }
            return self._login_page(
                request, step="totp", pending=self.signer.dump(pending, b"totp-login")
            )
        await self.throttle.succeeded(name)
        return await self._signed_in(account, address)

    async def login_totp(self, request: web.Request) -> web.Response:
        """The second step for an account with a second factor: the 6-digit code."""
        form = await request.post()
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        pending_value = str(form.get("pending", ""))
        pending = self.signer.load(pending_value, b"totp-login")
        if (
            not nonce
            or not self.signer.check_csrf("login:" + nonce, form.get("csrf"))
            or pending is None
            or pending.get("n") != nonce
            or float(pending.get("e", 0)) < time.time()
        ):
            return self._login_page(
                request, 403, "Waktu memasukkan kode habis. Masuk lagi dengan kata sandi."
            )
        name = str(pending.get("u", ""))
        address = client_address(request, self.rt.settings.http.trusted_proxies)
        wait = await self.throttle.wait_s(name, address)
        if wait > 0:
            return self._throttled(request, name, address, wait, step="totp", pending=pending_value)
        account = await self._use_totp_code(pending, str(form.get("code", "")))
        if account is None:
            await self.throttle.failed(name, address)
            log.warning("ops login failed: wrong code", extra={"account": name, "address": address})
            return self._login_page(
                request,
                401,
                "Kode salah, kedaluwarsa, atau sudah dipakai. Masukkan kode yang sedang "
                "tampil di aplikasi autentikator Anda.",
                step="totp",
                pending=pending_value,
            )
        await self.throttle.succeeded(name)
        return await self._signed_in(account, address)

    async def _use_totp_code(self, pending: dict[str, Any], code: str) -> Operator | None:
        async with self.rt.store.transaction() as session:
            account = await session.get(Operator, int(pending.get("o", 0)))
            if (
                account is None
                or account.disabled_at
                or not account.totp_secret
                or _fingerprint(account.password_hash) != pending.get("p")
            ):
                return None
            secret = self.totp_key.open(account.totp_secret)
            step = totp.matching_step(secret, code) if secret else None
            if step is None or not await totp.use_step(session, account.id, step):
                return None
            return account

    def _throttled(
        self, request: web.Request, name: str, address: str, wait: float, **ctx: Any
    ) -> web.Response:
        if self.throttle.first_refusal(name, address):
            log.warning(
                "ops login refused: throttled",
                extra={"account": name, "address": address, "wait_s": math.ceil(wait)},
            )
        resp = self._login_page(
            request,
            429,
            f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {math.ceil(wait)} detik.",
            **ctx,
        )
        resp.headers["Retry-After"] = str(math.ceil(wait))
        return resp

    async def _signed_in(self, account: Operator, address: str) -> NoReturn:
        log.info("ops login", extra={"account": account.name, "address": address})
        token = await self.sessions.start(account.id)
        resp = web.HTTPSeeOther("/ops/")
        resp.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            max_age=int(self.sessions.max_age_s),
            path="/ops",
            secure=self.rt.settings.http.public_url.startswith("https://"),
        )
        resp.del_cookie(LOGIN_COOKIE, path="/ops")
        raise resp

    async def logout(self, request: web.Request, op: OperatorSession) -> web.Response:
        await self.sessions.end(op.session_id)
        resp = web.HTTPSeeOther("/ops/login")
        resp.del_cookie(COOKIE, path="/ops")
        resp.set_cookie(
            FLASH_COOKIE,
            self.signer.dump({"m": "Anda sudah keluar.", "k": "ok", "s": ""}),
            httponly=True,
            samesite="Strict",
            path="/ops",
        )
        raise resp

    # -- pages ------------------------------------------------------------------------

    async def log_page(self, request: web.Request, op: OperatorSession) -> web.Response:
        async with self.rt.store.reader() as session:
            recent = await events.recent(session, 100, region=op.scope)
        rows = [stream.row(e, self.zone) for e in recent]
        labels = {"kind": KIND_LABELS, "outcome": OUTCOME_LABELS}
        return self.render(
            "ops_log.html",
            request,
            op,
            nav="log",
            events=rows,
            last_id=recent[0].id if recent else 0,
            labels_json=json.dumps(labels, ensure_ascii=False),
        )

    async def event_stream(self, request: web.Request, op: OperatorSession) -> web.StreamResponse:
        # A reconnecting EventSource names the last row it saw; nothing is sent twice.
        raw = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
        after = int(raw) if raw.isdigit() else 0
        return await stream.stream(
            request,
            self.rt.store,
            op,
            self.zone,
            after,
            alive=lambda: self.sessions.by_id(op.session_id),
            stopping=self.stopping,
        )

    # -- inbox: unrouted and rejected messages ----------------------------------------

    def _inbox_query(self, op: OperatorSession, handled: bool) -> Any:
        query = select(InboundMessage).where(InboundMessage.outcome.in_(("unrouted", "rejected")))
        if handled:
            query = query.where(
                or_(
                    InboundMessage.handled_at.is_not(None), InboundMessage.complaint_id.is_not(None)
                )
            )
        else:
            query = query.where(
                InboundMessage.handled_at.is_(None), InboundMessage.complaint_id.is_(None)
            )
        if not op.is_admin:
            query = query.where(InboundMessage.region_code == op.region)
        return query

    def _can_become_complaint(self, m: InboundMessage) -> str | None:
        """None when "Jadikan aduan" can succeed; else why not, for the operator."""
        regions = self.rt.settings.region_rules()
        if not regions:
            return "Belum ada wilayah."
        raw = stored_raw(m, m.region_code or regions[0].code)
        verdict = normalize(
            raw,
            regions,
            short_code=self.rt.settings.channels.sms.short_code,
            limits=self.rt.settings.limits,
        )
        if isinstance(verdict, Normalized):
            return None
        return REASON_LABELS.get(verdict.reason.value, "Isi pesan tidak dapat dipakai.")

    async def inbox(self, request: web.Request, op: OperatorSession) -> web.Response:
        handled = request.query.get("tampil") == "selesai"
        before = request.query.get("sebelum", "")
        query = self._inbox_query(op, handled)
        if before.isdigit():
            query = query.where(InboundMessage.id < int(before))
        query = query.order_by(InboundMessage.id.desc()).limit(INBOX_PAGE + 1)
        async with self.rt.store.reader() as session:
            rows = list((await session.scalars(query)).all())
            waiting = await session.scalar(
                select(func.count()).select_from(self._inbox_query(op, False).subquery())
            )
            refs = dict(
                (
                    await session.execute(
                        select(Complaint.id, Complaint.tracking_ref).where(
                            Complaint.id.in_([m.complaint_id for m in rows if m.complaint_id])
                        )
                    )
                ).all()
            )
        more = len(rows) > INBOX_PAGE
        rows = rows[:INBOX_PAGE]
        regions = self.regions_for(op)
        messages = [
            {
                "id": m.id,
                "time": self.local_time(m.ingested_at),
                "channel": m.channel,
                "sender": mask_sender(m.sender),
                "text": m.text[:300],
                "outcome": m.outcome,
                "outcome_label": OUTCOME_LABELS.get(m.outcome, m.outcome),
                "reason": REASON_LABELS.get(m.reason or "", m.reason or ""),
                "region": m.region_code,
                "blocked": None if handled else self._can_become_complaint(m),
                "complaint_ref": refs.get(m.complaint_id or ""),
                "handled_by": m.handled_by,
                "handled_at": self.local_time(m.handled_at) if m.handled_at else "",
                "dismiss_reason": m.dismiss_reason,
            }
            for m in rows
        ]
        return self.render(
            "ops_inbox.html",
            request,
            op,
            nav="inbox",
            messages=messages,
            regions=regions,
            handled=handled,
            waiting=waiting,
            newer=bool(before),
            older=rows[-1].id if more and rows else None,
        )

    async def _inbox_message(self, op: OperatorSession, inbound_id: int) -> InboundMessage:
        async with self.rt.store.reader() as session:
            message = await session.get(InboundMessage, inbound_id)
        if message is None or not op.may_see(message.region_code):
            raise web.HTTPNotFound(text="Pesan tidak ditemukan.")
        return message

    async def inbox_assign(self, request: web.Request, op: OperatorSession) -> web.Response:
        inbound_id = int(request.match_info["id"])
        await self._inbox_message(op, inbound_id)
        region = str((await request.post()).get("region", ""))
        return await self._decide(
            "/ops/inbox",
            op,
            lambda: review.assign(
                self.rt.store, self.rt.settings, str(inbound_id), region, by=op.name
            ),
            "Pesan dijadikan aduan {ref} untuk wilayah {region}.",
        )

    async def inbox_dismiss(self, request: web.Request, op: OperatorSession) -> web.Response:
        inbound_id = int(request.match_info["id"])
        await self._inbox_message(op, inbound_id)
        reason = str((await request.post()).get("reason", ""))
        try:
            await review.dismiss(self.rt.store, inbound_id, reason, by=op.name)
        except review.ReviewError as e:
            self.redirect("/ops/inbox", op, str(e), error=True)
        self.redirect("/ops/inbox", op, f"Pesan #{inbound_id} dibuang sebagai spam.")

    # -- complaints and the review queue ----------------------------------------------

    async def review_page(self, request: web.Request, op: OperatorSession) -> web.Response:
        async with self.rt.store.reader() as session:
            rows = await list_complaints(session, status="pending_review", region=op.scope)
        return self.render(
            "ops_review.html",
            request,
            op,
            nav="review",
            complaints=[self.complaint_view(op, c, r) for c, r in rows],
            regions=sorted(self.rt.settings.regions.values(), key=lambda r: r.name),
        )

    # -- decisions (the same functions as `lapor-gateway complaints approve|reject|assign`) --

    async def _scoped_complaint(self, op: OperatorSession, complaint_id: str) -> Complaint:
        async with self.rt.store.reader() as session:
            complaint = await session.get(Complaint, complaint_id)
        if complaint is None or not op.may_see(complaint.region_code):
            raise web.HTTPNotFound(text="Aduan tidak ditemukan.")
        return complaint

    async def _decide(
        self,
        back: str,
        op: OperatorSession,
        action: Callable[[], Awaitable[review.Decision]],
        done: str | Callable[[review.Decision], str],
    ) -> NoReturn:
        try:
            decision = await action()
        except review.ReviewError as e:
            self.redirect(back, op, str(e), error=True)
        if callable(done):
            message = done(decision)
        else:
            message = done.format(ref=decision.tracking_ref, region=decision.region_code)
        self.redirect(back, op, message)

    async def approve(self, request: web.Request, op: OperatorSession) -> web.Response:
        c = await self._scoped_complaint(op, request.match_info["id"])
        return await self._decide(
            "/ops/review",
            op,
            lambda: review.approve(self.rt.store, self.rt.settings, c.id, by=op.name),
            "Aduan {ref} disetujui dan diantrekan ke LAPOR!.",
        )

    async def reject(self, request: web.Request, op: OperatorSession) -> web.Response:
        c = await self._scoped_complaint(op, request.match_info["id"])
        reason = str((await request.post()).get("reason", ""))

        def done(d: review.Decision) -> str:
            told = "pelapor diberi tahu" if d.reply_queued else "pelapor tidak dapat dibalas"
            return f"Aduan {d.tracking_ref} ditolak; {told}."

        return await self._decide(
            "/ops/review",
            op,
            lambda: review.reject(self.rt.store, self.rt.settings, c.id, reason, by=op.name),
            done,
        )

    async def assign(self, request: web.Request, op: OperatorSession) -> web.Response:
        c = await self._scoped_complaint(op, request.match_info["id"])
        region = str((await request.post()).get("region", ""))
        return await self._decide(
            "/ops/review",
            op,
            lambda: review.assign(self.rt.store, self.rt.settings, c.id, region, by=op.name),
            "Aduan {ref} dialihkan ke wilayah {region}.",
        )

"""Operator console pages. Every page checks the session; operators see their region only.

Personal data: an operator sees the reporter of a non-anonymous complaint of their own
region (they may need to call back); anonymous reporters and every reporter shown to an
admin (IT staff) are masked.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from gateway import events, review
from gateway.ops import stream
from gateway.ops.auth import COOKIE, OperatorSession, SessionSigner, authenticate
from gateway.ops.masking import mask_email, mask_name, mask_phone, mask_sender
from gateway.queries import list_complaints
from gateway.runtime import Runtime
from gateway.sla import working_days
from gateway.store.models import Complaint, InboundMessage, Reporter

STATUS_LABELS = {
    "pending_review": "Perlu ditinjau",
    "queued": "Antre ke LAPOR!",
    "forwarded": "Diteruskan",
    "failed": "Gagal diteruskan",
    "rejected_by_operator": "Ditolak petugas",
    "closed": "Selesai",
}
INBOX_LIMIT = 200

Page = Callable[[web.Request, OperatorSession], Awaitable[web.StreamResponse]]


class Console:
    def __init__(self, rt: Runtime, signer: SessionSigner):
        self.rt = rt
        self.signer = signer
        self.zone = ZoneInfo(rt.settings.gateway.timezone)
        self.calendar = working_days(rt.settings)

    # -- plumbing ---------------------------------------------------------------------

    def page(self, handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            cookie = request.cookies.get(COOKIE)
            op = self.signer.load(cookie)
            if op is None:
                raise web.HTTPSeeOther("/ops/login")
            if request.method == "POST":
                form = await request.post()
                if form.get("csrf") != self.signer.csrf_token(cookie or ""):
                    raise web.HTTPForbidden(text="Sesi tidak sah. Muat ulang halaman.")
            return await handler(request, op)

        return wrapped

    def render(
        self, name: str, request: web.Request, op: OperatorSession | None, **ctx: Any
    ) -> web.Response:
        cookie = request.cookies.get(COOKIE, "")
        flash = request.query.get("pesan")
        ctx.update(
            op=op,
            csrf=self.signer.csrf_token(cookie) if cookie else "",
            training=self.rt.settings.lapor.mode == "sandbox",
            flash=flash,
            flash_kind="galat" if request.query.get("galat") else "ok",
        )
        return aiohttp_jinja2.render_template(name, request, ctx)

    def regions_for(self, op: OperatorSession) -> list[Any]:
        regions = sorted(self.rt.settings.regions.values(), key=lambda r: r.name)
        return regions if op.is_admin else [r for r in regions if r.code == op.region]

    def reporter_text(self, op: OperatorSession, c: Complaint, r: Reporter | None) -> str:
        if r is None:
            return "-"
        if c.anonymous:
            return "Dirahasiakan (anonim)"
        show = not op.is_admin
        parts = [
            r.name if show else mask_name(r.name),
            r.phone if show else mask_phone(r.phone),
            r.email if show else mask_email(r.email),
            f"@{r.twitter_handle.lstrip('@')}" if r.twitter_handle else None,
        ]
        return ", ".join(p for p in parts if p) or "-"

    def complaint_view(self, op: OperatorSession, c: Complaint, r: Reporter | None) -> dict:
        return {
            "id": c.id,
            "tracking_ref": c.tracking_ref,
            "region": c.region_code,
            "channel": c.channel,
            "status": c.status,
            "status_label": STATUS_LABELS.get(c.status, c.status),
            "received": c.received_at.astimezone(self.zone).strftime("%d-%m-%Y %H:%M"),
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

    async def login_form(self, request: web.Request) -> web.Response:
        return self.render("ops_login.html", request, None)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        op = await authenticate(
            self.rt.store, str(form.get("name", "")), str(form.get("password", ""))
        )
        if op is None:
            resp = self.render(
                "ops_login.html", request, None, error="Nama pengguna atau kata sandi salah."
            )
            resp.set_status(401)
            return resp
        resp = web.HTTPSeeOther("/ops/")
        resp.set_cookie(
            COOKIE,
            self.signer.dump(op),
            httponly=True,
            samesite="Strict",
            max_age=int(self.signer.max_age_s),
            path="/ops",
            secure=self.rt.settings.http.public_url.startswith("https://"),
        )
        raise resp

    async def logout(self, request: web.Request, op: OperatorSession) -> web.Response:
        resp = web.HTTPSeeOther("/ops/login")
        resp.del_cookie(COOKIE, path="/ops")
        raise resp

    # -- pages ------------------------------------------------------------------------

    async def log_page(self, request: web.Request, op: OperatorSession) -> web.Response:
        async with self.rt.store.reader() as session:
            recent = await events.recent(session, 100, region=op.scope)
        rows = [stream.row(e, self.zone) for e in recent]
        labels = {"kind": stream.KIND_LABELS, "outcome": stream.OUTCOME_LABELS}
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
        after = int(request.query.get("after", "0") or 0)
        return await stream.stream(request, self.rt.store, op, self.zone, after)

    async def inbox(self, request: web.Request, op: OperatorSession) -> web.Response:
        query = (
            select(InboundMessage)
            .where(InboundMessage.outcome.in_(("unrouted", "rejected")))
            .order_by(InboundMessage.id.desc())
            .limit(INBOX_LIMIT)
        )
        if not op.is_admin:
            query = query.where(InboundMessage.region_code == op.region)
        async with self.rt.store.reader() as session:
            rows = (await session.scalars(query)).all()
        messages = [
            {
                "id": m.id,
                "time": m.ingested_at.astimezone(self.zone).strftime("%d-%m %H:%M"),
                "channel": m.channel,
                "sender": mask_sender(m.sender),
                "text": m.text[:300],
                "outcome": m.outcome,
                "outcome_label": stream.OUTCOME_LABELS.get(m.outcome, m.outcome),
                "reason": m.reason,
                "region": m.region_code,
            }
            for m in rows
        ]
        return self.render(
            "ops_inbox.html",
            request,
            op,
            nav="inbox",
            messages=messages,
            regions=self.regions_for(op),
            can_act=True,
        )

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
        self, back: str, action: Callable[[], Awaitable[review.Decision]], done: str
    ) -> web.Response:
        try:
            decision = await action()
        except review.ReviewError as e:
            raise web.HTTPSeeOther(f"{back}?{urlencode({'pesan': str(e), 'galat': 1})}") from e
        message = done.format(ref=decision.tracking_ref, region=decision.region_code)
        raise web.HTTPSeeOther(f"{back}?{urlencode({'pesan': message})}")

    async def approve(self, request: web.Request, op: OperatorSession) -> web.Response:
        c = await self._scoped_complaint(op, request.match_info["id"])
        return await self._decide(
            "/ops/review",
            lambda: review.approve(self.rt.store, self.rt.settings, c.id, by=op.name),
            "Aduan {ref} disetujui dan diantrekan ke LAPOR!.",
        )

    async def reject(self, request: web.Request, op: OperatorSession) -> web.Response:
        c = await self._scoped_complaint(op, request.match_info["id"])
        reason = str((await request.post()).get("reason", ""))
        return await self._decide(
            "/ops/review",
            lambda: review.reject(self.rt.store, self.rt.settings, c.id, reason, by=op.name),
            "Aduan {ref} ditolak; pelapor diberi tahu.",
        )

    async def assign(self, request: web.Request, op: OperatorSession) -> web.Response:
        c = await self._scoped_complaint(op, request.match_info["id"])
        region = str((await request.post()).get("region", ""))
        return await self._decide(
            "/ops/review",
            lambda: review.assign(self.rt.store, self.rt.settings, c.id, region, by=op.name),
            "Aduan {ref} dialihkan ke wilayah {region}.",
        )

    async def inbox_assign(self, request: web.Request, op: OperatorSession) -> web.Response:
        inbound_id = int(request.match_info["id"])
        async with self.rt.store.reader() as session:
            message = await session.get(InboundMessage, inbound_id)
        if message is None or not op.may_see(message.region_code):
            raise web.HTTPNotFound(text="Pesan tidak ditemukan.")
        region = str((await request.post()).get("region", ""))
        return await self._decide(
            "/ops/inbox",
            lambda: review.assign(
                self.rt.store, self.rt.settings, str(inbound_id), region, by=op.name
            ),
            "Pesan dijadikan aduan {ref} untuk wilayah {region}.",
        )

"""The citizen web form (GET /, POST /aduan) and the public status page (GET /status).

The hidden one-time token in the form is the idempotency key: a double click or a resent
form is a duplicate, never a second complaint.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy import select

from gateway.intake import Outcome
from gateway.runtime import Runtime
from gateway.store.models import Complaint
from normalizer.types import Channel, RawMessage, Reporter

TEMPLATES = Path(__file__).parent / "templates"

STATUS_LABELS = {
    "pending_review": "Sedang diverifikasi petugas",
    "queued": "Menunggu diteruskan ke LAPOR!",
    "forwarded": "Sudah diteruskan ke LAPOR!",
    "failed": "Tertunda, sedang ditangani petugas",
    "rejected_by_operator": "Tidak dapat diproses",
    "closed": "Selesai",
}
REJECT_MESSAGES = {
    "empty_text": "Isi aduan masih kosong.",
    "too_short": "Isi aduan terlalu pendek. Mohon jelaskan lebih lengkap.",
    "too_long": "Isi aduan terlalu panjang. Mohon diringkas.",
    "unknown_region": "Wilayah yang dipilih tidak dikenal.",
}


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape()
    )


class CitizenForm:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.zone = ZoneInfo(rt.settings.gateway.timezone)

    def _context(self, form: dict[str, Any], error: str | None = None) -> dict[str, Any]:
        return {
            "regions": sorted(self.rt.settings.regions.values(), key=lambda r: r.name),
            "token": secrets.token_urlsafe(16),
            "form": form,
            "error": error,
            "max_chars": self.rt.settings.limits.max_text_chars,
        }

    async def show(self, request: web.Request) -> web.Response:
        return aiohttp_jinja2.render_template("form.html", request, self._context({}))

    async def submit(self, request: web.Request) -> web.Response:
        post = await request.post()
        form = {k: str(v) for k, v in post.items() if isinstance(v, str)}
        form["anonymous"] = "anonymous" in post
        form["confidential"] = "confidential" in post
        token = form.get("token", "")
        if not token:
            # Without the form's token a resend could not be recognised; show a fresh form.
            return aiohttp_jinja2.render_template(
                "form.html",
                request,
                self._context(form, "Formulir kedaluwarsa, kirim ulang."),
                status=400,
            )
        raw = RawMessage(
            channel=Channel.WEB,
            external_id=f"form:{token}",
            sender=form.get("phone") or form.get("email") or "web",
            recipient=form.get("region", ""),
            text=form.get("text", ""),
            received_at=datetime.now(UTC),
            region_hint=(form.get("region") or "").upper() or None,
            anonymous=bool(form["anonymous"]),
            confidential=bool(form["confidential"]),
            reporter=Reporter(
                name=form.get("name") or None,
                phone=form.get("phone") or None,
                email=form.get("email") or None,
            ),
        )
        result = await self.rt.intake.submit(raw)
        duplicate = result.outcome is Outcome.DUPLICATE
        if result.tracking_ref:  # a resent form shows the same ticket again
            return aiohttp_jinja2.render_template(
                "result.html",
                request,
                {"ref": result.tracking_ref},
                status=200 if duplicate else 201,
            )
        if duplicate:
            message = "Formulir ini sudah pernah dikirim."
        else:
            message = REJECT_MESSAGES.get(result.reason or "", "Aduan belum dapat diterima.")
        return aiohttp_jinja2.render_template(
            "form.html", request, self._context(form, message), status=422
        )

    async def status(self, request: web.Request) -> web.Response:
        ref = request.query.get("ref", "").strip().upper()
        complaint = None
        if ref:
            async with self.rt.store.reader() as session:
                complaint = await session.scalar(
                    select(Complaint).where(Complaint.tracking_ref == ref)
                )
        ctx: dict[str, Any] = {"ref": ref, "complaint": complaint}
        if complaint is not None:
            region = self.rt.settings.regions.get(complaint.region_code)
            ctx["region_name"] = region.name if region else complaint.region_code
            ctx["status_label"] = STATUS_LABELS.get(complaint.status, complaint.status)
            ctx["received"] = complaint.received_at.astimezone(self.zone).strftime("%d-%m-%Y %H:%M")
        return aiohttp_jinja2.render_template(
            "status.html", request, ctx, status=200 if complaint else 404
        )

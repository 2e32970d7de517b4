"""The citizen web form (GET /, POST /aduan) and the public status page (GET /status).

The form's idempotency key is its hidden one-time token plus a fingerprint of what was
filled in: a double click or a resent form is a duplicate (the same ticket again), while a
form edited after Back and sent again is a new complaint, never silently absorbed.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy import select

from channels.web import messages
from channels.web.api import no_store
from channels.web.idempotency import fingerprint, first_request
from channels.web.schemas import EMAIL_CHARS, NAME_CHARS, PHONE_CHARS
from gateway.http_common import NOT_FOUND_PAGE, client_address
from gateway.intake import Outcome
from gateway.labels import CITIZEN_STATUS_LABELS
from gateway.ratelimit import RateLimiter
from gateway.runtime import Runtime
from gateway.store.models import Complaint
from normalizer.phone import to_e164
from normalizer.text import clean_text
from normalizer.types import Channel, RawMessage, Reporter

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
FIELD_CHARS = {"name": NAME_CHARS, "phone": PHONE_CHARS, "email": EMAIL_CHARS}
FIELD_LABELS = {"name": "Nama", "phone": "Nomor HP", "email": "E-mail"}


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape()
    )
    env.filters["angka"] = messages.number
    app[NOT_FOUND_PAGE] = not_found_page


async def not_found_page(request: web.Request) -> web.Response:
    """A citizen's mistyped or outdated link: say so in Indonesian, point to the form."""
    return aiohttp_jinja2.render_template(
        "not_found.html", request, {"path": request.path[:200]}, status=404
    )


class CitizenForm:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.zone = ZoneInfo(rt.settings.gateway.timezone)
        self.limiter = RateLimiter(rt.settings.http.form_rate_limit_per_minute)
        self.trusted_proxies = rt.settings.http.trusted_proxies

    def _render(
        self,
        request: web.Request,
        form: dict[str, Any],
        error: str | None = None,
        *,
        field: str | None = None,
        status: int = 200,
    ) -> web.Response:
        """The form, filled with what the citizen wrote, and a fresh token."""
        ctx = {
            "regions": sorted(self.rt.settings.regions.values(), key=lambda r: r.name),
            "token": secrets.token_urlsafe(16),
            "form": form,
            "error": error,
            "error_field": field,
            "max_chars": self.rt.settings.limits.max_text_chars,
            "text_chars": len(form.get("text", "")),
        }
        return aiohttp_jinja2.render_template("form.html", request, ctx, status=status)

    async def show(self, request: web.Request) -> web.Response:
        return self._render(request, {})

    async def to_form(self, request: web.Request) -> web.Response:
        """/aduan opened as a link (the thanks page's address, copied or bookmarked): the
        form, instead of a bare "405 Method Not Allowed"."""
        raise web.HTTPSeeOther("/")

    async def submit(self, request: web.Request) -> web.StreamResponse:
        # What comes back carries what the citizen typed (name, phone): never cached.
        return no_store(await self._submit(request))

    async def _submit(self, request: web.Request) -> web.Response:
        allowed, retry_after = self.limiter.allow(client_address(request, self.trusted_proxies))
        try:
            post = await request.post()
        except web.HTTPRequestEntityTooLarge:
            limit = messages.number(self.rt.settings.limits.max_text_chars)
            error = f"Kiriman terlalu besar. Isi aduan paling banyak {limit} karakter."
            return self._render(request, {}, error, field="text", status=413)
        form: dict[str, Any] = {k: str(v) for k, v in post.items() if isinstance(v, str)}
        form["anonymous"] = "anonymous" in post
        form["confidential"] = "confidential" in post
        if not allowed:
            error = (
                "Terlalu banyak aduan dikirim dari alamat internet Anda. Coba lagi dalam "
                f"{retry_after} detik; isian Anda masih ada di bawah."
            )
            resp = self._render(request, form, error, status=429)
            resp.headers["Retry-After"] = str(retry_after)
            return resp
        token = form.get("token", "")
        if not TOKEN.fullmatch(token):
            # Without the form's token a resend could not be recognised; show a fresh form.
            return self._render(request, form, "Formulir kedaluwarsa, kirim ulang.", status=400)
        for name, limit in FIELD_CHARS.items():
            if len(form.get(name, "")) > limit:
                error = f"{FIELD_LABELS[name]} terlalu panjang (paling banyak {limit} karakter)."
                return self._render(request, form, error, field=name, status=422)
        phone = form.get("phone", "").strip()
        if phone and to_e164(phone) is None:
            # The citizen is still here to fix it; a number dropped unseen never calls back.
            error = (
                f"Nomor HP “{phone}” tidak valid. Periksa kembali, misalnya 081234567890, "
                "atau kosongkan jika tidak ingin dihubungi."
            )
            return self._render(request, form, error, field="phone", status=422)

        content = {k: form.get(k, "") for k in ("region", "text", "name", "phone", "email")}
        content |= {"anonymous": form["anonymous"], "confidential": form["confidential"]}
        raw = RawMessage(
            channel=Channel.WEB,
            external_id=f"form:{token}:{fingerprint(content)[:16]}",
            sender=phone or form.get("email") or "web",
            recipient=form.get("region", ""),
            text=form.get("text", ""),
            received_at=datetime.now(UTC),
            region_hint=(form.get("region") or "").upper() or None,
            anonymous=bool(form["anonymous"]),
            confidential=bool(form["confidential"]),
            reporter=Reporter(
                name=form.get("name") or None,
                phone=phone or None,
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
        reason = result.reason
        if duplicate:  # the same refused content again: the same explanation
            reason = (await first_request(self.rt.store, result)).reason
        chars = len(clean_text(raw.text)) if reason == "too_long" else 0
        error = messages.rejection(reason, self.rt.settings.limits, chars)
        field = messages.REASON_FIELD.get(reason or "", "text")
        return self._render(request, form, error, field=field, status=422)

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
            ctx["status_label"] = CITIZEN_STATUS_LABELS.get(complaint.status, complaint.status)
            ctx["received"] = complaint.received_at.astimezone(self.zone).strftime("%d-%m-%Y %H:%M")
        return aiohttp_jinja2.render_template(
            "status.html", request, ctx, status=200 if complaint else 404
        )

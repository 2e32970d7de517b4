"""Open311 GeoReport v2 at /open311/v2/: discovery, services, requests, tokens.

`jurisdiction_id` is a region code (case-insensitive); with one region configured it may
be left out, and a POST may leave it out when its api_key is bound to one region. The
tracking number (e.g. AGM-000123) is the service_request_id. Reads never show personal
data; a confidential complaint shows neither its text nor its location or media.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.open311.formats import FORMATS, render, render_errors
from channels.open311.parse import (
    CONTROL_CHARS,
    ServiceRequestIn,
    content_digest,
    parse_request,
)
from gateway import events
from gateway.http_common import client_address, secret_matches
from gateway.intake import IntakeResult, Outcome
from gateway.ratelimit import RateLimiter
from gateway.region_services import DEFAULT_SERVICES, ServiceConfig
from gateway.runtime import Runtime
from gateway.settings import ApiClientConfig, RegionConfig
from gateway.store.db import StoreUnavailable
from gateway.store.models import Complaint, InboundMessage, Open311Request, utcnow
from normalizer.types import Attachment, Channel, Location, RawMessage, Reporter

log = logging.getLogger(__name__)

BASE = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_REQUESTS = 1000
MAX_SPAN = timedelta(days=90)
CLOSED = frozenset({"closed", "rejected_by_operator"})
# Text and media are public only once nobody has to look at them first.
REVIEWED = frozenset({"queued", "forwarded", "failed", "closed"})
STATUS_NOTES = {
    "pending_review": "Sedang diverifikasi petugas.",
    "queued": "Menunggu diteruskan ke LAPOR!.",
    "forwarded": "Sudah diteruskan ke LAPOR!.",
    "failed": "Tertunda, sedang ditangani petugas.",
    "rejected_by_operator": "Tidak dapat diproses.",
    "closed": "Selesai ditindaklanjuti.",
}
REJECTED_NOTES = {
    "empty_text": ("Isi aduan (description) kosong", "description is empty"),
    "too_short": ("Isi aduan (description) terlalu pendek", "description is too short"),
    "too_long": ("Isi aduan (description) terlalu panjang", "description is too long"),
}

# Resources by their first path segment, for a 405 that names what is allowed.
ALLOWED_METHODS = {
    "discovery": ("GET",),
    "services": ("GET",),
    "requests": ("GET", "POST"),
    "tokens": ("GET",),
}

Handler = Callable[[web.Request, str], Awaitable[web.Response]]


class Open311Error(Exception):
    def __init__(
        self,
        status: int,
        *descriptions: str,
        reason: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(descriptions[0])
        self.status = status
        self.descriptions = list(descriptions)
        self.reason = reason  # for the ingestion log, when a known client was refused
        self.retry_after = retry_after


def w3c(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")


def parse_w3c(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
        # Years far off would overflow the 90-day arithmetic; nothing is filed there.
        if moment.tzinfo is not None and not 1900 <= moment.astimezone(UTC).year <= 9000:
            moment = None
    except (ValueError, OverflowError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Open311Error(
            400,
            f"{name} harus tanggal-waktu W3C dengan zona waktu, mis. 2026-01-31T00:00:00Z "
            f"({name} must be a W3C datetime with a zone, e.g. 2026-01-31T00:00:00Z)",
        )
    return moment


def services_of(region: RegionConfig) -> tuple[ServiceConfig, ...]:
    return region.services or DEFAULT_SERVICES


def find_service(region: RegionConfig, code: str) -> ServiceConfig | None:
    wanted = code.strip().casefold()
    return next((s for s in services_of(region) if s.code.casefold() == wanted), None)


def _service_json(s: ServiceConfig) -> dict[str, Any]:
    return {
        "service_code": s.code,
        "service_name": s.name,
        "description": s.description,
        "metadata": bool(s.attributes),
        "type": s.type,
        "keywords": ", ".join(s.keywords),
        "group": s.group,
    }


def _definition_json(s: ServiceConfig) -> dict[str, Any]:
    return {
        "service_code": s.code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description or None,
                "order": i,
                "description": a.description,
                "values": [{"key": v.key, "name": v.name} for v in a.values],
            }
            for i, a in enumerate(s.attributes, start=1)
        ],
    }


class Open311Api:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.settings = rt.settings
        self.cfg = rt.settings.channels.open311
        self.zone = ZoneInfo(rt.settings.gateway.timezone)
        self.changeset = _changeset(rt)
        # The same budget as the JSON API: per key, and per address for missing/wrong keys.
        self.limiter = RateLimiter(rt.settings.http.rate_limit_per_minute)
        # One resend check per (client, device) at a time: two copies sent at once must
        # not both miss the earlier one.
        self._device_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def routes(self) -> list[web.RouteDef]:
        h = self._handle
        return [
            web.get(f"{BASE}/discovery.{{format}}", h(self.discovery)),
            web.get(f"{BASE}/services.{{format}}", h(self.services)),
            web.get(f"{BASE}/services/{{service_code}}.{{format}}", h(self.definition)),
            web.get(f"{BASE}/requests.{{format}}", h(self.list_requests)),
            web.post(f"{BASE}/requests.{{format}}", h(self.create)),
            web.get(f"{BASE}/requests/{{service_request_id}}.{{format}}", h(self.one_request)),
            web.get(f"{BASE}/tokens/{{token}}.{{format}}", h(self.token)),
            # Last: anything else under /open311/v2/ answers in the spec's error format.
            web.route("*", f"{BASE}/{{tail:.*}}", self.not_found),
        ]

    def _handle(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            fmt = request.match_info["format"].lower()
            if fmt not in FORMATS:
                return render_errors(
                    "xml",
                    404,
                    [f"Format .{fmt[:10]} tidak ada; pakai .xml atau .json (use .xml or .json)"],
                )
            given = [*request.query.values(), *request.match_info.values()]
            if any(CONTROL_CHARS.search(v) for v in given):
                return render_errors(
                    fmt, 400, ["Alamat berisi karakter kontrol (control characters in the URL)"]
                )
            try:
                return await handler(request, fmt)
            except Open311Error as e:
                resp = render_errors(fmt, e.status, e.descriptions)
                if e.retry_after is not None:
                    resp.headers["Retry-After"] = str(e.retry_after)
                return resp
            except (StoreUnavailable, OSError, OperationalError, InterfaceError) as e:
                # Reads do not go through store.transaction(); a down store is 503 for them too.
                log.warning("open311: store unavailable", extra={"error": type(e).__name__})
                resp = render_errors(
                    fmt,
                    503,
                    [
                        "Layanan sedang sibuk, tidak ada yang tersimpan; coba lagi nanti "
                        "(store unavailable, nothing was saved; retry later)"
                    ],
                )
                resp.headers["Retry-After"] = "30"
                return resp

        return wrapped

    async def not_found(self, request: web.Request) -> web.Response:
        fmt = "json" if request.path.endswith(".json") else "xml"
        tail = request.match_info["tail"].split("/")[0].split(".")[0]
        allowed = ALLOWED_METHODS.get(tail)
        if allowed and request.method not in (*allowed, "HEAD"):
            resp = render_errors(
                fmt, 405, [f"Metode {request.method[:10]} tidak didukung (method not allowed)"]
            )
            resp.headers["Allow"] = ", ".join(allowed)
            return resp
        return render_errors(
            fmt,
            404,
            [f"Alamat tidak ditemukan; lihat {BASE}/discovery.xml (no such resource)"],
        )

    # --- jurisdictions -------------------------------------------------------------------

    def _region(self, value: str | None, *, client: ApiClientConfig | None = None) -> RegionConfig:
        regions = self.settings.regions
        code = (value or "").strip().upper()
        if not code:
            if len(regions) == 1:
                return next(iter(regions.values()))
            if client is not None and len(client.regions) == 1:
                return regions[client.regions[0]]
            raise Open311Error(
                400,
                "jurisdiction_id wajib diisi: kode wilayah, salah satu dari "
                + ", ".join(sorted(regions))
                + " (jurisdiction_id is required)",
                reason="jurisdiction_missing",
            )
        region = regions.get(code)
        if region is None:
            raise Open311Error(
                404,
                f"jurisdiction_id {code[:20]!r} tidak dikenal; pakai salah satu dari "
                + ", ".join(sorted(regions))
                + " (jurisdiction_id not found)",
                reason="jurisdiction_unknown",
            )
        return region

    # --- discovery and services ----------------------------------------------------------

    async def discovery(self, request: web.Request, fmt: str) -> web.Response:
        public = self.settings.http.public_url.rstrip("/")
        kind = "test" if self.settings.lapor.mode == "sandbox" else "production"
        body = {
            "changeset": self.changeset,
            "contact": self.cfg.contact,
            "key_service": self.cfg.key_service,
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": public + BASE,
                    "changeset": self.changeset,
                    "type": kind,
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return render(fmt, "discovery", body)

    async def services(self, request: web.Request, fmt: str) -> web.Response:
        region = self._region(request.query.get("jurisdiction_id"))
        return render(fmt, "services", [_service_json(s) for s in services_of(region)])

    async def definition(self, request: web.Request, fmt: str) -> web.Response:
        region = self._region(request.query.get("jurisdiction_id"))
        code = request.match_info["service_code"]
        service = find_service(region, code)
        if service is None:
            raise Open311Error(
                404, f"service_code {code[:64]!r} tidak ada di {region.code} (service not found)"
            )
        return render(fmt, "service_definition", _definition_json(service))

    # --- POST requests -------------------------------------------------------------------

    def _client(self, key: str) -> ApiClientConfig | None:
        for client in self.settings.file.api_clients:
            if secret_matches(key, client.key):
                return client
        return None

    async def _refused(self, client: ApiClientConfig, reason: str) -> None:
        """Requests that never reach intake still show in the ingestion log."""
        async with self.rt.store.transaction() as session:
            events.record(
                session,
                kind="inbound",
                channel=Channel.OPEN311.value,
                outcome=Outcome.REJECTED.value,
                reason=reason,
                detail={"client": client.name},
            )

    async def create(self, request: web.Request, fmt: str) -> web.Response:
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise Open311Error(
                400,
                "Kirim sebagai application/x-www-form-urlencoded "
                "(send the request form-encoded, as GeoReport v2 says)",
            )
        try:
            form = await request.post()
        except (UnicodeDecodeError, ValueError):
            raise Open311Error(400, "Data formulir rusak (malformed form body)") from None
        fields = [(k, v) for k, v in form.items() if isinstance(v, str)]
        # Some clients put api_key and jurisdiction_id in the query string.
        fields += [(k, v) for k, v in request.query.items() if k in ("api_key", "jurisdiction_id")]
        first = {}
        for k, v in fields:
            first.setdefault(k, v)
        client = self._client(first.get("api_key", "").strip())
        self._within_budget(request, client)
        if client is None:
            raise Open311Error(403, "api_key tidak ada atau salah (missing or invalid api_key)")
        try:
            return await self._create(client, fields, first, fmt)
        except Open311Error as e:
            if e.reason:
                await self._refused(client, e.reason)
            raise

    def _within_budget(self, request: web.Request, client: ApiClientConfig | None) -> None:
        if client is not None:
            bucket = f"key:{client.name}"
        else:
            bucket = f"addr:{client_address(request, self.settings.http.trusted_proxies)}"
        allowed, retry_after = self.limiter.allow(bucket)
        if not allowed:
            raise Open311Error(
                429,
                f"Terlalu banyak permintaan. Coba lagi dalam {retry_after} detik "
                f"(rate limit exceeded; retry in {retry_after} s)",
                retry_after=retry_after,
            )

    async def _create(
        self,
        client: ApiClientConfig,
        fields: list[tuple[str, str]],
        first: dict[str, str],
        fmt: str,
    ) -> web.Response:
        region = self._region(first.get("jurisdiction_id"), client=client)
        if region.code not in client.regions:
            raise Open311Error(
                403,
                f"api_key ini tidak boleh mengirim ke wilayah {region.code} "
                f"(this api_key may not file into {region.code})",
                reason="region_not_allowed",
            )
        code = first.get("service_code", "").strip()
        if not code:
            raise Open311Error(
                400, "service_code wajib diisi (service_code is required)", reason="no_service"
            )
        service = find_service(region, code)
        if service is None:
            raise Open311Error(
                404,
                f"service_code {code[:64]!r} tidak ada di {region.code} (service not found)",
                reason="unknown_service",
            )
        parsed = parse_request(fields, service, max_text_chars=self.settings.limits.max_text_chars)
        if isinstance(parsed, list):
            raise Open311Error(400, *parsed, reason="invalid_request")
        external_id = f"{client.name}:{content_digest(region.code, fields)[:48]}"
        if parsed.device_id:
            key = (client.name, parsed.device_id)
            lock = self._device_locks.get(key)
            if lock is None:
                lock = self._device_locks[key] = asyncio.Lock()
            async with lock:
                earlier = await self._earlier_from_device(client, parsed)
                result, token = await self._submit(client, region, parsed, earlier or external_id)
        else:
            result, token = await self._submit(client, region, parsed, external_id)
        return await self._answer(fmt, region, service, parsed, result, token)

    async def _earlier_from_device(
        self, client: ApiClientConfig, req: ServiceRequestIn
    ) -> str | None:
        """The external id of the same description from the same device in the window."""
        since = utcnow() - timedelta(hours=self.settings.file.limits.duplicate_window_h)
        async with self.rt.store.reader() as session:
            return await session.scalar(
                select(InboundMessage.external_id)
                .join(Open311Request, Open311Request.inbound_id == InboundMessage.id)
                .where(
                    Open311Request.client == client.name,
                    Open311Request.device_id == req.device_id,
                    Open311Request.description_digest == req.description_digest,
                    Open311Request.created_at >= since,
                )
                .order_by(Open311Request.id.desc())
                .limit(1)
            )

    async def _submit(
        self,
        client: ApiClientConfig,
        region: RegionConfig,
        req: ServiceRequestIn,
        external_id: str,
    ) -> tuple[IntakeResult, str | None]:
        token = secrets.token_urlsafe(18)
        attachments = ()
        if req.media_url:
            name = req.media_url.rstrip("/").rsplit("/", 1)[-1][:200] or "media"
            attachments = (Attachment(filename=name, content_type="", size=0, url=req.media_url),)
        raw = RawMessage(
            channel=Channel.OPEN311,
            external_id=external_id,
            sender=f"open311:{client.name}",
            recipient=region.code,
            text=req.description,
            received_at=datetime.now(UTC),
            attachments=attachments,
            region_hint=region.code,
            subject=req.service.name,
            category_hint=req.service.category,
            reporter=Reporter(name=req.name, phone=req.phone, email=req.email),
            meta={"client": client.name, "service_code": req.service.code},
            location=(
                Location(lat=req.lat, long=req.long, address=req.address_string)
                if req.lat is not None or req.address_string
                else None
            ),
        )

        async def keep_request(session: AsyncSession, result: IntakeResult) -> None:
            if result.outcome is Outcome.DUPLICATE or result.inbound_id is None:
                return
            session.add(
                Open311Request(
                    inbound_id=result.inbound_id,
                    token=token,
                    client=client.name,
                    region_code=region.code,
                    service_code=req.service.code,
                    device_id=req.device_id,
                    description_digest=req.description_digest,
                    lat=req.lat,
                    long=req.long,
                    address_string=req.address_string,
                    address_id=req.address_id,
                    media_url=req.media_url,
                    attributes=req.attributes,
                )
            )

        result = await self.rt.intake.submit(raw, also=keep_request)
        if result.outcome is Outcome.DUPLICATE and result.inbound_id is not None:
            async with self.rt.store.reader() as session:
                token = await session.scalar(
                    select(Open311Request.token).where(
                        Open311Request.inbound_id == result.inbound_id
                    )
                )
        return result, token

    async def _answer(
        self,
        fmt: str,
        region: RegionConfig,
        service: ServiceConfig,
        req: ServiceRequestIn,
        result: IntakeResult,
        token: str | None,
    ) -> web.Response:
        if result.tracking_ref is None:
            # Stored for the operators, but not a complaint: the client is told why.
            reason = result.reason if result.outcome is not Outcome.DUPLICATE else "rejected_before"
            pesan, message = REJECTED_NOTES.get(
                reason or "", ("Aduan tidak dapat diterima", f"not accepted: {reason}")
            )
            raise Open311Error(400, f"{pesan} ({message})")
        if service.type == "batch" and token:
            item: dict[str, Any] = {"token": token}
            notice = f"Laporan diterima {region.name}; nomor tiket tersedia setelah diverifikasi."
        else:
            item = {"service_request_id": result.tracking_ref}
            if result.reason == "pending_review":
                notice = (
                    f"Aduan diterima {region.name} dengan nomor tiket {result.tracking_ref}; "
                    "diverifikasi petugas sebelum diteruskan ke LAPOR!."
                )
            else:
                notice = (
                    f"Aduan diterima {region.name} dengan nomor tiket {result.tracking_ref} "
                    "dan diteruskan ke LAPOR!."
                )
        item["service_notice"] = notice
        item["account_id"] = req.account_id
        return render(fmt, "service_requests", [item])

    # --- GET requests --------------------------------------------------------------------

    def _request_json(
        self, region: RegionConfig, c: Complaint, o: Open311Request | None
    ) -> dict[str, Any]:
        code = o.service_code if o is not None else c.category
        service = find_service(region, code) or next(
            (s for s in DEFAULT_SERVICES if s.code == c.category), None
        )
        public = not c.confidential
        reviewed = public and c.status in REVIEWED
        notes = STATUS_NOTES.get(c.status, c.status)
        if c.lapor_tracking_id and c.status == "forwarded":
            notes = f"Sudah diteruskan ke LAPOR!, no. lacak {c.lapor_tracking_id}."
        located = o if o is not None and public else None
        return {
            "service_request_id": c.tracking_ref,
            "status": "closed" if c.status in CLOSED else "open",
            "status_notes": notes,
            "service_name": service.name if service else code,
            "service_code": code,
            "description": c.text if reviewed else None,
            "agency_responsible": region.name,
            "service_notice": None,
            "requested_datetime": w3c(c.received_at, self.zone),
            "updated_datetime": w3c(c.updated_at, self.zone),
            "expected_datetime": None,
            "address": located.address_string if located else None,
            "address_id": located.address_id if located else None,
            "zipcode": None,
            "lat": located.lat if located else None,
            "long": located.long if located else None,
            "media_url": o.media_url if o is not None and reviewed else None,
        }

    def _base_query(self, region: RegionConfig) -> Any:
        return (
            select(Complaint, Open311Request)
            .outerjoin(Open311Request, Open311Request.inbound_id == Complaint.inbound_id)
            .where(Complaint.region_code == region.code)
        )

    async def list_requests(self, request: web.Request, fmt: str) -> web.Response:
        q = request.query
        region = self._region(q.get("jurisdiction_id"))
        query = self._base_query(region)
        ids = [i.strip().upper() for i in q.get("service_request_id", "").split(",") if i.strip()]
        if ids:  # the spec: this overrides every other argument
            if len(ids) > MAX_REQUESTS:
                raise Open311Error(
                    400, f"Paling banyak {MAX_REQUESTS} service_request_id (at most 1000 ids)"
                )
            query = query.where(Complaint.tracking_ref.in_(ids))
        else:
            query = self._filtered(query, q)
        query = query.order_by(Complaint.received_at.desc(), Complaint.tracking_ref.desc())
        async with self.rt.store.reader() as session:
            rows = (await session.execute(query.limit(MAX_REQUESTS))).all()
        body = [self._request_json(region, c, o) for c, o in rows]
        return render(fmt, "service_requests", body)

    def _filtered(self, query: Any, q: Any) -> Any:
        start_s, end_s = q.get("start_date", "").strip(), q.get("end_date", "").strip()
        start = parse_w3c(start_s, "start_date") if start_s else None
        end = parse_w3c(end_s, "end_date") if end_s else None
        if start and end:
            if end < start:
                raise Open311Error(
                    400, "end_date lebih awal dari start_date (end_date before start_date)"
                )
            if end - start > MAX_SPAN:
                raise Open311Error(
                    400, "Rentang tanggal paling lama 90 hari (the range may span 90 days at most)"
                )
        elif start:
            end = start + MAX_SPAN
        elif end:
            start = end - MAX_SPAN
        else:
            end = utcnow()
            start = end - MAX_SPAN
        query = query.where(Complaint.received_at >= start, Complaint.received_at <= end)

        statuses = {s.strip().lower() for s in q.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status harus open atau closed (status: open, closed)")
        if statuses == {"open"}:
            query = query.where(Complaint.status.not_in(CLOSED))
        elif statuses == {"closed"}:
            query = query.where(Complaint.status.in_(CLOSED))

        codes = [c.strip() for c in q.get("service_code", "").split(",") if c.strip()]
        if codes:
            query = query.where(
                or_(
                    Open311Request.service_code.in_(codes),
                    and_(Open311Request.id.is_(None), Complaint.category.in_(codes)),
                )
            )
        return query

    async def one_request(self, request: web.Request, fmt: str) -> web.Response:
        region = self._region(request.query.get("jurisdiction_id"))
        ref = request.match_info["service_request_id"].strip().upper()
        async with self.rt.store.reader() as session:
            row = (
                await session.execute(self._base_query(region).where(Complaint.tracking_ref == ref))
            ).first()
        if row is None:
            raise Open311Error(
                404, f"service_request_id {ref[:32]!r} tidak ditemukan di {region.code} (not found)"
            )
        return render(fmt, "service_requests", [self._request_json(region, row[0], row[1])])

    async def token(self, request: web.Request, fmt: str) -> web.Response:
        region = self._region(request.query.get("jurisdiction_id"))
        token = request.match_info["token"]
        async with self.rt.store.reader() as session:
            row = (
                await session.execute(
                    select(Open311Request.token, Complaint.tracking_ref, Complaint.status)
                    .join(InboundMessage, InboundMessage.id == Open311Request.inbound_id)
                    .outerjoin(Complaint, Complaint.id == InboundMessage.complaint_id)
                    .where(Open311Request.token == token, Open311Request.region_code == region.code)
                )
            ).first()
        if row is None:
            raise Open311Error(404, "token tidak ditemukan (token not found)")
        # A batch request's number is given once an operator has looked at it.
        ref = row.tracking_ref if row.status not in (None, "pending_review") else None
        return render(fmt, "service_requests", [{"service_request_id": ref, "token": row.token}])


def _changeset(rt: Runtime) -> str:
    """When the config or a region file (the service lists) last changed."""
    settings = rt.settings
    paths = [settings.path, *settings.resolve(settings.gateway.regions_dir).glob("*.toml")]
    mtimes = [p.stat().st_mtime for p in paths if p.exists()]
    moment = datetime.fromtimestamp(max(mtimes), UTC) if mtimes else utcnow()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

"""JSON intake API for regional apps (e.g. Pandeglang's Bebeja): POST /api/v1/complaints.

Status codes: 201 new, 200 replay of the same Idempotency-Key (same body), 400 malformed,
401 no/wrong key, 403 region not allowed for the key, 413 too large, 415 not JSON,
422 invalid content (field named), 429 over the rate limit, 503 store unavailable.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import UTC, datetime

from aiohttp import web
from pydantic import ValidationError

from channels.web.ratelimit import RateLimiter
from channels.web.schemas import ComplaintIn
from gateway import events
from gateway.http_common import json_error
from gateway.intake import IntakeResult, Outcome
from gateway.jsonutil import to_json
from gateway.queries import public_status_json
from gateway.runtime import Runtime
from gateway.settings import ApiClientConfig
from gateway.store.models import Complaint
from normalizer.types import Channel, RawMessage, Reporter

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY_CHARS = 200  # as the OpenAPI description says

# Normalizer reasons -> the field an app developer must fix.
REASON_FIELD = {
    "empty_text": "text",
    "too_short": "text",
    "too_long": "text",
    "unknown_region": "region",
    "unrouted": "region",
}
REASON_PESAN = {
    "empty_text": "Isi aduan tidak boleh kosong.",
    "too_short": "Isi aduan terlalu pendek.",
    "too_long": "Isi aduan terlalu panjang.",
    "unknown_region": "Kode wilayah tidak dikenal.",
    "unrouted": "Wilayah tujuan tidak ditemukan.",
}


class ComplaintApi:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.clients = rt.settings.file.api_clients
        self.limiter = RateLimiter(rt.settings.http.rate_limit_per_minute)

    def _client(self, request: web.Request) -> ApiClientConfig | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key:
            return None
        for client in self.clients:
            if hmac.compare_digest(client.key.encode(), key.strip().encode()):
                return client
        return None

    async def _reject_event(self, client: ApiClientConfig, reason: str, ext: str | None) -> None:
        """Requests that never reach intake still show in the ingestion log."""
        async with self.rt.store.transaction() as session:
            events.record(
                session,
                kind="inbound",
                channel=Channel.API.value,
                outcome=Outcome.REJECTED.value,
                reason=reason,
                external_id=ext,
                detail={"client": client.name},
            )

    async def create(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return json_error(
                415,
                "unsupported_media_type",
                "Kirim data sebagai JSON (Content-Type: application/json).",
                "Send JSON with Content-Type: application/json.",
            )
        client = self._client(request)
        if client is None:
            return json_error(
                401,
                "unauthorized",
                "Kunci API tidak ada atau salah.",
                "Missing or wrong API key (Authorization: Bearer <key>).",
            )
        allowed, retry_after = self.limiter.allow(client.name)
        if not allowed:
            resp = json_error(
                429,
                "rate_limited",
                "Terlalu banyak permintaan, coba lagi nanti.",
                "Rate limit exceeded.",
            )
            resp.headers["Retry-After"] = str(retry_after)
            return resp
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
            # The key becomes the stored external id (at most 255 with the client's name).
            return json_error(
                400,
                "idempotency_key_too_long",
                f"Idempotency-Key paling panjang {MAX_IDEMPOTENCY_KEY_CHARS} karakter.",
                f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters.",
            )
        body = await request.read()  # 413 beyond http.max_body_bytes (middleware)
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            await self._reject_event(client, "invalid_utf8", key)
            return json_error(
                400, "invalid_utf8", "Data bukan UTF-8 yang sah.", "Body is not valid UTF-8."
            )
        except json.JSONDecodeError as e:
            await self._reject_event(client, "malformed_json", key)
            return json_error(
                400, "malformed_json", "Format JSON rusak.", f"Malformed JSON: {e.msg} at {e.pos}."
            )
        if not isinstance(data, dict):
            await self._reject_event(client, "malformed_json", key)
            return json_error(
                400, "malformed_json", "JSON harus berupa objek.", "Body must be a JSON object."
            )
        try:
            payload = ComplaintIn.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            await self._reject_event(client, f"invalid_field:{field}", key)
            return json_error(
                422,
                "invalid_field",
                f"Kolom '{field}' tidak valid.",
                f"Field '{field}': {first['msg']}.",
                field=field,
            )
        region = payload.region.upper()
        if region in self.rt.settings.regions and region not in client.regions:
            await self._reject_event(client, "region_not_allowed", key)
            return json_error(
                403,
                "region_not_allowed",
                f"Kunci API ini tidak boleh mengirim aduan ke wilayah {region}.",
                f"This API key may not file into region {region}.",
            )
        key = key or payload.external_id
        if key is None:
            return json_error(
                400,
                "idempotency_key_required",
                "Sertakan header Idempotency-Key agar aduan tidak tercatat dua kali.",
                "Send an Idempotency-Key header (or external_id) so retries are safe.",
            )
        reporter = payload.reporter
        raw = RawMessage(
            channel=Channel.API,
            external_id=f"{client.name}:{key}",
            sender=f"api:{client.name}",
            recipient=region,
            text=payload.text,
            received_at=datetime.now(UTC),
            region_hint=region,
            subject=payload.subject,
            category_hint=payload.category,
            anonymous=payload.anonymous,
            confidential=payload.confidential,
            reporter=Reporter(name=reporter.name, phone=reporter.phone, email=reporter.email)
            if reporter
            else None,
            meta={"client": client.name},
        )
        result = await self.rt.intake.submit(raw)
        return self._answer(result)

    def _answer(self, result: IntakeResult) -> web.Response:
        replay = result.outcome is Outcome.DUPLICATE
        if result.complaint_id:  # accepted now, or a replay of an accepted request
            body = {
                "id": result.complaint_id,
                "tracking_ref": result.tracking_ref,
                "region": result.region_code,
                "pesan": f"Aduan diterima dengan nomor tiket {result.tracking_ref}.",
            }
            return web.json_response(body, status=200 if replay else 201)
        # Rejected or unrouted (now or the first time): stored, and the app is told why.
        if replay:
            return json_error(
                422,
                "rejected",
                "Aduan dengan Idempotency-Key ini sudah ditolak sebelumnya.",
                "A request with this Idempotency-Key was rejected before.",
            )
        reason = result.reason or "rejected"
        return json_error(
            422,
            reason,
            REASON_PESAN.get(reason, "Aduan tidak dapat diterima."),
            result.detail or reason,
            field=REASON_FIELD.get(reason, "text"),
        )

    async def status(self, request: web.Request) -> web.Response:
        # PostgreSQL refuses NUL in a query; U+FFFD is in no tracking number either.
        ref = request.match_info["tracking_ref"].upper().replace("\x00", "\ufffd")
        async with self.rt.store.reader() as session:
            from sqlalchemy import select

            complaint = await session.scalar(select(Complaint).where(Complaint.tracking_ref == ref))
        if complaint is None:
            return json_error(
                404, "not_found", "Nomor tiket tidak ditemukan.", f"No complaint {ref}."
            )
        return web.json_response(public_status_json(complaint), dumps=to_json)

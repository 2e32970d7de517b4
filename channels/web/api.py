"""JSON intake API for regional apps (e.g. Pandeglang's Bebeja): POST /api/v1/complaints.

Status codes: 201 new, 200 replay of the same Idempotency-Key with the same body (the first
answer again), 400 malformed, 401 no/wrong key, 403 region not allowed for the key, 413 too
large, 415 not JSON, 422 invalid content (field named) or an Idempotency-Key reused with a
different body, 429 over the rate limit, 503 store unavailable. Every answer is
`Cache-Control: no-store`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select

from channels.web import messages
from channels.web.idempotency import first_request, same_request
from channels.web.schemas import ComplaintIn
from gateway import events
from gateway.http_common import client_address, json_error, secret_matches
from gateway.intake import IntakeResult, Outcome
from gateway.jsonutil import to_json
from gateway.queries import public_status_json
from gateway.ratelimit import RateLimiter
from gateway.runtime import Runtime
from gateway.settings import ApiClientConfig
from gateway.store.models import Complaint
from normalizer.phone import to_e164
from normalizer.text import clean_text
from normalizer.types import Channel, RawMessage, Reporter

MAX_KEY_CHARS = 200


def no_store(response: web.StreamResponse) -> web.StreamResponse:
    """Answers may carry what a citizen wrote about themselves: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


class ComplaintApi:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.clients = rt.settings.file.api_clients
        self.limiter = RateLimiter(rt.settings.http.rate_limit_per_minute)
        self.trusted_proxies = rt.settings.http.trusted_proxies

    def _client(self, request: web.Request) -> ApiClientConfig | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key:
            return None
        for client in self.clients:
            if secret_matches(key.strip(), client.key):
                return client
        return None

    def _over_limit(self, bucket: str) -> web.Response | None:
        allowed, retry_after = self.limiter.allow(bucket)
        if allowed:
            return None
        resp = json_error(
            429,
            "rate_limited",
            f"Terlalu banyak permintaan. Coba lagi dalam {retry_after} detik.",
            f"Rate limit exceeded; retry in {retry_after} s.",
        )
        resp.headers["Retry-After"] = str(retry_after)
        return resp

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

    async def create(self, request: web.Request) -> web.StreamResponse:
        return no_store(await self._create(request))

    async def _create(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return json_error(
                415,
                "unsupported_media_type",
                "Kirim data sebagai JSON (Content-Type: application/json).",
                "Send JSON with Content-Type: application/json.",
            )
        client = self._client(request)
        # A known key has its own budget; anyone else (wrong keys too) shares their address's.
        bucket = (
            f"key:{client.name}"
            if client
            else f"addr:{client_address(request, self.trusted_proxies)}"
        )
        if (limited := self._over_limit(bucket)) is not None:
            return limited
        if client is None:
            return json_error(
                401,
                "unauthorized",
                "Kunci API tidak ada atau salah.",
                "Missing or wrong API key (Authorization: Bearer <key>).",
            )
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key is not None and len(key) > MAX_KEY_CHARS:
            await self._reject_event(client, "idempotency_key_too_long", None)
            return json_error(
                400,
                "idempotency_key_too_long",
                f"Idempotency-Key paling panjang {MAX_KEY_CHARS} karakter.",
                f"Idempotency-Key is longer than {MAX_KEY_CHARS} characters.",
            )
        if key is not None and not key.isprintable():
            # Control characters, or bytes that are not UTF-8 (lone surrogates here).
            await self._reject_event(client, "idempotency_key_invalid", None)
            return json_error(
                400,
                "idempotency_key_invalid",
                "Idempotency-Key hanya boleh berisi teks yang dapat dicetak (UTF-8, tanpa "
                "karakter kendali).",
                "Idempotency-Key must be printable UTF-8 text, without control characters.",
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
            field, pesan = messages.field_error(first)
            await self._reject_event(client, f"invalid_field:{field}", key)
            return json_error(
                422, "invalid_field", pesan, f"Field '{field}': {first['msg']}.", field=field
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
        fingerprint = payload.fingerprint()
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
            meta={"client": client.name, "fingerprint": fingerprint},
        )
        result = await self.rt.intake.submit(raw)
        if result.outcome is Outcome.DUPLICATE:
            first = await first_request(self.rt.store, result)
            if not same_request(first, fingerprint, payload.text):
                return json_error(
                    422,
                    "idempotency_key_reused",
                    "Idempotency-Key ini sudah dipakai untuk aduan dengan isi yang berbeda. "
                    "Aduan ini TIDAK disimpan; kirim ulang dengan Idempotency-Key baru.",
                    "This Idempotency-Key was used before with a different body; this request "
                    "was not stored. Send it again with a new key.",
                )
            # A replay is answered what the first request was answered.
            result = replace(result, reason=first.reason, detail=first.detail)
        return self._answer(result, payload)

    def _answer(self, result: IntakeResult, payload: ComplaintIn) -> web.Response:
        if result.complaint_id:  # accepted now, or a replay of an accepted request
            body: dict[str, Any] = {
                "id": result.complaint_id,
                "tracking_ref": result.tracking_ref,
                "region": result.region_code,
                "pesan": f"Aduan diterima dengan nomor tiket {result.tracking_ref}.",
                "warnings": _warnings(payload),
            }
            replay = result.outcome is Outcome.DUPLICATE
            return web.json_response(body, status=200 if replay else 201, dumps=to_json)
        # Rejected or unrouted (now or the first time): stored, and the app is told why.
        reason = result.reason or "rejected"
        chars = len(clean_text(payload.text)) if reason == "too_long" else 0
        return json_error(
            422,
            reason,
            messages.rejection(reason, self.rt.settings.limits, chars),
            result.detail or reason.replace("_", " "),
            field=messages.REASON_FIELD.get(reason, "text"),
        )

    async def status(self, request: web.Request) -> web.StreamResponse:
        limited = self._over_limit(f"addr:{client_address(request, self.trusted_proxies)}")
        if limited is not None:
            return no_store(limited)
        # PostgreSQL refuses NUL in a query; U+FFFD is in no tracking number either.
        ref = request.match_info["tracking_ref"].upper().replace("\x00", "\ufffd")
        async with self.rt.store.reader() as session:
            complaint = await session.scalar(select(Complaint).where(Complaint.tracking_ref == ref))
        if complaint is None:
            return no_store(
                json_error(404, "not_found", "Nomor tiket tidak ditemukan.", f"No complaint {ref}.")
            )
        return no_store(web.json_response(public_status_json(complaint), dumps=to_json))


def _warnings(payload: ComplaintIn) -> list[dict[str, str]]:
    """What was accepted but not kept as given: the app should tell its user."""
    phone = payload.reporter.phone if payload.reporter else None
    if phone and phone.strip() and to_e164(phone) is None:
        return [
            {
                "code": "invalid_phone",
                "field": "reporter.phone",
                "pesan": messages.PHONE_INVALID,
                "message": messages.PHONE_INVALID_EN,
            }
        ]
    return []

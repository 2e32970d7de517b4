"""JSON errors in Indonesian and English, the same shape everywhere in the HTTP API."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from aiohttp import web

from gateway.store.db import StoreUnavailable

log = logging.getLogger(__name__)

IPNetwork = IPv4Network | IPv6Network
STORE_RETRY_AFTER_S = 5
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The citizen-facing "page not found" (the web channel sets it: the core knows no channel).
NOT_FOUND_PAGE = web.AppKey("not_found_page", Handler)
# Paths for programs, not citizens: their errors keep their own shape (JSON, Open311 XML).
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/open311/", "/ops/", "/static/")
MACHINE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# Every HTML page: scripts and styles only from our own static files, nothing inline (an
# injected <script> or style attribute does not run); the console adds frame-ancestors.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'"
)

# An HTTP error under /api/ as (code, pesan): Indonesian for the app's users, never
# aiohttp's English reason phrase; `message` stays English.
API_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Permintaan tidak sah."),
    401: ("unauthorized", "Kunci API tidak ada atau salah."),
    403: ("forbidden", "Akses ke sumber ini tidak diizinkan."),
    404: ("not_found", "Alamat API ini tidak ada. Lihat /api/v1/openapi.json."),
    405: ("method_not_allowed", "Metode HTTP ini tidak didukung di alamat ini."),
    406: ("not_acceptable", "Format jawaban yang diminta tidak tersedia; gunakan JSON."),
    409: ("conflict", "Permintaan bertentangan dengan data yang sudah ada."),
    415: ("unsupported_media_type", "Jenis isi tidak didukung; kirim JSON."),
    422: ("unprocessable", "Isi permintaan tidak dapat diproses."),
    429: ("too_many_requests", "Terlalu banyak permintaan; coba lagi nanti."),
    500: ("internal_error", "Terjadi kesalahan pada server. Silakan kirim ulang."),
    503: ("unavailable", "Layanan sedang tidak tersedia; coba lagi nanti."),
}


def json_error(status: int, code: str, pesan: str, message: str, **extra: Any) -> web.Response:
    """`pesan` is for Indonesian readers, `message` for English ones."""
    body = {"error": {"code": code, "pesan": pesan, "message": message, **extra}}
    return web.json_response(body, status=status)


def error_middleware(max_body_bytes: int) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Store outages and oversized bodies as JSON errors; every other error under /api/ as
    JSON too (Indonesian `pesan`, English `message`), so app developers always get the same
    shape; a citizen URL that does not exist gets the web channel's Indonesian page."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except StoreUnavailable:
            resp = json_error(
                503,
                "store_unavailable",
                "Layanan sedang sibuk, silakan coba lagi beberapa saat lagi.",
                "The store is unavailable; nothing was saved. Retry later.",
            )
            # Providers and apps back off by it instead of hammering a recovering database.
            resp.headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
            return resp
        except web.HTTPRequestEntityTooLarge:
            return json_error(
                413,
                "too_large",
                "Ukuran kiriman terlalu besar.",
                f"Body larger than {max_body_bytes} bytes.",
            )
        except web.HTTPException as e:
            if e.status < 400 or e.content_type == "application/json":
                raise
            if request.path.startswith("/api/"):
                code, pesan = API_ERRORS.get(
                    e.status, ("http_error", f"Permintaan tidak dapat dilayani (HTTP {e.status}).")
                )
                resp = json_error(e.status, code, pesan, e.reason)
                for header in ("Allow", "Retry-After"):
                    if header in e.headers:
                        resp.headers[header] = e.headers[header]
                return resp
            page = request.app.get(NOT_FOUND_PAGE)
            if e.status == 404 and page is not None and _for_citizens(request.path):
                return await page(request)
            raise
        except Exception:
            if not request.path.startswith("/api/"):
                raise
            log.exception("unhandled error in an API request", extra={"path": request.path})
            code, pesan = API_ERRORS[500]
            return json_error(
                500, code, pesan, "Internal server error; retry with the same Idempotency-Key."
            )

    return middleware


def _for_citizens(path: str) -> bool:
    return path not in MACHINE_PATHS and not path.startswith(MACHINE_PREFIXES)


def secret_matches(given: str | bytes | None, expected: str | bytes) -> bool:
    """Constant-time comparison of a secret a client sent (header, query, form field) with
    ours. Bytes on both sides: hmac.compare_digest raises on a str with non-ASCII, and a
    header can carry anything (undecodable bytes arrive as lone surrogates)."""
    if not given:
        return False
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def client_address(request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The client's IP address. X-Forwarded-For is believed only as far as it was written by
    trusted proxies: walking it from the right, the first hop that is not a trusted proxy is
    the client (anything to its left could have been made up by that client)."""
    peer = request.remote or "unknown"
    if not trusted_proxies:
        return peer
    hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    address = peer
    while _trusted(address, trusted_proxies) and hops:
        hop = hops.pop()
        try:
            ip_address(hop)
        except ValueError:
            break  # a garbled entry: the last proxy we trust is as far as we can see
        address = hop
    return address


def _trusted(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)

"""JSON errors in Indonesian and English, the same shape everywhere in the HTTP API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.store.db import StoreUnavailable

STORE_RETRY_AFTER_S = 5

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, code: str, pesan: str, message: str, **extra: Any) -> web.Response:
    """`pesan` is for Indonesian readers, `message` for English ones."""
    body = {"error": {"code": code, "pesan": pesan, "message": message, **extra}}
    return web.json_response(body, status=status)


def error_middleware(max_body_bytes: int) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Store outages and oversized bodies as JSON errors; plain HTTP errors under /api/
    as JSON too, so app developers always get the same shape."""

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
            is_api = request.path.startswith("/api/")
            if is_api and e.status >= 400 and e.content_type != "application/json":
                return json_error(e.status, "http_error", e.reason, e.reason)
            raise

    return middleware

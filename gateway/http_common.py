"""JSON errors in Indonesian and English, the same shape everywhere in the HTTP API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from aiohttp import web

from gateway.store.db import StoreUnavailable

IPNetwork = IPv4Network | IPv6Network
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

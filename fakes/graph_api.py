"""A local fake of the WhatsApp Business Cloud API (Graph API) for tests and trainers.

    python -m fakes.graph_api --listen 127.0.0.1:8092 --access-token fake-token

Point the gateway at it with `[channels.whatsapp] graph_base_url =
"http://127.0.0.1:8092/v21.0"`. It serves what the channel calls, shaped as Meta documents:
  GET  /{version}/{media-id}                  {"url", "mime_type", "sha256", "file_size", "id"}
  GET  /whatsapp_business/attachments/?mid=   the media bytes (bearer token needed, as at Meta)
  POST /{version}/{phone-number-id}/messages  records the message, answers {"messages": [{"id"}]}
Every call needs `Authorization: Bearer <access token>`; another token gets Meta's 401 with
error code 190.

Not part of Meta, for tests and trainers:
  POST   /fake/media     raw bytes (Content-Type is the medium's type) -> {"id"}
  GET    /fake/messages  every message sent through /messages, oldest first
  POST   /fake/faults    queue errors for the next sends: {"code": 131047 | 130429 | 190 | ...,
                         "status": 400, "retry_after": 5, "times": 1}
  DELETE /fake/faults    clear them
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.config_base import parse_listen

DEFAULT_TOKEN = "fake-graph-token"
# Meta's messages and HTTP statuses for the errors the gateway handles by kind.
ERRORS: dict[int, tuple[int, str]] = {
    190: (401, "Error validating access token: Session has expired."),
    131047: (400, "Re-engagement message"),
    130429: (400, "Rate limit hit"),
    131026: (400, "Message undeliverable"),
    131000: (500, "Something went wrong"),
}


@dataclass
class Medium:
    data: bytes
    mime_type: str
    declared_size: int | None  # what the look-up says; None: the real size
    chunked: bool  # sent without Content-Length (only the stream tells its size)


@dataclass
class Fault:
    code: int
    status: int
    retry_after: float | None
    times: int


@dataclass
class FakeGraphApi:
    access_token: str = DEFAULT_TOKEN
    media: dict[str, Medium] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    downloads: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_media(
        self,
        data: bytes,
        mime_type: str = "image/jpeg",
        *,
        media_id: str | None = None,
        declared_size: int | None = None,
        chunked: bool = False,
    ) -> str:
        media_id = media_id or str(1_000_000_000_000 + next(self._ids))
        self.media[media_id] = Medium(data, mime_type, declared_size, chunked)
        return media_id

    def fail(
        self,
        code: int,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        default = ERRORS.get(code, (400, "Error"))[0]
        self.faults.append(Fault(code, status or default, retry_after, times))

    def take_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self.faults.pop(0)
        return fault

    def wamid(self) -> str:
        raw = f"fake.{next(self._ids)}.{secrets.token_hex(8)}".encode()
        return "wamid." + base64.b64encode(raw).decode()


API_KEY = web.AppKey("graph_api", FakeGraphApi)


def graph_error(code: int, status: int, headers: dict[str, str] | None = None) -> web.Response:
    message = ERRORS.get(code, (status, "Error"))[1]
    body = {
        "error": {
            "message": f"({'#' + str(code) if code != 190 else 'OAuth'}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message},
            "fbtrace_id": secrets.token_urlsafe(12),
        }
    }
    return web.json_response(body, status=status, headers=headers)


def _authorized(request: web.Request) -> bool:
    api = request.app[API_KEY]
    return request.headers.get("Authorization", "") == f"Bearer {api.access_token}"


@web.middleware
async def check_token(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/fake/") and not _authorized(request):
        return graph_error(190, 401)
    response: web.StreamResponse = await handler(request)
    return response


async def media_info(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    media_id = request.match_info["media_id"]
    medium = api.media.get(media_id)
    if medium is None:
        return graph_error(100, 400)
    base = f"{request.scheme}://{request.host}"
    size = medium.declared_size if medium.declared_size is not None else len(medium.data)
    return web.json_response(
        {
            "messaging_product": "whatsapp",
            "url": f"{base}/whatsapp_business/attachments/?mid={media_id}",
            "mime_type": medium.mime_type,
            "sha256": hashlib.sha256(medium.data).hexdigest(),
            "file_size": str(size),
            "id": media_id,
        }
    )


async def media_download(request: web.Request) -> web.StreamResponse:
    api = request.app[API_KEY]
    medium = api.media.get(request.query.get("mid", ""))
    if medium is None:
        return web.Response(status=404)
    api.downloads += 1
    if not medium.chunked:
        return web.Response(body=medium.data, content_type=medium.mime_type)
    resp = web.StreamResponse(headers={"Content-Type": medium.mime_type})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for start in range(0, len(medium.data), 256 * 1024):
        try:
            await resp.write(medium.data[start : start + 256 * 1024])
        except ConnectionResetError:  # the client stopped reading: what a limit does
            break
    return resp


async def send_message(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    try:
        body = await request.json()
    except ValueError:
        return graph_error(100, 400)
    fault = api.take_fault()
    if fault is not None:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
        return graph_error(fault.code, fault.status, headers)
    wamid = api.wamid()
    api.sent.append({"phone_number_id": request.match_info["phone_id"], "id": wamid, **body})
    return web.json_response(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body.get("to"), "wa_id": str(body.get("to", "")).lstrip("+")}],
            "messages": [{"id": wamid}],
        }
    )


async def upload(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    media_id = api.add_media(await request.read(), request.content_type)
    return web.json_response({"id": media_id})


async def list_sent(request: web.Request) -> web.Response:
    return web.json_response(request.app[API_KEY].sent)


async def add_faults(request: web.Request) -> web.Response:
    spec = await request.json()
    request.app[API_KEY].fail(
        int(spec["code"]),
        status=spec.get("status"),
        retry_after=spec.get("retry_after"),
        times=int(spec.get("times", 1)),
    )
    return web.json_response({"queued": len(request.app[API_KEY].faults)})


async def clear_faults(request: web.Request) -> web.Response:
    request.app[API_KEY].faults.clear()
    return web.json_response({"queued": 0})


def make_app(api: FakeGraphApi | None = None) -> web.Application:
    app = web.Application(middlewares=[check_token], client_max_size=128 * 1024 * 1024)
    app[API_KEY] = api or FakeGraphApi()
    app.router.add_post("/fake/media", upload)
    app.router.add_get("/fake/messages", list_sent)
    app.router.add_post("/fake/faults", add_faults)
    app.router.add_delete("/fake/faults", clear_faults)
    app.router.add_get("/whatsapp_business/attachments/", media_download)
    app.router.add_get("/{version}/{media_id}", media_info)
    app.router.add_post("/{version}/{phone_id}/messages", send_message)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake WhatsApp Cloud API (Graph API)")
    parser.add_argument("--listen", default="127.0.0.1:8092")
    parser.add_argument("--access-token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    host, port = parse_listen(args.listen)
    print(f"fake Graph API on http://{host}:{port}/v21.0 (token {args.access_token!r})")
    web.run_app(make_app(FakeGraphApi(args.access_token)), host=host, port=port, print=None)


if __name__ == "__main__":
    main()

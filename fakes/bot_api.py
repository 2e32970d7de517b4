"""A local fake of Telegram's Bot API for tests and operator training (bimtek).

    python -m fakes.bot_api --listen 127.0.0.1:8092 --token 123456789:FAKE-bot-token

It answers `/bot<token>/<method>` (POST with JSON or form, or GET with a query) the way the
Bot API does, `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}`, and 401 "Unauthorized" for any other token:
  getUpdates   offset (confirms and forgets every update before it), limit, timeout (long
               polling: waits for an update that long); 409 while a webhook is set
  sendMessage  chat_id, text, reply_parameters -> a Message; recorded
  getFile      file_id -> a File with file_path; "file is too big" over 20 MB
  setWebhook   url, secret_token: updates are then POSTed there (secret in
               X-Telegram-Bot-Api-Secret-Token), again after a failure, like Telegram
  deleteWebhook, getWebhookInfo, getMe
and serves files at `/file/bot<token>/<file_path>`.

Not part of Telegram, for tests and trainers:
  POST   /fake/updates   an Update object (update_id is assigned when missing), or
                         {"text", "chat_id", "first_name", "username"} for a private message
  POST   /fake/files     the raw bytes of a file -> {"file_id", "file_size"} for an Update
  GET    /fake/sent      the messages sent with sendMessage
  GET    /fake/requests  the method calls received (method, params, status), oldest first
  POST   /fake/faults    {"method", "status", "description", "retry_after", "times"}: the
                         next calls of `method` (any method when absent) fail like that
  DELETE /fake/faults    clear them
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from gateway.config_base import parse_listen

DEFAULT_TOKEN = "123456789:FAKE-bot-token-for-training"
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile serves files up to this size
DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass
class Fault:
    status: int
    method: str | None = None
    description: str | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


@dataclass
class FakeBotApi:
    token: str = DEFAULT_TOKEN
    bot_username: str = "LaporDaerahBot"
    updates: list[dict[str, Any]] = field(default_factory=list)  # not yet confirmed
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str = ""
    _next_update: itertools.count[int] = field(default_factory=lambda: itertools.count(10000))
    _next_message: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _news: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def bot_id(self) -> int:
        return int(self.token.partition(":")[0])

    # --- for tests and trainers ------------------------------------------------------

    def add_update(self, update: dict[str, Any]) -> dict[str, Any]:
        update = dict(update)
        update.setdefault("update_id", next(self._next_update))
        self.updates.append(update)
        self._news.set()
        return update

    def text_message(
        self, text: str, chat_id: int = 700100200, first_name: str = "Siti", username: str = ""
    ) -> dict[str, Any]:
        person: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if username:
            person["username"] = username
        chat = {k: v for k, v in person.items() if k != "is_bot"} | {"type": "private"}
        return self.add_update(
            {
                "message": {
                    "message_id": next(self._next_message),
                    "from": person | {"language_code": "id"},
                    "chat": chat,
                    "date": int(time.time()),
                    "text": text,
                }
            }
        )

    def add_file(
        self, data: bytes, *, file_id: str | None = None, file_path: str | None = None
    ) -> StoredFile:
        file_id = file_id or "BQACAgUAAxkBAAI" + secrets.token_urlsafe(24)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id="AgAD" + secrets.token_urlsafe(8),
            file_path=file_path or f"documents/file_{len(self.files)}",
            data=data,
        )
        self.files[file_id] = stored
        return stored

    # --- the Bot API -----------------------------------------------------------------

    def _fault(self, method: str) -> web.Response | None:
        for fault in self.faults:
            if fault.method in (None, method):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                template = fault.description or DESCRIPTIONS.get(fault.status, "Error")
                parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                return failure(
                    fault.status, template.format(retry_after=fault.retry_after), parameters
                )
        return None

    async def call(self, method: str, params: dict[str, Any]) -> web.Response:
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return failure(404, "Not Found")
        return await handler(params)

    async def m_getMe(self, _: dict[str, Any]) -> web.Response:
        return ok(
            {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "LAPOR! Daerah",
                "username": self.bot_username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    async def m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook_url:
            return failure(409, WEBHOOK_CONFLICT)
        offset = _int(params.get("offset"), 0)
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = min(max(_int(params.get("timeout"), 0), 0), 50)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self.updates and time.monotonic() < deadline:
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), deadline - time.monotonic())
            if self.webhook_url:
                return failure(409, WEBHOOK_CONFLICT)
        return ok(self.updates[:limit])

    async def m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id in (None, "") or not isinstance(text, str):
            return failure(400, "Bad Request: message text is empty")
        if not text.strip():
            return failure(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return failure(400, "Bad Request: message is too long")
        chat = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
        message: dict[str, Any] = {
            "message_id": next(self._next_message),
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "LAPOR! Daerah",
                "username": self.bot_username,
            },
            "chat": {
                "id": chat,
                "type": "private" if isinstance(chat, int) and chat > 0 else "group",
            },
            "date": int(time.time()),
            "text": text,
        }
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        self.sent.append({**message, "reply_parameters": reply})
        return ok(message)

    async def m_getFile(self, params: dict[str, Any]) -> web.Response:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            return failure(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            return failure(400, "Bad Request: file is too big")
        return ok(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "file_path": stored.file_path,
            }
        )

    async def m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        url = str(params.get("url") or "")
        self.webhook_url, self.webhook_secret = url, str(params.get("secret_token") or "")
        self._news.set()
        return ok(True, "Webhook was set" if url else "Webhook was deleted")

    async def m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        if _bool(params.get("drop_pending_updates")):
            self.updates.clear()
        self.webhook_url = self.webhook_secret = ""
        return ok(True, "Webhook was deleted")

    async def m_getWebhookInfo(self, _: dict[str, Any]) -> web.Response:
        return ok({"url": self.webhook_url, "pending_update_count": len(self.updates)})

    async def deliver(self) -> None:
        """While a webhook is set, POST the updates to it in order, like Telegram: one at a
        time, the next only after a 2xx, a failed one again after a pause."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            while True:
                if not (self.webhook_url and self.updates):
                    self._news.clear()
                    await self._news.wait()
                    continue
                update = self.updates[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret}
                try:
                    async with http.post(self.webhook_url, json=update, headers=headers) as resp:
                        delivered = 200 <= resp.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    delivered = False
                if delivered:
                    with contextlib.suppress(ValueError):
                        self.updates.remove(update)
                else:
                    await asyncio.sleep(1.0)


def ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def failure(
    status: int, description: str, parameters: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


API_KEY = web.AppKey("bot_api", FakeBotApi)


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST":
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
        else:
            params.update(await request.post())
    return params


async def method_view(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    method = request.match_info["method"]
    entry: dict[str, Any] = {"method": method}
    api.requests.append(entry)
    if request.match_info["token"] != api.token:
        entry["status"] = 401
        return failure(401, "Unauthorized")
    try:
        params = await _params(request)
    except ValueError:
        entry["status"] = 400
        return failure(400, "Bad Request: can't parse JSON")
    entry["params"] = params
    resp = api._fault(method) or await api.call(method, params)
    entry["status"] = resp.status
    return resp


async def file_view(request: web.Request) -> web.StreamResponse:
    api = request.app[API_KEY]
    if request.match_info["token"] != api.token:
        return failure(401, "Unauthorized")
    path = request.match_info["path"]
    for stored in api.files.values():
        if stored.file_path == path:
            return web.Response(body=stored.data, content_type="application/octet-stream")
    return failure(404, "Not Found")


async def add_update_view(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    body = await request.json()
    if "text" in body and "message" not in body:
        update = api.text_message(
            str(body["text"]),
            chat_id=_int(body.get("chat_id"), 700100200),
            first_name=str(body.get("first_name") or "Siti"),
            username=str(body.get("username") or ""),
        )
    else:
        update = api.add_update(body)
    return web.json_response(update)


async def add_file_view(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    stored = api.add_file(await request.read())
    return web.json_response({"file_id": stored.file_id, "file_size": len(stored.data)})


async def faults_view(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    if request.method == "DELETE":
        api.faults.clear()
        return web.json_response({"faults": 0})
    spec = await request.json()
    api.faults.append(
        Fault(
            status=int(spec["status"]),
            method=spec.get("method"),
            description=spec.get("description"),
            retry_after=spec.get("retry_after"),
            times=int(spec.get("times", 1)),
        )
    )
    return web.json_response({"faults": len(api.faults)})


async def sent_view(request: web.Request) -> web.Response:
    return web.json_response(request.app[API_KEY].sent)


async def requests_view(request: web.Request) -> web.Response:
    return web.json_response(request.app[API_KEY].requests)


def make_app(api: FakeBotApi) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[API_KEY] = api

    async def delivery(app: web.Application) -> Any:
        task = asyncio.create_task(api.deliver())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(delivery)
    app.router.add_route("*", "/bot{token}/{method}", method_view)
    app.router.add_get("/file/bot{token}/{path:.+}", file_view)
    app.router.add_post("/fake/updates", add_update_view)
    app.router.add_post("/fake/files", add_file_view)
    app.router.add_get("/fake/sent", sent_view)
    app.router.add_get("/fake/requests", requests_view)
    app.router.add_route("POST", "/fake/faults", faults_view)
    app.router.add_route("DELETE", "/fake/faults", faults_view)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:8092", help="HOST:PORT")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot token it accepts")
    args = parser.parse_args(argv)
    host, port = parse_listen(args.listen)
    print(f"fake Bot API on http://{host}:{port} (bot token {args.token!r})", flush=True)
    web.run_app(make_app(FakeBotApi(token=args.token)), host=host, port=port, print=None)


if __name__ == "__main__":
    main()

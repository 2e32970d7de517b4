"""POST /webhooks/telegram: Telegram delivers one Update per request.

Telegram sends setWebhook's secret_token in X-Telegram-Bot-Api-Secret-Token; a request
without it (or with another) gets 403 and a `bad_signature` event. The 200 comes only after
the update's transaction committed; StoreUnavailable becomes 503 with Retry-After (error
middleware), and Telegram delivers the update again later. A body that is not an Update
gets 400 and a `malformed_update` event: retrying it would not make it one.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from channels.telegram.config import TelegramConfig
from channels.telegram.receive import MALFORMED, TelegramReceiver
from gateway.http_common import json_error, secret_matches

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/webhooks/telegram"


class TelegramWebhook:
    """The route, and a service only so that the file downloads' session is closed at stop."""

    name = "telegram-webhook"

    def __init__(self, cfg: TelegramConfig, receiver: TelegramReceiver):
        self.secret = (cfg.secret_token or "").encode()
        self.receiver = receiver

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.receiver.api.close()

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret_matches(given, self.secret):
            why = f"{'missing' if not given else 'wrong'} {SECRET_HEADER}"
            log.warning("telegram webhook refused", extra={"why": why})
            await self.receiver.record("rejected", "bad_signature", None, None, detail={"why": why})
            return json_error(
                403, "bad_signature", "Token rahasia tidak sah.", f"Forbidden: {why}."
            )
        body = await request.read()
        try:
            update = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            await self.receiver.record(
                "rejected", "malformed_update", None, None, detail={"problem": "not JSON"}
            )
            return json_error(
                400, "malformed_update", "Isi kiriman bukan JSON.", "Body is not JSON."
            )
        outcome = await self.receiver.receive(update)
        if outcome == MALFORMED:  # logged; retrying would not make it an Update
            return json_error(
                400, "malformed_update", "Isi kiriman bukan Update Telegram.", "Not an Update."
            )
        return web.json_response({"ok": True})

"""Replies by sendMessage: receipt, help text and status notices, as the outbox hands them.

Telegram's errors are handled by kind: 429 waits its `retry_after` (the outbox honours
SendResult.retry_after), 403 (the citizen blocked the bot, or left the group) is final and
shown to operators, 401 (a bad token) marks the channel unhealthy and keeps the reply for
after the token is fixed; 5xx and network errors are retried with the outbox's backoff.
"""

from __future__ import annotations

from channels.telegram.client import BotApi, BotApiError
from channels.telegram.receive import CHANNEL, TOKEN_REFUSED
from gateway.runtime import Reply, Runtime, SendResult

# The Bot API refuses longer texts.
MAX_TEXT = 4096


class TelegramSender:
    """A reply sender, and a service only so that its HTTP session is closed at stop."""

    name = "telegram-sender"

    def __init__(self, rt: Runtime, api: BotApi):
        self.rt = rt
        self.api = api
        self._token_refused = False

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.api.close()

    async def send(self, reply: Reply) -> SendResult:
        chat_id = reply.recipient.strip()
        if not chat_id.lstrip("-").isdigit():
            return SendResult(ok=False, error="recipient is not a Telegram chat id", retry=False)
        try:
            result = await self.api.send_message(
                chat_id, reply.text[:MAX_TEXT], _message_id(reply.in_reply_to)
            )
        except BotApiError as e:
            return self._failed(e)
        if self._token_refused:  # the token works again (a restart after the fix)
            self._token_refused = False
            self.rt.health.set(CHANNEL, True, "balasan terkirim lagi")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return SendResult(ok=True, external_id=f"{chat_id}:{message_id}" if message_id else None)

    def _failed(self, e: BotApiError) -> SendResult:
        error = f"telegram {e.status or e.kind}: {e.description}"
        match e.kind:
            case "rate_limited":
                return SendResult(ok=False, error=error, retry_after=e.retry_after)
            case "forbidden":
                return SendResult(ok=False, error=f"blocked by the user: {error}", retry=False)
            case "unauthorized":  # kept for after the token is fixed (outbox retry)
                self._token_refused = True
                self.rt.health.set(CHANNEL, False, TOKEN_REFUSED)
                return SendResult(ok=False, error=error)
            case "bad_request" | "not_found":  # chat not found, text refused: final
                return SendResult(ok=False, error=error, retry=False)
            case _:
                return SendResult(ok=False, error=error)


def _message_id(in_reply_to: str | None) -> int | None:
    """Our external id is chat_id:message_id; the reply quotes that message."""
    tail = (in_reply_to or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None

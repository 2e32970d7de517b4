"""Replies on WhatsApp: POST {graph_base_url}/{phone_number_id}/messages.

Free text is allowed only within 24 hours of the citizen's last message to us (Meta's
customer-service window); after that, only an approved template. So a reply whose citizen
last wrote more than 24 hours ago goes as `reply_template` (its one body parameter is the
reply text); without one configured it is given up with a reason the operators can act on.
At most `replies_per_number_per_hour` replies go to one number (counted in the outbox,
like SMS): another business's auto-reply can never loop with ours.

Graph errors by kind: 131047 (window closed after all) -> the template; 130429 / HTTP 429
-> later, after the wait Meta asks for; 190 (token refused) -> not retried, and the
channel's health turns bad until a send succeeds again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.graph import BAD_TOKEN_DETAIL, HEALTH, REENGAGEMENT, GraphApi, GraphError
from gateway.outbox import replies_sent_last_hour
from gateway.runtime import Reply, Runtime, SendResult
from gateway.store.models import InboundMessage, utcnow

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
MAX_TEXT_CHARS = 4096  # Meta's limit for a text message body
MAX_PARAMETER_CHARS = 1024
RATE_LIMIT_WAIT_S = 60.0  # when Meta says "too many" without saying how long
NO_TEMPLATE = "outside the 24-hour window and no reply_template is configured"


class WhatsAppSender:
    """A reply sender, and a service so its HTTP session is closed at stop."""

    name = "whatsapp-sender"

    def __init__(self, rt: Runtime, config: WhatsAppConfig, graph: GraphApi):
        self.rt = rt
        self.config = config
        self.graph = graph

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.graph.close()

    async def send(self, reply: Reply) -> SendResult:
        number = reply.recipient.strip()
        if not (number.startswith("+") and number[1:].isdigit()):
            return SendResult(ok=False, error="recipient is not a phone number", retry=False)
        if await self._over_limit(number):
            return SendResult(
                ok=False,
                error=f"rate_limited: {self.config.replies_per_number_per_hour} replies "
                "per number per hour already sent",
                retry=False,
            )
        if await self._window_open(number):
            result = await self._send(self._text(number, reply.text))
            if not (isinstance(result, GraphError) and result.code == REENGAGEMENT):
                return self._outcome(result)
        if not self.config.reply_template:
            return SendResult(ok=False, error=NO_TEMPLATE, retry=False)
        return self._outcome(await self._send(self._template(number, reply.text)))

    async def _over_limit(self, number: str) -> bool:
        sent = await replies_sent_last_hour(self.rt.store, "whatsapp", number)
        return sent >= self.config.replies_per_number_per_hour

    async def _window_open(self, number: str) -> bool:
        """Whether the citizen wrote to us within the last 24 hours."""
        async with self.rt.store.reader() as session:
            last = await session.scalar(
                select(func.max(InboundMessage.received_at)).where(
                    InboundMessage.channel == "whatsapp", InboundMessage.sender == number
                )
            )
        return last is not None and utcnow() - last < WINDOW

    async def _send(self, message: dict[str, Any]) -> str | GraphError:
        try:
            return await self.graph.send(message)
        except GraphError as e:
            return e

    def _outcome(self, result: str | GraphError) -> SendResult:
        if isinstance(result, str):
            self.rt.health.set(HEALTH, True, "balasan terkirim")
            return SendResult(ok=True, external_id=result)
        if result.bad_token:
            self.rt.health.set(HEALTH, False, BAD_TOKEN_DETAIL)
            log.error("WhatsApp token refused", extra={"error": str(result)})
            return SendResult(ok=False, error=f"bad_token: {result}", retry=False)
        if result.rate_limited:
            wait = result.retry_after or RATE_LIMIT_WAIT_S
            return SendResult(
                ok=False, error=f"rate_limited: {result}", retry=True, retry_after=wait
            )
        return SendResult(ok=False, error=str(result), retry=result.retryable)

    @staticmethod
    def _text(number: str, text: str) -> dict[str, Any]:
        return {
            "recipient_type": "individual",
            "to": number,
            "type": "text",
            "text": {"preview_url": False, "body": text[:MAX_TEXT_CHARS]},
        }

    def _template(self, number: str, text: str) -> dict[str, Any]:
        # Template parameters may not hold newlines, tabs or runs of spaces.
        parameter = " ".join(text.split())[:MAX_PARAMETER_CHARS]
        return {
            "to": number,
            "type": "template",
            "template": {
                "name": self.config.reply_template,
                "language": {"code": self.config.reply_template_language},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": parameter}]}
                ],
            },
        }

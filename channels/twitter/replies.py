"""The send side: answer a citizen's tweet with the tracking number (user context needed).

The outbox hands us a Reply whose `in_reply_to` is the citizen's tweet id; the text comes
from the region's reply templates and carries no personal data.
"""

from __future__ import annotations

from channels.twitter.client import ApiFault, TwitterApi
from gateway.runtime import Reply, SendResult

MAX_TWEET_CHARS = 280


class TweetReplies:
    """A reply sender with a lifecycle, so its HTTP session closes when the gateway stops."""

    name = "twitter-replies"

    def __init__(self, api: TwitterApi):
        self.api = api

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.api.close()

    async def send(self, reply: Reply) -> SendResult:
        if not reply.in_reply_to or not reply.in_reply_to.isdigit():
            return SendResult(False, error="no tweet id to answer", retry=False)
        text = reply.text if len(reply.text) <= MAX_TWEET_CHARS else reply.text[:279] + "…"
        try:
            tweet_id = await self.api.reply(reply.in_reply_to, text)
        except ApiFault as fault:
            # 400 (tweet deleted, duplicate text) will not get better by retrying.
            return SendResult(
                False, error=f"{fault.kind}: {fault.detail}", retry=fault.kind != "client"
            )
        return SendResult(True, external_id=tweet_id)

"""Twitter/X channel: the #hashtag watch (poller) and replies to tweets (sender)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # gateway.settings imports channels.twitter.config: no import cycle here
    from gateway.runtime import Runtime


def register(rt: Runtime) -> None:
    cfg = rt.settings.channels.twitter
    if not cfg.enabled:
        return
    from channels.twitter.client import TwitterApi
    from channels.twitter.poller import TwitterPoller
    from channels.twitter.replies import TweetReplies

    rt.add_service(TwitterPoller(rt, TwitterApi(cfg), cfg))
    if cfg.reply_enabled:
        replies = TweetReplies(TwitterApi(cfg))
        rt.add_service(replies)
        rt.add_sender("twitter", replies.send)

"""The X API v2 client: tweepy's AsyncClient, pointed at `api_base_url`, with one error type.

tweepy 4.17 builds every URL as "https://api.twitter.com" + route and sends it with
`self.session.request(method, url, params=, json=, headers=)`, using its `session`
attribute when one is set. `RebasedSession` is that session: it swaps the origin for the
configured base URL and hands the request to a real aiohttp session. Nothing of tweepy is
patched; OAuth 1.0a signatures are still computed over X's canonical URL, as a proxy in
front of X expects.

Every failure comes out as `ApiFault` with a kind the poller acts on: `rate_limited`
(wait for the reset), `auth` (unhealthy, an operator must act), `server` / `network` /
`bad_response` / `client` (back off and try again).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any, Literal

import aiohttp
from tweepy import errors as tweepy_errors
from tweepy.asynchronous import AsyncClient
from yarl import URL

from channels.twitter.config import TwitterConfig

TWEEPY_ORIGIN = "https://api.twitter.com"

# tweepy logs each request's headers, bearer token included, at DEBUG: keep it out of logs.
logging.getLogger("tweepy").setLevel(logging.INFO)

EXPANSIONS = ["author_id", "attachments.media_keys", "referenced_tweets.id"]
TWEET_FIELDS = [
    "created_at",
    "conversation_id",
    "referenced_tweets",
    "geo",
    "entities",
    "author_id",
    "in_reply_to_user_id",
    "attachments",
    # Posts over 280 characters: `text` is cut there, the whole post is in note_tweet.
    "note_tweet",
]
USER_FIELDS = ["username", "name"]
MEDIA_FIELDS = ["url", "preview_image_url", "type"]

FaultKind = Literal["rate_limited", "auth", "server", "network", "bad_response", "client"]


class ApiFault(Exception):
    """A request to X failed. `detail` never holds tweet text or user data."""

    def __init__(
        self,
        kind: FaultKind,
        detail: str,
        *,
        status: int | None = None,
        reset_at: float | None = None,
    ):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.reset_at = reset_at  # epoch seconds, for rate_limited


class RebasedSession:
    """Stands in for tweepy's aiohttp session and sends every request to `base_url`."""

    def __init__(self, base_url: str, *, timeout_s: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None  # made on first use, in the loop

    def rebase(self, url: str | URL) -> URL:
        encoded = str(url)  # yarl renders the encoded form, which must stay as signed
        if not encoded.startswith(TWEEPY_ORIGIN + "/"):
            raise ValueError(f"unexpected URL from tweepy: {encoded[:80]!r}")
        return URL(self.base_url + encoded[len(TWEEPY_ORIGIN) :], encoded=True)

    def request(self, method: str, url: str | URL, **kwargs: Any) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session.request(method, self.rebase(url), **kwargs)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class TwitterApi:
    """The two calls the channel makes: recent search and a reply."""

    def __init__(self, cfg: TwitterConfig):
        self.cfg = cfg
        self.session = RebasedSession(cfg.api_base_url, timeout_s=cfg.request_timeout_s)
        creds = cfg.reply_credentials or (None, None, None, None)
        self.client = AsyncClient(
            bearer_token=cfg.bearer_token,
            consumer_key=creds[0],
            consumer_secret=creds[1],
            access_token=creds[2],
            access_token_secret=creds[3],
            return_type=dict,
        )
        self.client.session = self.session

    async def search(
        self,
        query: str,
        *,
        since_id: str | None = None,
        start_time: datetime | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """One page of recent search, as X's JSON. Raises ApiFault."""
        body = await self._call(
            self.client.search_recent_tweets(
                query,
                since_id=since_id,
                start_time=None if since_id else start_time,
                next_token=next_token,
                max_results=self.cfg.max_results,
                expansions=EXPANSIONS,
                tweet_fields=TWEET_FIELDS,
                user_fields=USER_FIELDS,
                media_fields=MEDIA_FIELDS,
            )
        )
        if not isinstance(body, dict):
            raise ApiFault("bad_response", f"answer is JSON {type(body).__name__}, not an object")
        return body

    async def reply(self, tweet_id: str, text: str) -> str:
        """Post `text` as a reply to `tweet_id` (user context); returns the new tweet's id."""
        if self.cfg.reply_credentials is None:
            raise ApiFault("auth", "no user-context credentials (consumer/access tokens)")
        body = await self._call(
            self.client.create_tweet(text=text, in_reply_to_tweet_id=tweet_id, user_auth=True)
        )
        try:
            return str(body["data"]["id"])
        except (KeyError, TypeError):
            raise ApiFault("bad_response", "reply answer has no data.id") from None

    async def close(self) -> None:
        await self.session.close()

    @staticmethod
    async def _call(request: Any) -> Any:
        try:
            return await request
        except tweepy_errors.TooManyRequests as e:
            raise ApiFault(
                "rate_limited", "429 Too Many Requests", status=429, reset_at=e.reset_time
            ) from None
        except (tweepy_errors.Unauthorized, tweepy_errors.Forbidden) as e:
            raise ApiFault("auth", _tweepy_detail(e), status=e.response.status) from None
        except tweepy_errors.TwitterServerError as e:
            raise ApiFault("server", _tweepy_detail(e), status=e.response.status) from None
        except tweepy_errors.HTTPException as e:
            raise ApiFault("client", _tweepy_detail(e), status=e.response.status) from None
        except aiohttp.ContentTypeError as e:
            # tweepy reads every answer as JSON; an HTML error page ends up here.
            raise _non_json_fault(e) from None
        except json.JSONDecodeError as e:
            raise ApiFault("bad_response", f"invalid JSON at position {e.pos}") from None
        except TimeoutError:
            raise ApiFault("network", "timeout") from None
        except (aiohttp.ClientError, OSError) as e:
            raise ApiFault("network", f"{type(e).__name__}: {e}"[:200]) from None


def _tweepy_detail(e: tweepy_errors.HTTPException) -> str:
    head = f"{e.response.status} {e.response.reason}"
    messages = "; ".join(e.api_messages)[:200]
    return f"{head}: {messages}" if messages else head


def _non_json_fault(e: aiohttp.ContentTypeError) -> ApiFault:
    status = e.status
    detail = f"{status}, not JSON ({(e.headers or {}).get('Content-Type', 'no content type')})"
    if status == 429:
        reset = (e.headers or {}).get("x-rate-limit-reset", "")
        reset_at = float(reset) if reset.isdigit() else time.time() + 60
        return ApiFault("rate_limited", detail, status=status, reset_at=reset_at)
    if status in (401, 403):
        return ApiFault("auth", detail, status=status)
    if status >= 500:
        return ApiFault("server", detail, status=status)
    if 200 <= status < 300:
        return ApiFault("bad_response", detail, status=status)
    return ApiFault("client", detail, status=status)

"""X API v2 search pages -> tweets with their includes -> RawMessage, or a reason to skip.

Pure functions: no I/O. A page is checked for shape before anything is taken from it; a
page that is not a search result (only `errors`, no `meta`) is refused as a whole, so the
poller retries it instead of moving its cursor past tweets it never saw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from normalizer.types import Attachment, Channel, RawMessage

MANUAL_RETWEET = re.compile(r"^\s*RT\s+@\w+\s*:", re.IGNORECASE)
IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


class BadPage(ValueError):
    """The answer is not a recent-search result; nothing in it may be trusted."""


@dataclass(frozen=True)
class Page:
    tweets: list[dict[str, Any]]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    referenced: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_token: str | None = None
    # Partial errors X reports beside the data (a deleted author, a hidden quoted tweet).
    partial_errors: int = 0
    malformed: int = 0  # tweets without a usable id: cannot be stored, only counted


@dataclass(frozen=True)
class Found:
    """A tweet and what its page included about it."""

    tweet: dict[str, Any]
    page: Page

    @property
    def id(self) -> str:
        return str(self.tweet["id"])

    @property
    def user(self) -> dict[str, Any] | None:
        return self.page.users.get(str(self.tweet.get("author_id")))


@dataclass(frozen=True)
class Skip:
    reason: str  # retweet | own_account | reply_to_our_reply
    detail: dict[str, Any] = field(default_factory=dict)


def parse_page(body: object) -> Page:
    if not isinstance(body, Mapping):
        raise BadPage(f"answer is {type(body).__name__}, not a JSON object")
    meta = body.get("meta")
    if not isinstance(meta, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0] if isinstance(errors[0], Mapping) else {}
            title = str(first.get("title") or first.get("message") or "error")[:120]
            raise BadPage(f"answer has only errors ({len(errors)}): {title}")
        raise BadPage("answer has no meta")
    data = body.get("data", [])
    if not isinstance(data, list):
        raise BadPage("data is not a list")
    includes = body.get("includes") if isinstance(body.get("includes"), Mapping) else {}
    tweets, malformed = [], 0
    for tweet in data:
        # ASCII digits only: "²" is a digit to str.isdigit but not to int().
        tweet_id = str(tweet.get("id", "")) if isinstance(tweet, Mapping) else ""
        if tweet_id.isascii() and tweet_id.isdigit():
            tweets.append(dict(tweet))
        else:
            malformed += 1
    next_token = meta.get("next_token")
    return Page(
        tweets=tweets,
        users=_by_key(includes.get("users"), "id"),
        media=_by_key(includes.get("media"), "media_key"),
        referenced=_by_key(includes.get("tweets"), "id"),
        next_token=str(next_token) if next_token else None,
        partial_errors=len(body["errors"]) if isinstance(body.get("errors"), list) else 0,
        malformed=malformed,
    )


def _by_key(items: object, key: str) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(i[key]): dict(i) for i in items if isinstance(i, Mapping) and key in i}


def skip_reason(found: Found, own_user_id: str | None) -> Skip | None:
    """Tweets that are not complaints: ours, retweets, and answers to our replies."""
    tweet = found.tweet
    refs = _refs(tweet)
    if own_user_id and str(tweet.get("author_id")) == own_user_id:
        return Skip("own_account")
    if "retweeted" in refs:
        return Skip("retweet", {"retweet_of": refs["retweeted"]})
    if MANUAL_RETWEET.match(str(tweet.get("text", ""))):
        return Skip("retweet", {"style": "manual"})
    if own_user_id and "replied_to" in refs:
        parent = found.page.referenced.get(refs["replied_to"], {})
        if own_user_id in (str(tweet.get("in_reply_to_user_id")), str(parent.get("author_id"))):
            return Skip("reply_to_our_reply", {"replied_to": refs["replied_to"]})
    return None


def _refs(tweet: Mapping[str, Any]) -> dict[str, str]:
    refs = tweet.get("referenced_tweets")
    if not isinstance(refs, list):
        return {}
    return {str(r.get("type")): str(r.get("id")) for r in refs if isinstance(r, Mapping)}


def own_text(tweet: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]], bool]:
    """(text, hashtag entities, long post?) of what the citizen wrote.

    A post over 280 characters (X Premium) comes with `text` cut at 280 and its entities
    counted on that cut; the whole text and its entities are in `note_tweet`, when
    `tweet.fields` asks for it. Only the whole text routes a post whose hashtag is in the tail.
    """
    note = tweet.get("note_tweet")
    if isinstance(note, Mapping) and isinstance(note.get("text"), str) and note["text"]:
        source: Mapping[str, Any] = note
        long_post = True
    else:
        source, long_post = tweet, False
    entities = source.get("entities") if isinstance(source.get("entities"), Mapping) else {}
    hashtags = [h for h in entities.get("hashtags", ()) if isinstance(h, Mapping) and "tag" in h]
    return str(source.get("text") or ""), [dict(h) for h in hashtags], long_post


def to_raw(found: Found, watched: frozenset[str], *, now: datetime | None = None) -> RawMessage:
    """The tweet as intake sees it. Routing and cleanup are the normalizer's job.

    The complaint is the citizen's own text: a quoted post (someone else's words, maybe
    someone else's data) and the post a reply answers stay out of it, so their hashtags
    never route it. The quoted post is kept in meta for the operator.
    """
    tweet = found.tweet
    user = found.user
    author_id = str(tweet.get("author_id") or "")
    text, hashtags, long_post = own_text(tweet)
    meta: dict[str, Any] = {
        "hashtags": hashtags,
        "user_id": author_id or None,
        "conversation_id": tweet.get("conversation_id"),
        "tweet": tweet,
    }
    if long_post:
        meta["long_post"] = True
    if user is not None:
        meta["username"] = user.get("username")
    else:
        meta["author_missing"] = True  # deleted or suspended account: X left it out
    if tweet.get("geo"):
        meta["geo"] = tweet["geo"]
    refs = _refs(tweet)
    if "replied_to" in refs:
        meta["replied_to"] = refs["replied_to"]
    quoted_id = refs.get("quoted")
    if quoted_id:
        quoted = found.page.referenced.get(quoted_id)
        meta["quoted"] = {"id": quoted_id, "available": quoted is not None}
        if quoted is not None:
            handle = found.page.users.get(str(quoted.get("author_id")), {}).get("username")
            meta["quoted"] |= {
                "author_id": quoted.get("author_id"),
                "username": handle,
                "text": own_text(quoted)[0],
            }
    tags = [str(h["tag"]).lower() for h in hashtags]
    recipient = next((f"#{t}" for t in tags if t in watched), "x:search")
    return RawMessage(
        channel=Channel.TWITTER,
        external_id=found.id,
        sender=f"@{meta['username']}" if meta.get("username") else f"x-user:{author_id}",
        recipient=recipient,
        text=text,
        received_at=_created_at(tweet, now),
        attachments=_attachments(tweet, found.page),
        meta=meta,
        sender_name=(user or {}).get("name"),
    )


def _created_at(tweet: Mapping[str, Any], now: datetime | None) -> datetime:
    value = tweet.get("created_at")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
        except ValueError:
            pass
    return now or datetime.now(UTC)


def _attachments(tweet: Mapping[str, Any], page: Page) -> tuple[Attachment, ...]:
    attachments = tweet.get("attachments")
    keys = attachments.get("media_keys", ()) if isinstance(attachments, Mapping) else ()
    out = []
    for key in keys:
        media = page.media.get(str(key))
        if media is None:
            continue
        # Photos have `url`; for videos and GIFs X gives a preview image, not the file.
        url = media.get("url") or media.get("preview_image_url")
        if not isinstance(url, str) or not url:
            continue
        ext = "." + url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else ""
        out.append(
            Attachment(
                filename=f"{key}{ext if ext in IMAGE_TYPES else '.jpg'}",
                content_type=IMAGE_TYPES.get(ext, "image/jpeg"),
                size=0,
                url=url,
            )
        )
    return tuple(out)

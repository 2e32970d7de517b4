"""A local fake of X API v2 for tests and operator training (bimtek).

    python -m fakes.x_api --listen 127.0.0.1:8091 --bearer-token fake-token

It serves `GET /2/tweets/search/recent` with the shapes of X's documentation (data,
includes.users / includes.media / includes.tweets, meta with newest_id, oldest_id,
result_count, next_token), checks the bearer token, evaluates the query (hashtags, OR,
parentheses, negation, is:retweet / is:reply / is:quote, from:, plain words), since_id,
until_id, start_time, end_time, max_results and pagination, and counts a rate-limit window
with X's x-rate-limit-* headers. A post over 280 characters is a long post as on X: `text`
is cut at 280 (weighted: emoji count 2) and the whole post with its entities is in
`note_tweet`, returned only when tweet.fields asks for it. `POST /2/tweets` takes replies
(OAuth 1.0a user context only, like X) and records them.

Not part of X, for tests and trainers:
  GET  /                    a page in Indonesian: post a tweet, see tweets and replies
  POST /fake/tweets         {"text", "username", "name", "user_id", "media": [{"type"}],
                             "retweet_of", "quote_of", "reply_to", "geo"} -> the new tweet
  GET  /fake/tweets         every tweet, all fields
  GET  /fake/replies        the tweets posted through POST /2/tweets
  DELETE /fake/users/{id}   the account is gone: its tweets stay, its user object does not
  POST /fake/faults         queue faults for the next searches: {"status", "body":
                             json|html|invalid_json|errors_only|no_includes, "reset_in_s",
                             "delay_s", "page": 1 (first page) | 2 (follow-up pages),
                             "times"}; status 200 with json / no_includes answers normally
                             (after delay_s, without includes)
  DELETE /fake/faults       clear them
  GET  /fake/requests       the searches received (params, status, page), oldest first
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import html
import itertools
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.config_base import parse_listen

TWEPOCH_MS = 1288834974657  # X's snowflake epoch
DEFAULT_TOKEN = "fake-bearer-token"
RATE_WINDOW_S = 15 * 60
MAX_QUERY_CHARS = 512
# A post longer than this (X's weighted count) is a long post: `text` is cut here and the
# whole post goes to `note_tweet`, which X returns only when tweet.fields asks for it.
MAX_TEXT_WEIGHT = 280
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER_FIELDS = ("id", "name", "username")
DEFAULT_MEDIA_FIELDS = ("media_key", "type")

HASHTAG_RE = re.compile(r"(?<![\w&])[#＃](\w+)")
MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,15})")
URL_RE = re.compile(r"https?://\S+")
TCO_ALPHABET = string.ascii_letters + string.digits  # t.co ids are 10 alphanumerics
TOKEN_RE = re.compile(r'\(|\)|-?"[^"]*"|-?[^\s()]+')

Tweet = dict[str, Any]
Predicate = Callable[[Tweet], bool]


class QueryError(ValueError):
    pass


def problem(status: int, title: str, detail: str, kind: str) -> web.Response:
    body = {
        "title": title,
        "detail": detail,
        "type": f"https://api.twitter.com/2/problems/{kind}",
        "status": status,
    }
    return web.json_response(body, status=status)


def plain_problem(status: int, title: str, headers: dict[str, str] | None = None) -> web.Response:
    """X's answer for auth and rate-limit failures: a problem of type about:blank."""
    body = {"title": title, "detail": title, "type": "about:blank", "status": status}
    return web.json_response(body, status=status, headers=headers)


def invalid_request(message: str, parameters: dict[str, list[str]]) -> web.Response:
    body = {
        "errors": [{"parameters": parameters, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    return web.json_response(body, status=400)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# --- the query language (the part of X's operators the gateway and trainers use) -----------


def compile_query(query: str) -> Predicate:
    tokens = TOKEN_RE.findall(query)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def or_expr() -> Predicate:
        parts = [and_expr()]
        while peek() == "OR":
            take()
            parts.append(and_expr())
        return parts[0] if len(parts) == 1 else lambda t: any(p(t) for p in parts)

    def and_expr() -> Predicate:
        parts = []
        while peek() not in (None, ")", "OR"):
            parts.append(unary())
        if not parts:
            raise QueryError("empty group or dangling OR")
        return parts[0] if len(parts) == 1 else lambda t: all(p(t) for p in parts)

    def unary() -> Predicate:
        token = take()
        if token == "(":
            inner = or_expr()
            if peek() != ")":
                raise QueryError("unbalanced parentheses")
            take()
            return inner
        if token.startswith("-") and len(token) > 1:
            positive = term(token[1:])
            return lambda t: not positive(t)
        return term(token)

    pred = or_expr()
    if pos != len(tokens):
        raise QueryError(f"unexpected {tokens[pos]!r}")
    return pred


def term(token: str) -> Predicate:
    if token.startswith('"'):
        phrase = token.strip('"').casefold()
        return lambda t: phrase in full_text(t).casefold()
    # Search sees the whole of a long post, not only its first 280 characters.
    if token.startswith("#"):
        tag = token[1:].casefold()
        return lambda t: any(
            h["tag"].casefold() == tag for h in full_entities(t).get("hashtags", ())
        )
    if token.startswith("@"):
        name = token[1:].casefold()
        return lambda t: any(
            m["username"].casefold() == name for m in full_entities(t).get("mentions", ())
        )
    op, colon, arg = token.partition(":")
    if colon:
        if op == "is" and arg in ("retweet", "reply", "quote"):
            kind = {"retweet": "retweeted", "reply": "replied_to", "quote": "quoted"}[arg]
            return lambda t: any(r["type"] == kind for r in t.get("referenced_tweets", ()))
        if op == "from":
            return lambda t: t["_username"].casefold() == arg.casefold()
        if op == "has" and arg == "media":
            return lambda t: bool(t.get("attachments", {}).get("media_keys"))
        if op == "lang":
            return lambda t: t.get("lang") == arg
        raise QueryError(f"unsupported operator {token!r}")
    word = token.casefold()
    return lambda t: word in re.findall(r"\w+", full_text(t).casefold())


def full_text(t: Tweet) -> str:
    return str(t.get("note_tweet", {}).get("text") or t["text"])


def full_entities(t: Tweet) -> dict[str, Any]:
    return t["note_tweet"]["entities"] if "note_tweet" in t else t["entities"]


# --- state --------------------------------------------------------------------------------


@dataclass
class Fault:
    status: int = 503
    body: str = "json"  # json | html | invalid_json | errors_only | no_includes
    reset_in_s: float = 1.0
    delay_s: float = 0.0
    page: int | None = None  # 1: first page only, 2: follow-up pages only, None: any
    times: int = 1


@dataclass
class FakeXApi:
    bearer_token: str = DEFAULT_TOKEN
    account_id: str = "1790000000000000001"
    account_username: str = "LaporAgam"
    rate_limit: int = 450  # requests per 15-minute window, as X's app-only recent search
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_users: set[str] = field(default_factory=set)
    tweets: dict[str, Tweet] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    replies: list[Tweet] = field(default_factory=list)
    _window_start: float = field(default_factory=time.time)
    _window_used: int = 0
    _user_ids: itertools.count = field(default_factory=lambda: itertools.count(1500000000))

    def __post_init__(self) -> None:
        self.user(self.account_id, self.account_username, "LAPOR! Kabupaten Agam")

    def user(self, user_id: str | None, username: str, name: str | None = None) -> str:
        for uid, u in self.users.items():
            if u["username"].casefold() == username.casefold():
                return uid
        uid = user_id or str(next(self._user_ids))
        self.users[uid] = {"id": uid, "username": username, "name": name or username}
        return uid

    def new_id(self, created_at: datetime) -> str:
        """A snowflake id: ordered by time, like X's (a back-dated tweet gets an older id)."""
        candidate = (int(created_at.timestamp() * 1000) - TWEPOCH_MS) << 22
        while str(candidate) in self.tweets:  # same millisecond: the sequence bits count up
            candidate += 1
        return str(candidate)

    def add_tweet(self, spec: dict[str, Any]) -> Tweet:
        created_at = parse_time(spec["created_at"]) if spec.get("created_at") else datetime.now(UTC)
        username = str(spec.get("username") or "warga")
        author_id = self.user(spec.get("user_id"), username, spec.get("name"))
        text = str(spec.get("text", ""))
        tweet_id = self.new_id(created_at)
        refs: list[dict[str, str]] = []
        in_reply_to_user_id = None
        if spec.get("retweet_of"):
            original = self.tweets[str(spec["retweet_of"])]
            refs.append({"type": "retweeted", "id": original["id"]})
            text = f"RT @{original['_username']}: {original['text']}"[:280]
        if spec.get("quote_of"):
            quoted = self.tweets[str(spec["quote_of"])]
            refs.append({"type": "quoted", "id": quoted["id"]})
            text = f"{text} https://x.com/{quoted['_username']}/status/{quoted['id']}"
        conversation_id = tweet_id
        if spec.get("reply_to"):
            parent = self.tweets[str(spec["reply_to"])]
            refs.append({"type": "replied_to", "id": parent["id"]})
            in_reply_to_user_id = parent["author_id"]
            conversation_id = parent["conversation_id"]
        media_keys = []
        for m in spec.get("media", ()):
            key = f"{'3' if m.get('type', 'photo') == 'photo' else '7'}_{tweet_id}{len(media_keys)}"
            self.media[key] = media_object(key, m.get("type", "photo"))
            media_keys.append(key)
        text, urls = shorten_urls(text, media_keys)
        shown = cut_long_post(text)
        tweet: Tweet = {
            "id": tweet_id,
            "text": shown,
            "edit_history_tweet_ids": [tweet_id],
            "author_id": author_id,
            "created_at": iso(created_at),
            "conversation_id": conversation_id,
            "lang": spec.get("lang", "in"),
            "entities": entities(shown, urls, self.users),
            "_username": username,
        }
        if shown != text:
            tweet["note_tweet"] = {"text": text, "entities": entities(text, urls, self.users)}
        if refs:
            tweet["referenced_tweets"] = refs
        if in_reply_to_user_id:
            tweet["in_reply_to_user_id"] = in_reply_to_user_id
        if media_keys:
            tweet["attachments"] = {"media_keys": media_keys}
        if spec.get("geo"):
            tweet["geo"] = spec["geo"]
        self.tweets[tweet_id] = tweet
        return tweet

    def take_fault(self, page: int) -> Fault | None:
        for fault in self.faults:
            if fault.page in (None, page):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def count_request(self) -> tuple[int, int]:
        """(remaining, reset epoch) of the current rate-limit window after this request."""
        now = time.time()
        if now - self._window_start >= RATE_WINDOW_S:
            self._window_start, self._window_used = now, 0
        self._window_used += 1
        return self.rate_limit - self._window_used, int(self._window_start + RATE_WINDOW_S)


def media_object(key: str, kind: str) -> dict[str, Any]:
    base = f"https://pbs.twimg.com/media/{key.replace('_', '')}"
    media: dict[str, Any] = {"media_key": key, "type": kind, "width": 1200, "height": 900}
    if kind == "photo":
        media["url"] = f"{base}.jpg"
    else:
        media["preview_image_url"] = f"https://pbs.twimg.com/ext_tw_video_thumb/{key}/pu/img.jpg"
    return media


def char_weight(ch: str) -> int:
    """twitter-text's weights: Latin, punctuation and most of the BMP's first ranges count
    1, everything else (emoji, CJK) 2. A t.co link counts its 23 characters."""
    cp = ord(ch)
    light = cp <= 0x10FF or 0x2000 <= cp <= 0x200D or 0x2010 <= cp <= 0x201F
    return 1 if light or 0x2032 <= cp <= 0x2037 else 2


def cut_long_post(text: str) -> str:
    """The first MAX_TEXT_WEIGHT of a post, as X puts it in `text`; short posts unchanged."""
    weight = 0
    for i, ch in enumerate(text):
        weight += char_weight(ch)
        if weight > MAX_TEXT_WEIGHT:
            return text[:i]
    return text


def shorten_urls(text: str, media_keys: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """Links become t.co links as on X; attached media add one t.co link at the end."""
    urls: list[dict[str, Any]] = []

    def tco(expanded: str, media_key: str | None = None) -> str:
        short = "https://t.co/" + "".join(secrets.choice(TCO_ALPHABET) for _ in range(10))
        entry: dict[str, Any] = {
            "url": short,
            "expanded_url": expanded,
            "display_url": expanded.split("://", 1)[-1][:26],
        }
        if media_key:
            entry["media_key"] = media_key
        urls.append(entry)
        return short

    text = URL_RE.sub(lambda m: tco(m.group(0)), text)
    if media_keys:
        text = f"{text} {tco('https://x.com/i/photo/1', media_keys[0])}"
    return text, urls


def entities(text: str, urls: list[dict[str, Any]], users: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tags = [
        {"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in HASHTAG_RE.finditer(text)
    ]
    if tags:
        out["hashtags"] = tags
    by_name = {u["username"].casefold(): uid for uid, u in users.items()}
    mentions = []
    for m in MENTION_RE.finditer(text):
        entry = {"start": m.start(), "end": m.end(), "username": m.group(1)}
        if m.group(1).casefold() in by_name:
            entry["id"] = by_name[m.group(1).casefold()]
        mentions.append(entry)
    if mentions:
        out["mentions"] = mentions
    positioned = []
    for u in urls:
        start = text.find(u["url"])
        if start < 0:  # the link is in the part of a long post that `text` leaves out
            continue
        positioned.append({"start": start, "end": start + len(u["url"]), **u})
    if positioned:
        out["urls"] = positioned
    return out


def public(obj: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: obj[k] for k in fields if k in obj}


# --- HTTP ---------------------------------------------------------------------------------

API_KEY = web.AppKey("fake_x_api", FakeXApi)


def make_app(api: FakeXApi | None = None) -> web.Application:
    app = web.Application()
    app[API_KEY] = api or FakeXApi()
    app.router.add_get("/2/tweets/search/recent", search_recent)
    app.router.add_post("/2/tweets", create_tweet)
    app.router.add_get("/", index_page)
    app.router.add_post("/fake/form", form_post)
    app.router.add_post("/fake/tweets", post_fake_tweet)
    app.router.add_get("/fake/tweets", list_fake_tweets)
    app.router.add_get("/fake/replies", list_replies)
    app.router.add_delete("/fake/users/{id}", delete_user)
    app.router.add_post("/fake/faults", add_faults)
    app.router.add_delete("/fake/faults", clear_faults)
    app.router.add_get("/fake/requests", list_requests)
    return app


def csv_param(request: web.Request, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = request.query.get(name)
    return tuple(v for v in value.split(",") if v) if value else default


def encode_token(before_id: str) -> str:
    return base64.b32encode(f"b:{before_id}".encode()).decode().rstrip("=").lower()


def decode_token(token: str) -> str:
    padded = token.upper() + "=" * (-len(token) % 8)
    prefix, _, before_id = base64.b32decode(padded).decode().partition(":")
    if prefix != "b" or not before_id.isdigit():
        raise ValueError(token)
    return before_id


async def search_recent(request: web.Request) -> web.StreamResponse:
    api = request.app[API_KEY]
    q = request.query
    token = q.get("next_token") or q.get("pagination_token")
    page = 2 if token else 1
    record: dict[str, Any] = {"params": dict(q), "page": page, "status": 200, "at": time.time()}
    api.requests.append(record)
    if request.headers.get("Authorization") != f"Bearer {api.bearer_token}":
        record["status"] = 401
        return plain_problem(401, "Unauthorized")

    fault = api.take_fault(page)
    if fault is not None:
        record["fault"] = fault.body
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.status != 200 or fault.body not in ("json", "no_includes"):
            record["status"] = fault.status
            return fault_response(fault)

    remaining, reset = api.count_request()
    limits = {
        "x-rate-limit-limit": str(api.rate_limit),
        "x-rate-limit-remaining": str(max(remaining, 0)),
        "x-rate-limit-reset": str(reset),
    }
    if remaining < 0:
        record["status"] = 429
        return plain_problem(429, "Too Many Requests", limits)

    query = q.get("query", "")
    if not query:
        record["status"] = 400
        return invalid_request("The `query` query parameter can not be empty", {"query": [""]})
    if len(query) > MAX_QUERY_CHARS:
        record["status"] = 400
        return invalid_request(
            f"There were errors processing your request: Query is too long (over "
            f"{MAX_QUERY_CHARS} characters)",
            {"query": [query]},
        )
    try:
        matches = compile_query(query)
    except QueryError as e:
        record["status"] = 400
        return invalid_request(
            f"There were errors processing your request: {e}", {"query": [query]}
        )
    max_results = q.get("max_results", "10")
    if not max_results.isdigit() or not 10 <= int(max_results) <= 100:
        record["status"] = 400
        return invalid_request(
            f"The `max_results` query parameter value [{max_results}] is not between 10 and 100",
            {"max_results": [max_results]},
        )
    try:
        since_id = int(q.get("since_id", "0"))
        until_id = int(q["until_id"]) if "until_id" in q else None
        before_id = int(decode_token(token)) if token else None
        start_time = parse_time(q["start_time"]) if "start_time" in q else None
        end_time = parse_time(q["end_time"]) if "end_time" in q else None
    except (ValueError, KeyError) as e:
        record["status"] = 400
        return invalid_request(f"Invalid parameter: {e}", {})

    found = []
    for tweet_id in sorted(api.tweets, key=int, reverse=True):
        t = api.tweets[tweet_id]
        n = int(tweet_id)
        if n <= since_id or (until_id and n >= until_id) or (before_id and n >= before_id):
            continue
        created = parse_time(t["created_at"])
        if (start_time and created < start_time) or (end_time and created >= end_time):
            continue
        if matches(t):
            found.append(t)
    page_tweets = found[: int(max_results)]
    meta: dict[str, Any] = {"result_count": len(page_tweets)}
    if page_tweets:
        meta["newest_id"] = page_tweets[0]["id"]
        meta["oldest_id"] = page_tweets[-1]["id"]
    if len(found) > len(page_tweets):
        meta["next_token"] = encode_token(page_tweets[-1]["id"])
    body = render_page(api, request, page_tweets)
    if fault is not None and fault.body == "no_includes":
        body.pop("includes", None)
    body["meta"] = meta
    return web.json_response(body, headers=limits)


def render_page(api: FakeXApi, request: web.Request, tweets: list[Tweet]) -> dict[str, Any]:
    tweet_fields = ("id", "text", "edit_history_tweet_ids", *csv_param(request, "tweet.fields"))
    expansions = csv_param(request, "expansions")
    user_fields = (*DEFAULT_USER_FIELDS, *csv_param(request, "user.fields"))
    media_fields = (*DEFAULT_MEDIA_FIELDS, *csv_param(request, "media.fields"))
    body: dict[str, Any] = {}
    if not tweets:
        return body
    body["data"] = [render_tweet(t, tweet_fields, expansions) for t in tweets]
    includes: dict[str, list[Any]] = {}
    errors: list[dict[str, Any]] = []
    referenced: list[Tweet] = []
    if "referenced_tweets.id" in expansions:
        seen = set()
        for t in tweets:
            for ref in t.get("referenced_tweets", ()):
                if ref["id"] in api.tweets and ref["id"] not in seen:
                    seen.add(ref["id"])
                    referenced.append(api.tweets[ref["id"]])
        if referenced:
            includes["tweets"] = [render_tweet(t, tweet_fields, expansions) for t in referenced]
    if "author_id" in expansions:
        users = []
        for author_id in dict.fromkeys(t["author_id"] for t in tweets):
            if author_id in api.deleted_users:
                errors.append(
                    {
                        "value": author_id,
                        "detail": f"Could not find user with author_id: [{author_id}].",
                        "title": "Not Found Error",
                        "resource_type": "user",
                        "parameter": "author_id",
                        "resource_id": author_id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                )
            else:
                users.append(public(api.users[author_id], user_fields))
        if users:
            includes["users"] = users
    if "attachments.media_keys" in expansions:
        media = [
            public(api.media[k], media_fields)
            for t in tweets
            for k in t.get("attachments", {}).get("media_keys", ())
        ]
        if media:
            includes["media"] = media
    if includes:
        body["includes"] = includes
    if errors:
        body["errors"] = errors
    return body


def render_tweet(t: Tweet, fields: tuple[str, ...], expansions: tuple[str, ...]) -> Tweet:
    out = public(t, fields)
    if "attachments.media_keys" in expansions and "attachments" in t:
        out["attachments"] = t["attachments"]
    return out


def fault_response(fault: Fault) -> web.Response:
    headers = {}
    if fault.status == 429:
        headers = {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(time.time() + fault.reset_in_s)),
        }
    if fault.body == "html":
        page = (
            "<html><head><title>Over capacity</title></head><body><h1>Something is "
            "technically wrong.</h1></body></html>"
        )
        return web.Response(
            text=page, status=fault.status, content_type="text/html", headers=headers
        )
    if fault.body == "invalid_json":
        return web.Response(
            text='{"data": [{"id": "12',
            status=fault.status,
            content_type="application/json",
            headers=headers,
        )
    if fault.body == "errors_only":
        body = {
            "errors": [
                {
                    "title": "Service Unavailable",
                    "detail": "Service is temporarily unavailable.",
                    "type": "about:blank",
                }
            ]
        }
        return web.json_response(body, status=fault.status, headers=headers)
    titles = {
        401: "Unauthorized",
        403: "Forbidden",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    return plain_problem(fault.status, titles.get(fault.status, "Error"), headers)


async def create_tweet(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("OAuth ") or "oauth_signature=" not in auth:
        return problem(
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User "
            "Context].",
            "unsupported-authentication",
        )
    try:
        body = await request.json()
        text = body["text"]
    except (ValueError, KeyError, TypeError):
        return invalid_request("Invalid JSON body", {})
    parent = body.get("reply", {}).get("in_reply_to_tweet_id")
    if parent is not None and parent not in api.tweets:
        return problem(
            400,
            "Invalid Request",
            "The tweet you are replying to is not visible or deleted.",
            "invalid-request",
        )
    tweet = api.add_tweet(
        {
            "text": text,
            "username": api.account_username,
            "user_id": api.account_id,
            "reply_to": parent,
        }
    )
    api.replies.append(tweet)
    return web.json_response(
        {
            "data": {
                "id": tweet["id"],
                "text": tweet["text"],
                "edit_history_tweet_ids": [tweet["id"]],
            }
        },
        status=201,
    )


def full(t: Tweet) -> Tweet:
    out = {k: v for k, v in t.items() if not k.startswith("_")}
    out["username"] = t["_username"]
    return out


async def post_fake_tweet(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    try:
        spec = await request.json()
        tweet = api.add_tweet(spec)
    except (ValueError, KeyError, TypeError) as e:
        return web.json_response({"error": f"bad tweet: {e}"}, status=400)
    return web.json_response({"data": full(tweet)}, status=201)


async def list_fake_tweets(request: web.Request) -> web.Response:
    return web.json_response({"data": [full(t) for t in request.app[API_KEY].tweets.values()]})


async def list_replies(request: web.Request) -> web.Response:
    return web.json_response({"data": [full(t) for t in request.app[API_KEY].replies]})


async def delete_user(request: web.Request) -> web.Response:
    request.app[API_KEY].deleted_users.add(request.match_info["id"])
    return web.Response(status=204)


async def add_faults(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    try:
        body = await request.json()
        specs = body if isinstance(body, list) else [body]
        api.faults.extend(Fault(**spec) for spec in specs)
    except (ValueError, TypeError) as e:
        return web.json_response({"error": f"bad fault: {e}"}, status=400)
    return web.json_response({"queued": len(api.faults)}, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.app[API_KEY].faults.clear()
    return web.Response(status=204)


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response({"data": request.app[API_KEY].requests})


INDEX = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>X API tiruan - lapor-gateway</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto}}
li{{margin:.4em 0}} small{{color:#666}}</style></head><body>
<h1>X (Twitter) tiruan untuk pelatihan</h1>
<p>Kirim cuitan sebagai warga. Gateway mengambilnya lewat pencarian
(<code>GET /2/tweets/search/recent</code>) pada putaran berikutnya.</p>
<form method="post" action="/fake/form">
<p><label>Akun: @<input name="username" value="warga_agam" required></label></p>
<p><textarea name="text" rows="3" cols="60" maxlength="280" required
>Lampu jalan mati di Jl. Sudirman #aduanagam</textarea></p>
<p><button>Kirim cuitan</button></p></form>
<h2>Cuitan ({count})</h2><ul>{tweets}</ul>
<h2>Balasan dari akun kita ({reply_count})</h2><ul>{replies}</ul>
</body></html>"""


def _item(t: Tweet) -> str:
    return (
        f"<li><b>@{html.escape(t['_username'])}</b> {html.escape(t['text'])} "
        f"<small>{t['created_at']} · id {t['id']}</small></li>"
    )


async def index_page(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    tweets = sorted(api.tweets.values(), key=lambda t: int(t["id"]), reverse=True)
    page = INDEX.format(
        count=len(tweets),
        tweets="".join(_item(t) for t in tweets[:100]),
        reply_count=len(api.replies),
        replies="".join(_item(t) for t in api.replies[-100:]),
    )
    return web.Response(text=page, content_type="text/html")


async def form_post(request: web.Request) -> web.Response:
    form = await request.post()
    text, username = str(form.get("text", "")).strip(), str(form.get("username", "")).strip()
    if text and username:
        request.app[API_KEY].add_tweet({"text": text[:280], "username": username.lstrip("@")})
    raise web.HTTPSeeOther("/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:8091", help="HOST:PORT")
    parser.add_argument("--bearer-token", default=DEFAULT_TOKEN)
    parser.add_argument(
        "--account-id",
        default=FakeXApi.account_id,
        help="id of 'our' account, the author of replies",
    )
    parser.add_argument("--account-username", default=FakeXApi.account_username)
    parser.add_argument(
        "--rate-limit", type=int, default=450, help="searches per 15 minutes before 429"
    )
    args = parser.parse_args(argv)
    host, port = parse_listen(args.listen)
    api = FakeXApi(
        bearer_token=args.bearer_token,
        account_id=args.account_id,
        account_username=args.account_username,
        rate_limit=args.rate_limit,
    )
    print(f"fake X API on http://{host}:{port} (bearer token {args.bearer_token!r})", flush=True)
    web.run_app(make_app(api), host=host, port=port, print=None)


if __name__ == "__main__":
    main()

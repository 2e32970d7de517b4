"""The hashtag watch: recent search for every region's hashtags, each tweet into intake.

One poll of a query pages through every result newer than its cursor (next_token), then
takes the tweets oldest first. Each tweet is stored in its own intake transaction and the
query's since_id cursor moves to that tweet IN THE SAME transaction (through an intake hook),
so the cursor never passes a tweet that is not stored: a crash anywhere costs at most a
re-fetch, never a lost or a doubled complaint. Tweets that are not complaints (retweets, our
own, answers to our replies) get a `skipped` event, again with the cursor in its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from channels.twitter.client import ApiFault, TwitterApi
from channels.twitter.config import TwitterConfig
from channels.twitter.queries import build_queries, cursor_key
from channels.twitter.tweets import BadPage, Found, parse_page, skip_reason, to_raw
from gateway import events
from gateway.intake import IntakeResult
from gateway.logsafe import log_failure
from gateway.poll_faults import PollFaults
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable
from gateway.store.models import Cursor

log = logging.getLogger(__name__)

CHANNEL = "twitter"
TWEPOCH_MS = 1288834974657
# Recent search reaches 7 days back; an older since_id is refused, so fall back to a time.
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=5)


async def save_cursor(session: AsyncSession, key: str, tweet_id: str) -> None:
    """Move a since_id cursor forward (never back) in the caller's transaction."""
    row = await session.get(Cursor, key)
    if row is None:
        session.add(Cursor(key=key, value=tweet_id))
    elif int(tweet_id) > int(row.value):
        row.value = tweet_id


def tweet_time(tweet_id: str) -> datetime:
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + TWEPOCH_MS) / 1000, UTC)


class TwitterPoller:
    name = "twitter-poller"

    def __init__(self, rt: Runtime, api: TwitterApi, cfg: TwitterConfig | None = None):
        self.rt = rt
        self.api = api
        self.cfg = cfg or rt.settings.channels.twitter
        self._load_hashtags()
        rt.reload_hooks.append(self._load_hashtags)
        self.own_user_id = self.cfg.own_user_id or _user_id_of(self.cfg.access_token)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._leading = False
        self.faults = PollFaults(rt, CHANNEL, self.cfg.backoff_base_s, self.cfg.backoff_max_s)

    def _load_hashtags(self) -> None:
        # At start and after a reload (SIGHUP): the regions may have changed.
        hashtags = [tag for r in self.rt.settings.regions.values() for tag in r.hashtags]
        self.queries = build_queries(hashtags, self.cfg.max_query_chars)
        self.watched = frozenset(t.lower() for t in hashtags)

    # --- service -----------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            if not self._leading:
                self._task.cancel()  # only waiting for leadership: nothing in flight
            try:  # let the tweet in flight finish
                await asyncio.wait_for(asyncio.shield(self._task), timeout=10.0)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self.api.close()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with self.rt.leadership("twitter"):
                    self._leading = True
                    log.info("twitter poller leads", extra={"queries": len(self.queries)})
                    while not self._stop.is_set():
                        delay = await self.cycle()
                        await self._sleep(delay)
            except Exception as e:  # the leadership connection broke: wait, then ask again
                log_failure(log, "twitter leadership lost", e)
                self.rt.health.set(CHANNEL, False, "koneksi basis data untuk kepemimpinan putus")
                await self._sleep(self.cfg.backoff_base_s)
            finally:
                self._leading = False

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    # --- one cycle ---------------------------------------------------------------------

    async def cycle(self) -> float:
        """Poll every query once. Returns the seconds to wait; never raises."""
        try:
            for query in self.queries:
                if self._stop.is_set():
                    break
                await self.poll_query(query)
        except ApiFault as fault:
            return await self._on_fault(fault.kind, fault.detail, fault.status, fault.reset_at)
        except BadPage as e:
            return await self._on_fault("bad_response", str(e), None, None)
        except StoreUnavailable as e:
            return await self._on_fault("store", str(e)[:200], None, None)
        except Exception as e:  # a bug must not end the watch; it is logged and retried
            log_failure(log, "twitter poll failed", e)
            return await self._on_fault("internal", type(e).__name__, None, None)
        await self._on_success()
        return self.cfg.poll_interval_s

    async def poll_query(self, query: str) -> int:
        """Fetch every page newer than the cursor, then store oldest first. Returns #tweets."""
        key = cursor_key(query)
        async with self.rt.store.reader() as session:
            row = await session.get(Cursor, key)
            since_id = row.value if row is not None else None
        now = datetime.now(UTC)
        start_time = now - timedelta(seconds=self.cfg.initial_lookback_s)
        if since_id is not None and tweet_time(since_id) < now - SEARCH_WINDOW:
            start_time, since_param = now - SEARCH_WINDOW, None
        else:
            since_param = since_id

        found: dict[str, Found] = {}
        token: str | None = None
        while True:
            body = await self.api.search(
                query, since_id=since_param, start_time=start_time, next_token=token
            )
            page = parse_page(body)
            if page.malformed:
                await events.record_channel_event(
                    self.rt.store, CHANNEL, "malformed", f"{page.malformed} tweets without id"
                )
            for tweet in page.tweets:
                found.setdefault(str(tweet["id"]), Found(tweet, page))
            token = page.next_token
            if token is None or self._stop.is_set():
                break
        if self._stop.is_set():
            return 0  # an incomplete poll: storing a part would let the cursor jump a gap

        floor = int(since_id) if since_id is not None else 0
        todo = sorted((f for f in found.values() if int(f.id) > floor), key=lambda f: int(f.id))
        for item in todo:
            await self._ingest(item, key)
        return len(todo)

    async def _ingest(self, found: Found, key: str) -> None:
        skip = skip_reason(found, self.own_user_id)
        if skip is not None:
            async with self.rt.store.transaction() as session:
                events.record(
                    session,
                    kind="inbound",
                    channel=CHANNEL,
                    outcome="skipped",
                    reason=skip.reason,
                    external_id=found.id,
                    detail=skip.detail,
                )
                await save_cursor(session, key, found.id)
            return
        raw = to_raw(found, self.watched)

        async def cursor_with_tweet(session: AsyncSession, _: IntakeResult) -> None:
            await save_cursor(session, key, found.id)

        # The tweet and its cursor commit together (a replay moves the cursor too).
        await self.rt.intake.submit(raw, also=cursor_with_tweet)

    # --- faults, health, events --------------------------------------------------------

    async def _on_fault(
        self, kind: str, detail: str, status: int | None, reset_at: float | None
    ) -> float:
        delay = self.faults.failed()
        if kind == "rate_limited" and reset_at is not None:
            delay = max(reset_at - time.time(), 0.0) + 1.0
            until = datetime.fromtimestamp(time.time() + delay, UTC).strftime("%H:%M:%S UTC")
            message = f"dibatasi X (429) sampai {until}; pencarian dilanjutkan setelahnya"
            ok = True  # expected and self-healing: the gateway stays ready
        elif kind == "auth":
            delay = self.cfg.backoff_max_s
            message = (
                f"X menolak akses ({detail}): periksa bearer_token dan izin aplikasi di "
                "[channels.twitter]; kanal lain tetap berjalan"
            )
            ok = False
        else:
            message = f"gangguan X API ({kind}: {detail}); dicoba lagi dalam {delay:.0f} detik"
            ok = not self.faults.outage
        return await self.faults.report(kind, detail, status, delay, message, ok)

    async def _on_success(self) -> None:
        await self.faults.succeeded(f"memantau {len(self.watched)} tagar")


def _user_id_of(access_token: str | None) -> str | None:
    """OAuth 1.0a access tokens start with the account's user id ("12345-abc...")."""
    if not access_token or "-" not in access_token:
        return None
    user_id = access_token.partition("-")[0]
    return user_id if user_id.isdigit() else None

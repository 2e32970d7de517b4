"""The hashtag watch against the fake X API on a real port, store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from channels.twitter import register
from channels.twitter.poller import TWEPOCH_MS, TwitterPoller
from channels.twitter.queries import cursor_key
from fakes.x_api import Fault
from gateway.runtime import Runtime
from gateway.store.db import Store
from gateway.store.models import Complaint, Cursor, Event, InboundMessage, Reporter
from tests.channels.twitter.conftest import OWN_USER_ID, FakeX


@pytest.fixture
async def poller(runtime: Runtime) -> AsyncIterator[TwitterPoller]:
    register(runtime)
    (service,) = [s for s in runtime.services if isinstance(s, TwitterPoller)]
    yield service
    await service.api.close()


async def all_rows(store: Store, model: Any) -> list[Any]:
    async with store.reader() as session:
        return list((await session.scalars(select(model))).all())


async def cursor_value(store: Store) -> str | None:
    (cursor,) = await all_rows(store, Cursor) or [None]
    return cursor.value if cursor else None


async def events_by_tweet(store: Store) -> dict[str, list[tuple[str, str | None]]]:
    out: dict[str, list[tuple[str, str | None]]] = {}
    for e in await all_rows(store, Event):
        if e.channel == "twitter" and e.external_id:
            out.setdefault(e.external_id, []).append((e.outcome, e.reason))
    return out


async def test_hashtag_tweet_becomes_agam_complaint_and_retweets_are_skipped(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    tweet = fake_x.tweet(
        "Lampu jalan mati di Jl. Sudirman #aduanagam", name="Rini Lubis", media=[{"type": "photo"}]
    )
    native_rt = fake_x.tweet("", username="iwan_bkt", retweet_of=tweet)
    manual_rt = fake_x.tweet(
        "RT @rini_lbs: Lampu jalan mati di Jl. Sudirman #aduanagam", username="budi_ag"
    )

    assert await poller.cycle() == poller.cfg.poll_interval_s

    (complaint,) = await all_rows(store, Complaint)
    assert complaint.region_code == "AGAM"
    assert complaint.channel == "twitter"
    assert complaint.external_id == tweet
    assert complaint.text == "Lampu jalan mati di Jl. Sudirman"
    assert complaint.tracking_ref.startswith("AGM-")
    (photo,) = complaint.attachments
    assert photo["url"].startswith("https://pbs.twimg.com/media/")
    (reporter,) = await all_rows(store, Reporter)
    assert (reporter.twitter_handle, reporter.name) == ("rini_lbs", "Rini Lubis")
    assert reporter.twitter_id == fake_x.api.tweets[tweet]["author_id"]

    seen = await events_by_tweet(store)
    assert seen[tweet] == [("accepted", None)]
    assert seen[manual_rt] == [("skipped", "retweet")]
    # The query excludes native retweets, so X never hands this one over.
    assert native_rt not in seen
    (search,) = fake_x.api.requests
    assert search["params"]["query"].endswith("-is:retweet")
    assert "#aduanagam" in search["params"]["query"]
    assert await cursor_value(store) == manual_rt
    assert poller.rt.health.components["twitter"].ok


async def test_pagination_and_since_id_continuity(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    ids = [fake_x.tweet(f"Jalan rusak nomor {i} di Lubuk Basung #aduanagam") for i in range(25)]
    await poller.cycle()
    first = fake_x.api.requests
    assert [r["page"] for r in first] == [1, 2, 2]  # 25 tweets, 10 per page
    assert "since_id" not in first[0]["params"] and "start_time" in first[0]["params"]
    assert await cursor_value(store) == ids[-1]

    more = [fake_x.tweet(f"Air PDAM mati hari ke-{i} #aduanagam") for i in range(3)]
    await poller.cycle()
    second = fake_x.api.requests[3]
    assert second["params"]["since_id"] == ids[-1]
    assert "start_time" not in second["params"]
    assert await cursor_value(store) == more[-1]

    await poller.cycle()  # nothing new: no tweet seen twice
    complaints = await all_rows(store, Complaint)
    assert sorted(c.external_id for c in complaints) == sorted(ids + more)
    assert all(v == [("accepted", None)] for v in (await events_by_tweet(store)).values())
    # Tweets are stored oldest first, so tracking numbers follow the order of tweeting.
    by_ref = sorted(complaints, key=lambda c: c.tracking_ref)
    assert [c.external_id for c in by_ref] == ids + more


async def test_rate_limit_waits_until_the_reset(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    tweet = fake_x.tweet("Banjir di Pasar Lubuk Basung #aduanagam")
    fake_x.api.faults.append(Fault(status=429, reset_in_s=1))

    delay = await poller.cycle()
    assert 0.9 <= delay <= 2.1  # until x-rate-limit-reset, not the poll interval
    health = poller.rt.health.components["twitter"]
    assert health.ok and "429" in health.detail
    assert await all_rows(store, Complaint) == []
    assert await cursor_value(store) is None

    assert await poller.cycle() == poller.cfg.poll_interval_s
    assert [c.external_id for c in await all_rows(store, Complaint)] == [tweet]
    channel_events = [e.outcome for e in await all_rows(store, Event) if e.kind == "channel"]
    assert channel_events == ["rate_limited", "recovered"]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=503),
        Fault(status=502, body="html"),
        Fault(status=200, body="invalid_json"),
        Fault(status=200, body="errors_only"),
        Fault(status=200, delay_s=1.5),  # longer than request_timeout_s
        Fault(status=500, page=2),  # the poll breaks between pages
    ],
    ids=["503", "html-502", "invalid-json", "errors-only-200", "timeout", "500-on-page-2"],
)
async def test_faults_back_off_and_never_move_the_cursor(
    fake_x: FakeX, poller: TwitterPoller, store: Store, fault: Fault
) -> None:
    ids = [fake_x.tweet(f"Drainase tersumbat di jorong {i} #aduanagam") for i in range(12)]
    fake_x.api.faults.append(fault)

    delay = await poller.cycle()
    assert 0 < delay <= poller.cfg.backoff_max_s
    assert await all_rows(store, InboundMessage) == []
    assert await cursor_value(store) is None
    assert "twitter" in poller.rt.health.components

    assert await poller.cycle() == poller.cfg.poll_interval_s
    assert sorted(c.external_id for c in await all_rows(store, Complaint)) == sorted(ids)
    assert await cursor_value(store) == ids[-1]
    outcomes = [e.outcome for e in await all_rows(store, Event) if e.kind == "channel"]
    assert outcomes[-1] == "recovered" and len(outcomes) == 2


@pytest.mark.parametrize("fault", [Fault(status=401), Fault(status=403, body="html")])
async def test_rejected_credentials_mark_the_channel_unhealthy(
    fake_x: FakeX,
    poller: TwitterPoller,
    runtime: Runtime,
    store: Store,
    fault: Fault,
    raw_factory: Any,
) -> None:
    fake_x.tweet("Lampu jalan mati #aduanagam")
    fault.times = 3
    fake_x.api.faults.append(fault)
    for _ in range(2):  # the second identical failure adds no second event
        assert await poller.cycle() == poller.cfg.backoff_max_s
    health = runtime.health.components["twitter"]
    assert not health.ok
    assert "bearer_token" in health.detail and str(fault.status) in health.detail
    (event,) = [e for e in await all_rows(store, Event) if e.kind == "channel"]
    assert (event.outcome, event.detail["status"]) == ("auth", fault.status)
    # Other channels go on: intake takes an SMS while twitter is down.
    result = await runtime.intake.submit(raw_factory("AGAM jembatan ambruk di Palembayan"))
    assert result.outcome == "accepted"


async def test_bad_input_is_stored_or_skipped_with_a_reason(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    original = fake_x.tweet("Lampu jalan mati di Jl. Sudirman #aduanagam")
    our_reply = fake_x.api.add_tweet(
        {
            "text": "@rini_lbs Aduan diterima, tiket AGM-000001",
            "username": "LaporAgam",
            "user_id": OWN_USER_ID,
            "reply_to": original,
        }
    )["id"]
    thanks = fake_x.tweet("@LaporAgam makasih min #aduanagam", reply_to=our_reply)
    own = fake_x.api.add_tweet(
        {"text": "Sampaikan aduan dengan #aduanagam", "username": "LaporAgam"}
    )["id"]
    only_tag = fake_x.tweet("#aduanagam", username="anon1")
    emoji = fake_x.tweet("😡" * 268 + " #aduanagam", username="anon2")
    quote = fake_x.tweet(
        "Betul, sudah seminggu gelap #AduanAgam", username="iwan_bkt", quote_of=original
    )
    gone = fake_x.tweet("Sampah menumpuk di pasar #aduanagam", username="hilang")
    fake_x.api.deleted_users.add(fake_x.api.tweets[gone]["author_id"])

    await poller.cycle()

    seen = await events_by_tweet(store)
    assert seen[thanks] == [("skipped", "reply_to_our_reply")]
    assert seen[own] == [("skipped", "own_account")]
    assert seen[only_tag] == [("rejected", "empty_text")]
    for accepted in (original, emoji, quote, gone):
        assert seen[accepted] == [("accepted", None)]
    complaints = {c.external_id: c for c in await all_rows(store, Complaint)}
    assert complaints[emoji].text == "😡" * 268  # a long post (emoji weigh 2): whole
    assert complaints[quote].text == "Betul, sudah seminggu gelap"  # not the quoted words
    inbound = {m.external_id: m for m in await all_rows(store, InboundMessage)}
    assert inbound[gone].meta["author_missing"] is True
    assert inbound[gone].sender.startswith("x-user:")
    assert await cursor_value(store) == gone


async def test_missing_includes_still_files_the_complaint(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    tweet = fake_x.tweet(
        "Pohon tumbang menutup jalan ke Maninjau #aduanagam", media=[{"type": "photo"}]
    )
    fake_x.api.faults.append(Fault(status=200, body="no_includes"))
    await poller.cycle()
    (complaint,) = await all_rows(store, Complaint)
    assert complaint.external_id == tweet and complaint.region_code == "AGAM"
    assert complaint.attachments == []  # the media objects were not included


async def test_service_polls_until_stopped(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    await poller.start()
    try:
        tweet = fake_x.tweet("Jalan longsor di Kelok 44 #aduanagam")
        for _ in range(100):
            if await all_rows(store, Complaint):
                break
            await asyncio.sleep(0.05)
        assert [c.external_id for c in await all_rows(store, Complaint)] == [tweet]
    finally:
        started = time.monotonic()
        await poller.stop()
    assert time.monotonic() - started < 2.0  # stop wakes the wait between polls


async def test_one_leader_among_instances(
    fake_x: FakeX, poller: TwitterPoller, runtime: Runtime, store: Store
) -> None:
    if not store.is_postgres:
        pytest.skip("SQLite serves one instance; leadership is a PostgreSQL advisory lock")
    other_rt = Runtime(settings=runtime.settings, store=store, intake=runtime.intake)
    register(other_rt)
    (other,) = [s for s in other_rt.services if isinstance(s, TwitterPoller)]
    await poller.start()
    await asyncio.sleep(0.3)
    await other.start()
    await asyncio.sleep(0.5)
    assert poller._leading and not other._leading
    await poller.stop()  # the leader goes away: the other takes over
    for _ in range(60):
        if other._leading:
            break
        await asyncio.sleep(0.1)
    assert other._leading
    await other.stop()


async def test_two_regions_hashtags_go_to_the_first_and_the_event_says_so(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    tweet = fake_x.tweet("Trotoar rusak depan stasiun #AduanSurabaya #aduanagam")
    await poller.cycle()
    (complaint,) = await all_rows(store, Complaint)
    assert complaint.region_code == "SBY"
    (event,) = [e for e in await all_rows(store, Event) if e.external_id == tweet]
    assert "aduanagam" in event.detail["note"] and "AGAM" in event.detail["note"]


async def test_a_cursor_older_than_the_search_window_falls_back_to_a_time(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    stale = str((int((time.time() - 8 * 86400) * 1000) - TWEPOCH_MS) << 22)
    async with store.transaction() as session:
        session.add(Cursor(key=cursor_key(poller.queries[0]), value=stale))
    tweet = fake_x.tweet("Lampu jalan mati #aduanagam")
    await poller.cycle()
    (search,) = fake_x.api.requests
    assert "since_id" not in search["params"] and "start_time" in search["params"]
    assert [c.external_id for c in await all_rows(store, Complaint)] == [tweet]
    assert await cursor_value(store) == tweet


async def test_long_post_and_quote_file_the_citizens_whole_own_text(
    fake_x: FakeX, poller: TwitterPoller, store: Store
) -> None:
    tail = "Mohon segera diperbaiki 🙏 #aduanagam"
    long_text = "Jalan rusak parah di Jorong Padang Tongah, " + "lubang dalam dan tergenang. " * 9
    long_post = fake_x.tweet(long_text + tail)
    quoted = fake_x.tweet("Banjir di Rungkut #aduansurabaya", username="arek_sby")
    quote = fake_x.tweet("Di Agam juga sama, selokan meluap #aduanagam", quote_of=quoted)

    await poller.cycle()

    by_id = {c.external_id: c for c in await all_rows(store, Complaint)}
    assert by_id[long_post].region_code == "AGAM"
    assert by_id[long_post].text == (long_text + "Mohon segera diperbaiki 🙏").strip()
    assert by_id[quote].region_code == "AGAM"
    assert by_id[quote].text == "Di Agam juga sama, selokan meluap"
    assert by_id[quoted].region_code == "SBY"  # its own complaint, not part of the quote
    (inbound,) = [m for m in await all_rows(store, InboundMessage) if m.external_id == quote]
    assert inbound.meta["quoted"]["text"] == "Banjir di Rungkut #aduansurabaya"

"""The fake X API speaks X's protocol; tweepy's client reaches it through `api_base_url`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from channels.twitter import register
from channels.twitter.client import ApiFault, RebasedSession, TwitterApi
from channels.twitter.config import TwitterConfig
from channels.twitter.replies import TweetReplies
from fakes.x_api import FakeXApi, make_app
from gateway.intake import Intake
from gateway.runtime import Reply, Runtime
from gateway.settings import ConfigError, load_settings
from gateway.store.db import Store
from tests.channels.twitter.conftest import OWN_USER_ID, TOKEN, FakeX, twitter_section
from tests.support import write_config

SEARCH = "/2/tweets/search/recent"
CREDS = {
    "consumer_key": "ck-agam",
    "consumer_secret": "cs-agam",
    "access_token": f"{OWN_USER_ID}-atAgam",
    "access_token_secret": "ats-agam",
}


def api_for(url: str, **overrides: object) -> TwitterApi:
    values = {"bearer_token": TOKEN, "api_base_url": url, "max_results": 10} | overrides
    return TwitterApi(TwitterConfig.model_validate(values))


async def get(url: str, params: dict[str, str], token: str = TOKEN) -> tuple[int, dict, dict]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(url + SEARCH, params=params, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status, await r.json(), dict(r.headers)


async def test_bearer_token_is_enforced(fake_x: FakeX) -> None:
    status, body, _ = await get(fake_x.url, {"query": "#aduanagam"}, token="wrong")
    assert status == 401
    assert body == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    client = api_for(fake_x.url, bearer_token="wrong")
    with pytest.raises(ApiFault) as caught:
        await client.search("#aduanagam")
    await client.close()
    assert (caught.value.kind, caught.value.status) == ("auth", 401)


async def test_posting_tweets_over_http_and_query_operators(fake_x: FakeX) -> None:
    async with aiohttp.ClientSession() as s:
        posted = []
        for spec in (
            {"text": "Lampu jalan mati #AduanAgam", "username": "rini_lbs"},
            {"text": "Sampah di pasar #aduansurabaya", "username": "arek_sby"},
            {"text": "Cuaca cerah hari ini", "username": "rini_lbs"},
        ):
            async with s.post(fake_x.url + "/fake/tweets", json=spec) as r:
                assert r.status == 201
                posted.append((await r.json())["data"])
        async with s.post(
            fake_x.url + "/fake/tweets", json={"retweet_of": posted[0]["id"], "username": "iwan"}
        ) as r:
            retweet = (await r.json())["data"]
    assert posted[0]["entities"]["hashtags"] == [{"start": 17, "end": 27, "tag": "AduanAgam"}]
    assert retweet["text"].startswith("RT @rini_lbs: ")

    async def ids(query: str) -> list[str]:
        status, body, _ = await get(fake_x.url, {"query": query})
        assert status == 200, body
        return [t["id"] for t in body.get("data", [])]

    agam, sby, plain = (t["id"] for t in posted)
    assert await ids("#aduanagam") == [retweet["id"], agam]
    assert await ids("(#aduanagam OR #aduansurabaya) -is:retweet") == [sby, agam]
    assert await ids("from:rini_lbs -#aduanagam") == [plain]
    assert await ids("cuaca OR pasar") == [plain, sby]
    for bad in ("(#a OR", "#a OR", "place:jakarta", "#x" * 300):
        status, body, _ = await get(fake_x.url, {"query": bad})
        assert status == 400 and body["title"] == "Invalid Request"
    status, body, _ = await get(fake_x.url, {"query": "#a", "max_results": "5"})
    assert status == 400 and "max_results" in body["errors"][0]["parameters"]


async def test_since_id_start_time_and_pagination(fake_x: FakeX) -> None:
    ids = [fake_x.tweet(f"Jalan rusak {i} #aduanagam") for i in range(23)]
    fake_x.api.add_tweet({"text": "lama #aduanagam", "created_at": "2020-01-01T00:00:00Z"})
    client = api_for(fake_x.url)
    seen: list[str] = []
    metas = []
    token = None
    while True:
        body = await client.search("#aduanagam -is:retweet", since_id=ids[2], next_token=token)
        seen += [t["id"] for t in body["data"]]
        metas.append(body["meta"])
        token = body["meta"].get("next_token")
        if not token:
            break
    assert seen == list(reversed(ids[3:]))  # newest first, nothing twice, since_id exclusive
    assert [m["result_count"] for m in metas] == [10, 10]
    assert metas[0]["newest_id"] == ids[-1] and metas[-1]["oldest_id"] == ids[3]
    assert "next_token" not in metas[-1]
    # start_time (a first start's look-back) leaves out the 2020 tweet.
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert (await client.search("lama"))["meta"]["result_count"] == 1
    assert (await client.search("lama", start_time=hour_ago))["meta"] == {"result_count": 0}
    await client.close()
    status, _, _ = await get(fake_x.url, {"query": "#aduanagam", "next_token": "garbage!"})
    assert status == 400


async def test_rate_limit_window_answers_429_with_reset_headers() -> None:
    api = FakeXApi(bearer_token=TOKEN, rate_limit=2)
    runner = web.AppRunner(make_app(api))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = "http://{}:{}".format(*runner.addresses[0][:2])
    try:
        statuses = []
        for _ in range(3):
            status, _, headers = await get(url, {"query": "#aduanagam"})
            statuses.append((status, headers["x-rate-limit-remaining"]))
        assert statuses == [(200, "1"), (200, "0"), (429, "0")]
        assert 0 < int(headers["x-rate-limit-reset"]) - time.time() <= 15 * 60
        client = api_for(url)
        with pytest.raises(ApiFault) as caught:
            await client.search("#aduanagam")
        await client.close()
        assert caught.value.kind == "rate_limited"
        assert caught.value.reset_at == int(headers["x-rate-limit-reset"])
    finally:
        await runner.cleanup()


def test_rebase_keeps_path_and_encoded_query() -> None:
    session = RebasedSession("http://127.0.0.1:8091/x-proxy/", timeout_s=1)
    assert str(session.rebase("https://api.twitter.com/2/tweets")) == (
        "http://127.0.0.1:8091/x-proxy/2/tweets"
    )
    signed = URL("https://api.twitter.com/2/tweets?a=1&t=2024-05-27T01%3A12%3A45Z", encoded=True)
    assert str(session.rebase(signed)) == (
        "http://127.0.0.1:8091/x-proxy/2/tweets?a=1&t=2024-05-27T01%3A12%3A45Z"
    )
    with pytest.raises(ValueError, match="unexpected URL"):
        session.rebase("https://evil.example/2/tweets")


async def test_client_works_behind_a_proxy_path() -> None:
    api = FakeXApi(bearer_token=TOKEN)
    api.add_tweet({"text": "Lampu jalan mati #aduanagam", "username": "rini_lbs"})
    proxy = web.Application()
    proxy.add_subapp("/x-proxy/", make_app(api))
    runner = web.AppRunner(proxy)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    client = api_for("http://{}:{}/x-proxy".format(*runner.addresses[0][:2]))
    try:
        body = await client.search("#aduanagam -is:retweet")
        assert body["meta"]["result_count"] == 1
        assert body["includes"]["users"][0]["username"] == "rini_lbs"
    finally:
        await client.close()
        await runner.cleanup()


async def test_reply_answers_the_tweet_with_user_context(fake_x: FakeX) -> None:
    tweet = fake_x.tweet("Lampu jalan mati #aduanagam")
    replies = TweetReplies(api_for(fake_x.url, **CREDS))
    text = "Aduan Anda diterima Kabupaten Agam. No. tiket AGM-000001. Terima kasih."
    result = await replies.send(
        Reply(channel="twitter", recipient="@rini_lbs", text=text, in_reply_to=tweet)
    )
    assert result.ok, result.error
    (posted,) = fake_x.api.replies
    assert posted["id"] == result.external_id
    assert posted["text"] == text
    assert posted["author_id"] == OWN_USER_ID
    assert posted["referenced_tweets"] == [{"type": "replied_to", "id": tweet}]

    gone = await replies.send(Reply(channel="twitter", recipient="@x", text=text, in_reply_to="1"))
    assert not gone.ok and not gone.retry  # 400: the tweet is not there, retrying won't help
    missing = await replies.send(Reply(channel="twitter", recipient="@x", text=text))
    assert not missing.ok and not missing.retry
    await replies.stop()

    app_only = TweetReplies(api_for(fake_x.url))  # bearer token only: nothing is sent
    refused = await app_only.send(
        Reply(channel="twitter", recipient="@x", text=text, in_reply_to=tweet)
    )
    await app_only.stop()
    assert not refused.ok and refused.error.startswith("auth:")
    assert len(fake_x.api.replies) == 1
    # ... and X (like the fake) refuses app-only posting anyway.
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            fake_x.url + "/2/tweets",
            json={"text": "x"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as r,
    ):
        assert r.status == 403
        assert (await r.json())["title"] == "Unsupported Authentication"


def _runtime(tmp_path: Path, extra: str) -> Runtime:
    settings = load_settings(write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/x.db", extra))
    store = Store(settings.database_url)
    return Runtime(settings=settings, store=store, intake=Intake(settings, store))


async def test_register_adds_a_sender_only_with_user_context(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9"
    without = _runtime(tmp_path / "a", twitter_section(url))
    register(without)
    assert "twitter" not in without.senders
    assert [s.name for s in without.services] == ["twitter-poller"]

    with_creds = _runtime(tmp_path / "b", twitter_section(url, reply_enabled=True, **CREDS))
    register(with_creds)
    assert "twitter" in with_creds.senders
    poller = with_creds.services[0]
    assert poller.own_user_id == OWN_USER_ID
    for rt in (without, with_creds):
        await rt.store.close()

    disabled = _runtime(tmp_path / "c", "")
    register(disabled)
    assert disabled.services == [] and disabled.intake.hooks == []
    await disabled.store.close()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bearer_token": None}, "bearer_token"),
        ({"reply_enabled": True}, "consumer_key"),
        ({"api_base_url": "ftp://x"}, "api_base_url"),
        ({"max_results": 500}, "max_results"),
        ({"poll_intervall_s": 5}, "poll_intervall_s"),
    ],
)
def test_bad_twitter_config_names_the_key(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    path = write_config(
        tmp_path, "sqlite+aiosqlite:///x.db", twitter_section("http://127.0.0.1:9", **overrides)
    )
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path)
    assert "channels.twitter" in str(caught.value)


LONG_POST = (
    "Sudah tiga minggu jalan di Jorong Padang Tongah rusak parah 😡🚧 lubangnya dalam, kalau "
    "hujan tergenang dan dua pengendara motor jatuh minggu ini. Foto: https://photos.app.goo.gl/9x "
    "Warga sudah lapor ke wali nagari tapi belum ada tindakan. Mohon segera diperbaiki sebelum "
    "ada korban lagi 🙏 anak sekolah lewat tiap pagi. Terima kasih #aduanagam"
)


async def test_long_post_is_cut_at_280_and_whole_only_in_note_tweet(fake_x: FakeX) -> None:
    tweet_id = fake_x.tweet(LONG_POST)
    fields = {"query": "#aduanagam", "tweet.fields": "entities"}
    status, plain, _ = await get(fake_x.url, fields)
    assert status == 200
    (shown,) = plain["data"]
    assert shown["id"] == tweet_id
    assert "note_tweet" not in shown  # only when tweet.fields asks for it, as on X
    assert "#aduanagam" not in shown["text"]
    assert "hashtags" not in shown["entities"]  # the search still found it: X sees it all
    _, asked, _ = await get(fake_x.url, fields | {"tweet.fields": "entities,note_tweet"})
    note = asked["data"][0]["note_tweet"]
    assert note["text"].startswith(shown["text"])
    assert note["text"].endswith("Terima kasih #aduanagam")
    assert "photos.app.goo.gl" not in note["text"]  # links are t.co links, as on X
    (tag,) = note["entities"]["hashtags"]
    assert note["text"][tag["start"] : tag["end"]] == "#aduanagam"
    # The client asks for note_tweet: the gateway gets the whole post.
    client = api_for(fake_x.url)
    body = await client.search("#aduanagam")
    await client.close()
    assert body["data"][0]["note_tweet"]["text"] == note["text"]

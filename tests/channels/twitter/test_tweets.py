"""X API v2 search pages (real shapes, tests/fixtures/twitter/) -> tweets, skips, RawMessages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.twitter.tweets import BadPage, Found, parse_page, skip_reason, to_raw
from normalizer.types import Channel

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twitter"
OWN = "1790000000000000001"
WATCHED = frozenset({"aduanagam", "aduanpandeglang", "bebeja", "aduansurabaya"})


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def found_all(name: str) -> list[Found]:
    page = parse_page(load(name))
    return [Found(t, page) for t in page.tweets]


def test_photo_tweet_becomes_raw_message_with_reporter_meta_and_media() -> None:
    first, second = found_all("search_agam_photo.json")
    raw = to_raw(first, WATCHED)
    assert raw.channel is Channel.TWITTER
    assert raw.external_id == "1795012345678901250"
    assert raw.sender == "@rini_lbs"
    assert raw.sender_name == "Rini Lubis"
    assert raw.recipient == "#aduanagam"
    assert raw.text == "Lampu jalan mati di Jl. Sudirman #aduanagam https://t.co/Xa8kPq2Lmn"
    assert raw.received_at.isoformat() == "2024-05-27T01:12:45+00:00"
    assert raw.meta["username"] == "rini_lbs"
    assert raw.meta["user_id"] == "1187365428764213249"
    assert [h["tag"] for h in raw.meta["hashtags"]] == ["aduanagam"]
    assert raw.meta["geo"] == {"place_id": "0f4a2c8ad5d7d5a1"}
    (photo,) = raw.attachments
    assert photo.url == "https://pbs.twimg.com/media/GOnX1c2bQAAr9Zk.jpg"
    assert (photo.filename, photo.content_type) == ("3_1795012339123456000.jpg", "image/jpeg")
    # Mixed-case hashtag and a second, non-region hashtag: the recipient is the region's tag.
    assert to_raw(second, WATCHED).recipient == "#aduanagam"
    assert parse_page(load("search_agam_photo.json")).next_token


@pytest.mark.parametrize(
    ("index", "reason", "detail"),
    [
        (0, "retweet", {"retweet_of": "1795012345678901250"}),
        (1, None, None),  # a quote tweet is a complaint of its own
        (2, "reply_to_our_reply", {"replied_to": "1795015000000000000"}),
        (3, "own_account", {}),
    ],
)
def test_skip_reasons(index: int, reason: str | None, detail: dict | None) -> None:
    skip = skip_reason(found_all("search_retweet_quote_reply.json")[index], OWN)
    if reason is None:
        assert skip is None
    else:
        assert skip is not None
        assert (skip.reason, skip.detail) == (reason, detail)


def test_without_own_account_only_retweets_are_skipped() -> None:
    reasons = [skip_reason(f, None) for f in found_all("search_retweet_quote_reply.json")]
    assert [s.reason if s else None for s in reasons] == ["retweet", None, None, None]


def test_manual_retweet_is_a_retweet() -> None:
    (first, _) = found_all("search_agam_photo.json")
    manual = Found({**first.tweet, "text": "RT @rini_lbs: Lampu jalan mati #aduanagam"}, first.page)
    skip = skip_reason(manual, OWN)
    assert skip is not None
    assert skip.reason == "retweet"


def test_quote_tweet_is_the_citizens_own_text_with_the_quoted_post_in_meta() -> None:
    quote = found_all("search_retweet_quote_reply.json")[1]
    raw = to_raw(quote, WATCHED)
    assert raw.text == "Betul, sudah seminggu gelap, rawan begal #aduanagam https://t.co/QtQ9wE1mZp"
    assert raw.meta["quoted"] == {
        "id": "1795012345678901250",
        "available": True,
        "author_id": "1187365428764213249",
        "username": "rini_lbs",
        "text": "Lampu jalan mati di Jl. Sudirman #aduanagam https://t.co/Xa8kPq2Lmn",
    }


def test_deleted_author_and_missing_media_do_not_break_the_tweet() -> None:
    page = parse_page(load("search_deleted_author_no_media.json"))
    assert page.partial_errors == 1
    raw = to_raw(Found(page.tweets[0], page), WATCHED)
    assert raw.sender == "x-user:1600000000000000099"
    assert raw.meta["author_missing"] is True
    assert raw.meta["user_id"] == "1600000000000000099"
    assert raw.sender_name is None
    assert raw.attachments == ()


def test_edge_texts_without_includes() -> None:
    page = parse_page(load("search_edge_texts_no_includes.json"))
    assert page.malformed == 1  # the entry without an id is counted, never guessed at
    only_tag, no_tag, emoji = (to_raw(Found(t, page), WATCHED) for t in page.tweets)
    assert only_tag.text == "#aduanagam"
    assert no_tag.meta["hashtags"] == []
    assert no_tag.recipient == "x:search"
    assert len(emoji.text) == 279
    assert emoji.sender.startswith("x-user:")


def test_ids_that_are_not_ascii_digits_are_malformed() -> None:
    data = [{"id": "²", "text": "#aduanagam a"}, {"id": "١٢", "text": "#aduanagam b"}]
    page = parse_page({"data": [*data, {"id": "17", "text": "#aduanagam c"}], "meta": {}})
    assert ([t["id"] for t in page.tweets], page.malformed) == (["17"], 2)


def test_empty_result_is_a_page_without_tweets() -> None:
    page = parse_page(load("search_empty.json"))
    assert page.tweets == []
    assert page.next_token is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (load("errors_only_200.json"), "only errors"),
        ([1, 2, 3], "not a JSON object"),
        ({"data": "x", "meta": {"result_count": 1}}, "data is not a list"),
        ({"data": []}, "no meta"),
    ],
)
def test_answers_that_are_not_search_results_are_refused(body: object, message: str) -> None:
    with pytest.raises(BadPage, match=message):
        parse_page(body)

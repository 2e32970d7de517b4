"""Long posts, quotes and replies (tests/fixtures/twitter/search_long_posts.json, X's shapes)
through to_raw and the normalizer, one row per post: what is routed and what is stored.

Each long post has its only hashtag after X's 280-character cut, so it is routed only when
the text and hashtags come from `note_tweet`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels.twitter.tweets import Found, parse_page, to_raw
from normalizer import Normalized, Rejection, RejectReason, normalize
from tests.normalizer.cases import REGIONS

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "twitter" / "search_long_posts.json"
WATCHED = frozenset(tag for region in REGIONS for tag in region.hashtags)


@dataclass(frozen=True)
class Row:
    tweet_id: str
    region: str | None  # None: unrouted
    recipient: str
    starts: str  # the stored complaint text starts and ends like this
    ends: str
    long_post: bool


ROWS = [
    pytest.param(
        Row(
            "1795060000000000001",
            "AGAM",
            "#aduanagam",
            "Assalamualaikum. Sudah tiga minggu jalan di Jorong Padang Tongah",
            "Terima kasih @dinaspu_agam #jalanrusak",
            long_post=True,
        ),
        id="long-post-hashtag-in-tail-emoji-url",
    ),
    pytest.param(
        Row(
            "1795060000000000002",
            "AGAM",
            "#aduanagam",
            "Betul kak, di tempat kami juga sama.",  # the reply's leading @mention is gone
            "Sudah lebih dari sebulan warga menunggu.",
            long_post=True,
        ),
        id="long-reply-mixed-case-tag",
    ),
    pytest.param(
        Row(
            "1795060000000000003",
            "AGAM",
            "#aduanagam",
            "Ini juga terjadi di Kecamatan Tanjung Raya, Agam:",
            "Kami siap gotong royong kalau ada alat berat.",  # no quoted text, no link
            long_post=True,
        ),
        id="long-quote-own-tag-not-the-quoted-one",
    ),
    pytest.param(
        Row(
            "1795060000000000004",
            None,
            "x:search",
            "Semoga cepat ditangani ya 🙏",
            "ditangani ya 🙏",
            long_post=False,
        ),
        id="quote-without-own-tag-is-unrouted",
    ),
]


def found(tweet_id: str) -> Found:
    page = parse_page(json.loads(FIXTURE.read_text(encoding="utf-8")))
    (tweet,) = [t for t in page.tweets if t["id"] == tweet_id]
    return Found(tweet, page)


@pytest.mark.parametrize("row", ROWS)
def test_long_posts_quotes_and_replies(row: Row) -> None:
    item = found(row.tweet_id)
    assert len(item.tweet["text"]) < 281
    raw = to_raw(item, WATCHED)
    assert raw.recipient == row.recipient
    assert bool(raw.meta.get("long_post")) is row.long_post
    if row.long_post:
        assert raw.text == item.tweet["note_tweet"]["text"]
        assert not item.tweet.get("entities", {}).get("hashtags")  # the cut has none
    got = normalize(raw, REGIONS)
    if row.region is None:
        assert isinstance(got, Rejection), got
        assert got.reason is RejectReason.UNROUTED
    else:
        assert isinstance(got, Normalized), got
        assert got.region_code == row.region
    assert got.text.startswith(row.starts), got.text
    assert got.text.endswith(row.ends), got.text
    assert "t.co" not in got.text
    assert "Rungkut" not in got.text  # the quoted post's words are not the complaint


def test_quoted_post_is_kept_for_the_operator_not_in_the_text() -> None:
    raw = to_raw(found("1795060000000000003"), WATCHED)
    assert raw.meta["quoted"] == {
        "id": "1795059000000000001",
        "available": True,
        "author_id": "1650000000000000123",
        "username": "surabaya_warga",
        "text": "Banjir lagi di Rungkut, air setinggi lutut 🌊 #aduansurabaya https://t.co/Fl0odRk8sY",
    }
    assert "#aduansurabaya" not in raw.text
    assert [h["tag"] for h in raw.meta["hashtags"]] == ["aduanagam"]


def test_reply_keeps_the_post_it_answers_as_a_reference() -> None:
    raw = to_raw(found("1795060000000000002"), WATCHED)
    assert raw.meta["replied_to"] == "1795012345678901250"
    assert raw.text.startswith("@rini_lbs Betul kak")  # cleanup is the normalizer's job


def test_without_note_tweet_a_long_post_is_cut_and_unrouted() -> None:
    """What happened before tweet.fields asked for note_tweet, kept as the reason it must."""
    item = found("1795060000000000001")
    cut = Found({k: v for k, v in item.tweet.items() if k != "note_tweet"}, item.page)
    raw = to_raw(cut, WATCHED)
    assert raw.recipient == "x:search"
    assert isinstance(normalize(raw, REGIONS), Rejection)

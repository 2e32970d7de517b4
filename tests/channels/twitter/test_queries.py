"""Hashtag queries: ORed, -is:retweet, split below X's 512-character limit."""

from __future__ import annotations

import itertools

from channels.twitter.queries import build_queries, cursor_key
from fakes.x_api import compile_query


def test_one_region_and_several_regions() -> None:
    assert build_queries(["aduanagam"], 512) == ["#aduanagam -is:retweet"]
    assert build_queries(["aduanagam", "#AduanPandeglang", "bebeja", "aduanagam"], 512) == [
        "(#aduanagam OR #aduanpandeglang OR #bebeja) -is:retweet"
    ]
    assert build_queries([], 512) == []


def test_split_when_a_query_would_pass_the_limit() -> None:
    # A province-wide install: 60 regions with two hashtags each.
    tags = [f"aduan{name}" for i in range(60) for name in (f"kabupaten{i:02d}", f"kota{i:02d}")]
    queries = build_queries(tags, 512)
    assert len(queries) > 1
    assert all(len(q) <= 512 for q in queries)
    assert all(q.endswith(" -is:retweet") for q in queries)
    # Every hashtag lands in exactly one query, in order, and the queries are as full as they
    # can be: the next hashtag would not have fitted.
    found = [t for q in queries for t in q.removesuffix(" -is:retweet").strip("()").split(" OR ")]
    assert found == [f"#{t}" for t in tags]
    for q, following in itertools.pairwise(queries):
        first_next = following.strip("(").split(" ")[0]
        assert len(q) + len(" OR ") + len(first_next) > 512


def test_queries_are_valid_for_the_fake_api_parser() -> None:
    (query,) = build_queries(["aduanagam", "bebeja"], 512)
    matches = compile_query(query)
    tweet = {"text": "x", "entities": {"hashtags": [{"tag": "Bebeja"}]}}
    assert matches(tweet)
    assert not matches({**tweet, "referenced_tweets": [{"type": "retweeted", "id": "1"}]})
    assert not matches({"text": "x", "entities": {}})


def test_cursor_key_is_stable_and_short() -> None:
    key = cursor_key("#aduanagam -is:retweet")
    assert key == cursor_key("#aduanagam -is:retweet")
    assert key != cursor_key("(#aduanagam OR #bebeja) -is:retweet")
    assert len(key) < 64

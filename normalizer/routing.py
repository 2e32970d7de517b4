"""Which region a message belongs to, per channel, and the text left once the routing
token (keyword, hashtag) is taken out.

A region_hint (an API key bound to a region, a per-region mailbox) always wins over what the
text says; normalize() applies it on top of the channel's own routing done here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from normalizer.addresses import address_table, match_address
from normalizer.hashtags import clean_tweet, hashtag_table, match_hashtag
from normalizer.keywords import first_token, keyword_table, match_keyword
from normalizer.types import Channel, RawMessage, RegionRules

# A first word shown in an unrouted detail must look like a keyword attempt: the detail
# reaches the ingestion log, which never carries numbers or long personal text.
_SHOWABLE_WORD = re.compile(r"[A-Za-z]{1,20}")


@dataclass(frozen=True, slots=True)
class Routed:
    region_code: str | None
    text: str
    matched_by: str = ""  # "keyword AGAM", "#aduanagam", "aduan@agamkab.go.id"
    confidential: bool = False
    anonymous: bool = False
    notes: tuple[str, ...] = ()
    unrouted_detail: str = ""


def _route_sms(text: str, regions: Sequence[RegionRules]) -> Routed:
    match = match_keyword(text, keyword_table(regions))
    if match is None:
        word = first_token(text)
        shown = f' "{word}"' if _SHOWABLE_WORD.fullmatch(word) else ""
        return Routed(None, text, unrouted_detail=f"first word{shown} is no region's SMS keyword")
    flags = [
        name for name, on in (("RAHASIA", match.confidential), ("ANONIM", match.anonymous)) if on
    ]
    notes = (f"SMS flags {', '.join(flags)} taken from the text",) if flags else ()
    return Routed(
        match.region_code,
        match.text,
        matched_by=f"keyword {match.keyword}",
        confidential=match.confidential,
        anonymous=match.anonymous,
        notes=notes,
    )


def _route_tweet(raw: RawMessage, text: str, regions: Sequence[RegionRules]) -> Routed:
    table = hashtag_table(regions)
    match = match_hashtag(text, raw.meta, table)
    if match is None:
        return Routed(None, clean_tweet(text, ()), unrouted_detail="no region hashtag in the tweet")
    own_tags = [tag for tag, code in table.items() if code == match.region_code]
    notes = tuple(
        f"also matched #{tag} ({code}); routed to first (#{match.hashtag})"
        for tag, code in match.others
    )
    return Routed(
        match.region_code,
        clean_tweet(text, own_tags),
        matched_by=f"#{match.hashtag}",
        notes=notes,
    )


def _route_email(raw: RawMessage, text: str, regions: Sequence[RegionRules]) -> Routed:
    match = match_address(raw.recipient, address_table(regions))
    if match is None:
        return Routed(None, text, unrouted_detail="no recipient address belongs to a region")
    notes = tuple(
        f"also addressed to {addr} ({code}); routed to first ({match.address})"
        for addr, code in match.others
    )
    return Routed(match.region_code, text, matched_by=match.address, notes=notes)


def route(raw: RawMessage, text: str, regions: Sequence[RegionRules]) -> Routed:
    """The channel's own routing of cleaned `text` (region_hint not considered here)."""
    match raw.channel:
        case Channel.SMS | Channel.WHATSAPP | Channel.TELEGRAM:
            # Chat messages follow the SMS keyword rules ("AGAM jalan rusak"): citizens
            # already know them from 1708. A region's own WhatsApp number comes as region_hint.
            return _route_sms(text, regions)
        case Channel.TWITTER:
            return _route_tweet(raw, text, regions)
        case Channel.EMAIL:
            return _route_email(raw, text, regions)
        case _:
            return Routed(None, text, unrouted_detail="no region given")

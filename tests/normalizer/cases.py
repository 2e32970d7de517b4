"""Builders for normalizer test rows: the example regions and one RawMessage per channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from normalizer.types import Channel, RawMessage, RegionRules, Reporter

REGIONS = (
    RegionRules(
        code="AGAM",
        name="Kabupaten Agam",
        sms_keywords=("AGAM",),
        hashtags=("aduanagam",),
        email_addresses=("aduan@agamkab.go.id",),
    ),
    RegionRules(
        code="PDG",
        name="Kabupaten Pandeglang",
        sms_keywords=("PANDEGLANG", "BEBEJA"),
        hashtags=("aduanpandeglang",),
        email_addresses=("lapor@pandeglangkab.go.id",),
    ),
    RegionRules(
        code="SBY",
        name="Kota Surabaya",
        sms_keywords=("SBY", "SURABAYA"),
        hashtags=("aduansurabaya",),
        email_addresses=("aduan@surabaya.go.id",),
    ),
)
SHORT_CODE = "1708"
PHONE = "081234567890"
PHONE_E164 = "+6281234567890"
RECEIVED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def sms(text: str, *, sender: str = PHONE, recipient: str = SHORT_CODE, **kw: Any) -> RawMessage:
    return RawMessage(Channel.SMS, "sms-1", sender, recipient, text, RECEIVED, **kw)


def tweet(
    text: str, *, username: str = "warga_lubukbasung", user_id: str = "1469101279", **kw: Any
) -> RawMessage:
    meta = {"username": username, "user_id": user_id, **kw.pop("meta", {})}
    return RawMessage(
        Channel.TWITTER, "1790000000000000001", f"@{username}", "", text, RECEIVED,
        meta=meta, sender_name=kw.pop("sender_name", "Warga Agam"), **kw,
    )  # fmt: skip


def whatsapp(text: str, *, sender: str = "6281234567890", **kw: Any) -> RawMessage:
    """Cloud API: `from` is the phone without "+"; the business number is the recipient."""
    return RawMessage(
        Channel.WHATSAPP, "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBDMEM5", sender,
        "6281100001708", text, RECEIVED, sender_name=kw.pop("sender_name", "Budi"), **kw,
    )  # fmt: skip


def telegram(text: str, **kw: Any) -> RawMessage:
    """Bot API: the sender is the chat id; no phone number is given."""
    return RawMessage(
        Channel.TELEGRAM, "123456789:42", "123456789", "", text, RECEIVED,
        sender_name=kw.pop("sender_name", "Siti"), **kw,
    )  # fmt: skip


def email(
    text: str,
    *,
    to: str = "aduan@agamkab.go.id",
    sender: str = "Budi Santoso <Budi.Santoso@Gmail.com>",
    **kw: Any,
) -> RawMessage:
    return RawMessage(Channel.EMAIL, "<abc@mail.gmail.com>", sender, to, text, RECEIVED, **kw)


def api(text: str, *, region: str | None = "AGAM", reporter: Reporter | None = None,
        channel: Channel = Channel.API, **kw: Any) -> RawMessage:  # fmt: skip
    return RawMessage(
        channel, "bebeja-77", "bebeja", "", text, RECEIVED,
        region_hint=region, reporter=reporter, **kw,
    )  # fmt: skip

"""PDU decoding and encoding against published vectors, and the traps of design §7."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gsmmodem.pdu import decodeSmsPdu

from channels.sms.pdu import (
    Concat,
    Encoding,
    PduError,
    decode_deliver,
    encode_submit,
    gsm7_length,
    printable,
    ucs2_text,
)
from tests.channels.sms.modem_simulator import (
    Part,
    decode_submit,
    encode_deliver,
    split_deliver,
    split_ucs2_units,
)

VECTORS = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "sms" / "deliver_pdus.json").read_text("utf-8")
)
TS = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)
SENDER = "+6281234567890"


@pytest.mark.parametrize("v", VECTORS["valid"], ids=lambda v: v["label"])
def test_decodes_published_deliver_vectors(v: dict) -> None:
    pdu = decode_deliver(v["pdu"])
    assert pdu.text == v["text"]
    assert pdu.sender == v["sender"]
    assert pdu.smsc == v["smsc"]
    assert pdu.encoding is Encoding(v["encoding"])
    assert pdu.timestamp == datetime.fromisoformat(v["timestamp"])
    assert pdu.timestamp.utcoffset() == datetime.fromisoformat(v["timestamp"]).utcoffset()
    if "concat" in v:
        assert pdu.concat == Concat(*v["concat"])
    else:
        assert pdu.concat is None


@pytest.mark.parametrize("v", VECTORS["invalid"], ids=lambda v: v["label"])
def test_rejects_bad_pdus_with_a_reason(v: dict) -> None:
    with pytest.raises(PduError) as err:
        decode_deliver(v["pdu"])
    assert err.value.reason == v["reason"]


def test_announced_length_must_match() -> None:
    hello = VECTORS["valid"][0]["pdu"]
    assert decode_deliver(hello, tpdu_length=28).text == "hellohello"
    with pytest.raises(PduError, match="length_mismatch"):
        decode_deliver(hello, tpdu_length=27)


@pytest.mark.parametrize(
    "v", [v for v in VECTORS["valid"] if "note" not in v], ids=lambda v: v["label"]
)
def test_simulator_encoder_reproduces_published_vectors(v: dict) -> None:
    encoded = encode_deliver(
        v["sender"],
        v["text"],
        datetime.fromisoformat(v["timestamp"]),
        part=Part(*v["concat"][:3]) if "concat" in v else None,
        ucs2=v["encoding"] == "ucs2",
        smsc=v["smsc"],
        sender_toa=v.get("sender_toa"),
        pid=v.get("pid", 0),
        dcs=v.get("dcs"),
    )
    assert encoded == v["pdu"].upper()


def test_gsm7_behind_a_16_bit_reference_keeps_its_first_character() -> None:
    text = "AGAM jalan rusak di depan pasar " * 8
    parts = split_deliver(SENDER, text, TS, ref=0xBEEF, ref16=True)
    decoded = [decode_deliver(p) for p in parts]
    assert [d.concat for d in decoded] == [
        Concat(0xBEEF, len(parts), i, 16) for i in range(1, len(parts) + 1)
    ]
    assert "".join(d.text for d in decoded) == text
    # The library's decoder drops the first character of such a part (design §7).
    assert decodeSmsPdu(parts[1])["text"] != decoded[1].text


def test_emoji_split_between_ucs2_parts_comes_out_whole() -> None:
    text = ("Jalan berlubang. " * 4)[:66] + "🚧 bahaya"  # the cut (unit 67) splits 🚧
    units = text.encode("utf-16-be")
    parts = [decode_deliver(p) for p in split_ucs2_units(SENDER, units, TS, ref=7)]
    assert parts[0].text.endswith("\ud83d")  # the cut falls inside the surrogate pair
    assert ucs2_text(b"".join(p.ucs2 or b"" for p in parts)) == text
    assert printable(parts[0].text).isprintable()


def test_single_ucs2_emoji_message() -> None:
    pdu = decode_deliver(encode_deliver(SENDER, "AGAM banjir 🌊🙏", TS))
    assert pdu.encoding is Encoding.UCS2 and pdu.text == "AGAM banjir 🌊🙏"


def test_part_255_of_255() -> None:
    pdu = decode_deliver(encode_deliver(SENDER, "akhir", TS, part=Part(200, 255, 255)))
    assert pdu.concat == Concat(200, 255, 255, 8) and pdu.text == "akhir"


PUBLISHED_SUBMIT = [
    # dreamfabric.com/sms: hellohello to +46708251358, validity 4 days
    ("+46708251358", "hellohello", 0, ["0011000B916407281553F80000AA0AE8329BFD4697D9EC37"]),
    # python-messaging: UCS-2 to a national number
    ("655345678", "Русский", 0, ["001100098156355476F80008AA0E0420044304410441043A04380439"]),
    # python-messaging: three concatenated GSM-7 parts, reference 136
    (
        "655345678",
        "Or walk with Kings - nor lose the common touch, if neither foes nor loving friends "
        "can hurt you, If all men count with you, but none too much; If you can fill the "
        "unforgiving minute With sixty seconds' worth of distance run, Yours is the Earth and "
        "everything thats in it, And - which is more - you will be a Man, my son",
        136,
        [
            "005100098156355476F80000AAA00500038803019E72D03DCC5E83EE693A1AB44CBBCF73500BE47ECB41ECF7BC0CA2A3CBA0F1BBDD7EBB41F4777D8C6681D26690BB9CA6A3CB7290F95D9E83DC6F3988FDB6A7DD6790599E2EBBC973D038EC06A1EB723A28FFAEB340493328CC6683DA653768FCAEBBE9A07B9A8E06E5DF7516485CA783DC6F7719447FBF41EDFA18BD0325CDA0FCBB0E1A87DD",
            "005100098156355476F80000AAA005000388030240E6349B0DA2A3CBA0BADBFC969FD3F6B4FB0C6AA7DD757A19744DD3D1A0791A4FCF83E6E5F1DB4D9E9F40F7B79C8E06BDCD20727A4E0FBBC76590BCEE6681B2EFBA7C0E4ACF41747419540CCBE96850D84D0695ED65799E8E4EBBCF203A3A4C9F83D26E509ACE0205DD64500B7447A7C768507A0E6ABFE565500B947FD741F7349B0D129741",
            "005100098156355476F80000AA14050003880303C2A066D8CD02B5F3A0F9DB0D",
        ],
    ),
]


@pytest.mark.parametrize(
    "dest,text,ref,expected", PUBLISHED_SUBMIT, ids=["hello", "ucs2", "3-part"]
)
def test_encodes_published_submit_vectors(dest: str, text: str, ref: int, expected: list) -> None:
    pdus = encode_submit(dest, text, ref, validity=0xAA)
    assert [p.hex for p in pdus] == expected
    assert all(p.tpdu_length == len(p.hex) // 2 - 1 for p in pdus)


@pytest.mark.parametrize(
    "text,parts",
    [
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("€" * 80, 1),
        ("€" * 153, 3),  # 306 septets; an escape pair is never cut
        ("ő" * 70, 1),
        ("ő" * 71, 2),
        ("🙏" * 35, 1),
        ("🙏" * 36, 2),  # 72 units; a surrogate pair is never cut
    ],
)
def test_submit_split_round_trips(text: str, parts: int) -> None:
    pdus = encode_submit("+6281234567890", text, 9)
    assert len(pdus) == parts
    sent = [decode_submit(p.hex) for p in pdus]
    assert "".join(s.text for s in sent) == text
    assert {s.destination for s in sent} == {"+6281234567890"}
    if parts > 1:
        assert [s.concat for s in sent] == [(9, parts, i) for i in range(1, parts + 1)]


def test_gsm7_length_counts_extension_characters_twice() -> None:
    assert gsm7_length("AGAM [jalan]") == 14
    assert gsm7_length("AGAM 🙏") is None

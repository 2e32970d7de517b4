"""The webhook payload parser, one row per fixture (shaped as Meta's documentation) and
per kind of damage; pure, no I/O."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.whatsapp.payload import Location, PayloadError, parse

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def first_message(data: dict[str, Any]) -> dict[str, Any]:
    return data["entry"][0]["changes"][0]["value"]["messages"][0]


@pytest.mark.parametrize(
    ("name", "kind", "text", "media"),
    [
        ("text.json", "text", "AGAM jalan rusak di depan SD 05 Lubuk Basung", None),
        ("image.json", "image", "AGAM jembatan Batang Antokan retak, foto terlampir", "image/jpeg"),
        ("document.json", "document", "AGAM surat keluhan warga Nagari Tiku", "application/pdf"),
        ("audio.json", "audio", "", "audio/ogg; codecs=opus"),
        ("video.json", "video", "AGAM banjir setinggi lutut di Nagari Tiku", "video/mp4"),
        ("location.json", "location", "Pasar Turi, Jl. Semarang, Bubutan, Surabaya", None),
        ("interactive_button_reply.json", "interactive", "Ya, laporkan", None),
        (
            "interactive_list_reply.json",
            "interactive",
            "Jalan rusak — Jalan berlubang atau aspal mengelupas",
            None,
        ),
        ("button.json", "button", "Cek status", None),
    ],
)
def test_messages(name: str, kind: str, text: str, media: str | None) -> None:
    parsed = parse(fixture(name))
    assert not parsed.skipped and not parsed.malformed and not parsed.statuses
    [m] = parsed.messages
    assert (m.kind, m.text) == (kind, text)
    assert m.sender == "+6281234567890" and m.sender_name == "Budi Santoso"
    assert m.sent_at.isoformat() == "2025-12-03T08:00:00+00:00"
    assert (m.media.mime_type if m.media else None) == media
    if name == "document.json":
        assert m.media is not None and m.media.filename == "surat-keluhan.pdf"
    if name == "location.json":
        assert m.location == Location(
            -7.2575, 112.7521, "Pasar Turi", "Jl. Semarang, Bubutan, Surabaya"
        )
        assert (m.to_number, m.to_phone_number_id) == ("6281130001708", "107655329054113")
    if name == "interactive_button_reply.json":
        assert m.reply_id == "lapor-ya" and m.context_id is not None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("reaction.json", "reaction"),
        ("unsupported.json", "unsupported type unknown (errors 131051)"),
        ("sticker.json", "unsupported type sticker"),
    ],
)
def test_not_complaints(name: str, why: str) -> None:
    parsed = parse(fixture(name))
    assert not parsed.messages and not parsed.malformed
    [skipped] = parsed.skipped
    assert skipped.why == why and skipped.wamid == first_message(fixture(name))["id"]


def test_statuses() -> None:
    parsed = parse(fixture("statuses_sent_delivered_read.json"))
    assert [s.status for s in parsed.statuses] == ["sent", "delivered", "read"]
    assert len({s.wamid for s in parsed.statuses}) == 1 and not parsed.messages
    [failed] = parse(fixture("status_failed.json")).statuses
    assert failed.status == "failed"
    assert failed.errors == (
        {"code": 131026, "title": "Message undeliverable", "details": "Message Undeliverable."},
    )


def test_batch_keeps_the_good_messages_and_names_the_bad_one() -> None:
    parsed = parse(fixture("batch.json"))
    assert [m.text for m in parsed.messages] == [
        "AGAM sampah menumpuk di Pasar Lubuk Basung",
        "SBY lampu jalan mati di Jl. Darmo",
        "AGAM saluran air tersumbat di Jorong Koto",
        "Trotoar rusak depan Balai Kota",
    ]
    names = [m.sender_name for m in parsed.messages]
    assert names == ["Budi Santoso", "Budi Santoso", "Siti Rahma", "Andi Wijaya"]
    [bad] = parsed.malformed
    assert bad.where == "entry[0].changes[0].value.messages[1]"
    assert bad.why == "from is missing or not text" and bad.wamid
    assert [s.status for s in parsed.statuses] == ["delivered"]


def _damaged(change: str) -> dict[str, Any]:
    data = copy.deepcopy(fixture("text.json"))
    m = first_message(data)
    match change:
        case "no id":
            del m["id"]
        case "from not digits":
            m["from"] = "budi"
        case "timestamp words":
            m["timestamp"] = "kemarin"
        case "text not an object":
            m["text"] = "AGAM jalan rusak"
        case "body a number":
            m["text"] = {"body": 12}
        case "message a list":
            data["entry"][0]["changes"][0]["value"]["messages"][0] = ["x"]
        case "latitude out of range":
            m.update(type="location", location={"latitude": 200, "longitude": 1})
        case "unknown status":
            data["entry"][0]["changes"][0]["value"]["statuses"] = [
                {"id": "wamid.X", "status": "exploded", "timestamp": "1764748800"}
            ]
            del data["entry"][0]["changes"][0]["value"]["messages"]
    return data


@pytest.mark.parametrize(
    "change",
    [
        "no id",
        "from not digits",
        "timestamp words",
        "text not an object",
        "body a number",
        "message a list",
        "latitude out of range",
        "unknown status",
    ],
)
def test_damaged_parts_are_malformed_not_fatal(change: str) -> None:
    parsed = parse(_damaged(change))
    assert not parsed.messages and not parsed.statuses
    [bad] = parsed.malformed
    assert bad.where.startswith("entry[0].changes[0].value.")


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": {}},
    ],
)
def test_not_a_whatsapp_envelope(body: Any) -> None:
    with pytest.raises(PayloadError):
        parse(body)


def test_other_fields_are_not_messages() -> None:
    data = fixture("text.json")
    data["entry"][0]["changes"][0]["field"] = "message_template_status_update"
    parsed = parse(data)
    assert not (parsed.messages or parsed.malformed or parsed.skipped)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
FUZZED = ["batch.json", "status_failed.json", "unsupported.json", "location.json"]


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a payload: dict keys and list indexes, parents before children."""
    children: list[tuple[Any, ...]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            children += _paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            children += _paths(v, (*path, i))
    return [path, *children] if path else children


@st.composite
def damaged_payloads(draw: st.DrawFn) -> Any:
    """A fixture with one to three of its values replaced by any JSON, or deleted."""
    data = fixture(draw(st.sampled_from(FUZZED)))
    for _ in range(draw(st.integers(1, 3))):
        places = _paths(data)
        if not places:
            break
        *parent_path, last = draw(st.sampled_from(places))
        parent = data
        for step in parent_path:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[last]
        else:
            parent[last] = draw(JSON)
    return data


@settings(max_examples=500, deadline=None)
@given(damaged_payloads())
def test_any_damage_is_a_payload_error_or_a_named_part(data: Any) -> None:
    try:
        parsed = parse(data)
    except PayloadError:
        return
    for bad in parsed.malformed:
        assert bad.where.startswith("entry[") and bad.why

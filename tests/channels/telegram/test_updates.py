"""The Update parser as a table over the fixtures (shaped like the Bot API documentation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from channels.telegram.updates import HelpRequest, Ignored, Incoming, Malformed, parse_update
from normalizer.types import Location

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_text_message_keeps_text_and_sender() -> None:
    got = parse_update(fixture("text_keyword"))
    assert isinstance(got, Incoming)
    assert got.external_id == "700100200:42"
    assert got.text == "AGAM jalan rusak di depan pasar Lubuk Basung 🚧"
    assert got.sender.chat_id == "700100200" and got.sender.from_id == "700100200"
    assert (got.sender.username, got.sender.name) == ("siti_rahma", "Siti Rahmawati")
    assert got.date.isoformat() == "2026-12-04T08:00:00+00:00"
    assert got.command is None and got.files == () and got.location is None


def test_lapor_command_with_bot_name_is_stripped() -> None:
    got = parse_update(fixture("lapor_command_botname"))
    assert isinstance(got, Incoming)
    assert (got.command, got.text) == ("lapor", "AGAM lampu jalan mati sejak seminggu")


def test_group_message_replies_to_the_group_and_names_the_person() -> None:
    got = parse_update(fixture("group_message"))
    assert isinstance(got, Incoming)
    assert got.external_id == "-1009876543210:311"
    assert (got.sender.chat_id, got.sender.chat_type) == ("-1009876543210", "supergroup")
    assert (got.sender.from_id, got.sender.name) == ("700100203", "Rini Lubis")
    assert got.text == "AGAM sampah menumpuk di pantai Tiku sudah dua minggu"


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    got = parse_update(fixture("photo_sizes"))
    assert isinstance(got, Incoming)
    [photo] = got.files
    assert (photo.kind, photo.file_id, photo.file_size) == (
        "photo",
        "AgACAgUAAxkBAAIBLWXg4n0AAd1S-large",
        68023,
    )
    assert photo.mime_type == "image/jpeg"
    assert got.text == "PANDEGLANG jembatan gantung di Cikeusik putus talinya"


def test_document_keeps_its_name_and_type() -> None:
    got = parse_update(fixture("document"))
    assert isinstance(got, Incoming)
    [doc] = got.files
    assert (doc.kind, doc.file_name, doc.mime_type) == (
        "document",
        "surat_keterangan.pdf",
        "application/pdf",
    )


@pytest.mark.parametrize(
    ("name", "location", "text"),
    [
        ("location", Location(-0.290437, 100.005232), ""),
        (
            "venue",
            Location(
                -0.290437, 100.005232, "AGAM Pasar Lubuk Basung, Jl. Raya Lubuk Basung, Kab. Agam"
            ),
            "AGAM Pasar Lubuk Basung, Jl. Raya Lubuk Basung, Kab. Agam",
        ),
    ],
)
def test_location_and_venue(name: str, location: Location, text: str) -> None:
    got = parse_update(fixture(name))
    assert isinstance(got, Incoming)
    assert (got.location, got.text) == (location, text)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/start", "start"),
        ("/start AGAM", "start"),
        ("/bantuan", "bantuan"),
        ("/BANTUAN@LaporDaerahBot", "bantuan"),
        ("/help", "help"),
        ("/status AGM-000001", "status"),  # unknown commands get the help too
    ],
)
def test_help_commands(text: str, command: str) -> None:
    update = fixture("start")
    update["message"]["text"] = text
    got = parse_update(update)
    assert isinstance(got, HelpRequest)
    assert (got.command, got.external_id) == (command, "700100200:43")


@pytest.mark.parametrize(
    ("text", "want", "command"),
    [
        ("/lapor", "", "lapor"),  # intake answers it with the help (empty text)
        ("/lapor   AGAM  jalan", "AGAM  jalan", "lapor"),
        ("/laporan AGAM jalan", None, "laporan"),  # another command, not /lapor
        ("AGAM /lapor jalan", "AGAM /lapor jalan", None),  # commands only at the start
    ],
)
def test_lapor_variants(text: str, want: str | None, command: str | None) -> None:
    update = fixture("start")
    update["message"]["text"] = text
    got = parse_update(update)
    if want is None:
        assert isinstance(got, HelpRequest) and got.command == command
    else:
        assert isinstance(got, Incoming) and (got.text, got.command) == (want, command)


@pytest.mark.parametrize(
    ("name", "reason", "external_id"),
    [
        ("edited_message", "edited_message", "700100200:42"),
        ("channel_post", "channel_post", "-1001234567890:7"),
        ("sticker", "sticker", "700100200:50"),
        ("callback_query", "callback_query", "update:815204014"),
    ],
)
def test_not_complaints_are_ignored(name: str, reason: str, external_id: str) -> None:
    got = parse_update(fixture(name))
    assert isinstance(got, Ignored)
    assert (got.reason, got.external_id) == (reason, external_id)


def test_group_chatter_without_lapor_is_ignored() -> None:
    update = fixture("group_message")
    update["message"]["text"] = "AGAM nanti sore kita rapat di balai nagari"
    got = parse_update(update)
    assert isinstance(got, Ignored) and got.reason == "group_chatter"


def test_message_from_a_bot_is_ignored() -> None:
    update = fixture("text_keyword")
    update["message"]["from"]["is_bot"] = True
    got = parse_update(update)
    assert isinstance(got, Ignored) and got.reason == "from_bot"


@pytest.mark.parametrize(
    "update",
    [
        [],
        {"message": {}},
        {"update_id": "815204001", "message": {}},
        {"update_id": True},
        {"update_id": 1, "message": {"message_id": 1, "date": 1796371200}},
        {"update_id": 1, "message": {"message_id": 1, "chat": {"id": "x"}, "date": 1}},
        {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5}, "date": 10**20}},
    ],
)
def test_malformed_updates(update: Any) -> None:
    with pytest.raises(Malformed):
        parse_update(update)


def test_out_of_range_location_is_dropped() -> None:
    update = fixture("location")
    update["message"]["location"]["latitude"] = 123.0
    got = parse_update(update)
    assert isinstance(got, Ignored) and got.reason == "unsupported_message"

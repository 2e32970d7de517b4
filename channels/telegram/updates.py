"""Bot API Update objects -> what the gateway does with them. Pure: no I/O.

One Update carries at most one of message, edited_message, channel_post, callback_query, ...
Only a `message` can be a complaint; everything else is logged and ignored. Within a message:
  /start, /bantuan, /help (and any unknown command)  -> the help text, not a complaint
  /lapor AGAM jalan rusak, /lapor@NamaBot AGAM ...    -> "AGAM jalan rusak" into intake
  AGAM jalan rusak (text, or a caption)               -> into intake as it is (in a
                                                         group only /lapor counts)
  a photo (largest size), a document, audio, video, voice -> attachments to fetch (getFile)
  a location or venue                                 -> the complaint's location
  a sticker, a contact, a poll, service messages...   -> logged and ignored
The external id is `chat_id:message_id`, unique per bot: a redelivered update is a duplicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from normalizer.types import Location

GROUP_CHATS = frozenset({"group", "supergroup"})
REPORT_COMMAND = "lapor"
# `/command` or `/command@BotName` at the start, then the rest.
COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?=\s|$)\s*", re.S)
# Message fields whose file the gateway fetches (photo is a list of sizes, handled apart).
FILE_FIELDS = ("document", "video", "audio", "voice")
DEFAULT_TYPES = {
    "photo": "image/jpeg",
    "document": "application/octet-stream",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "voice": "audio/ogg",
}
# Message content the gateway does not take; the first present names the skip reason.
UNSUPPORTED_CONTENT = (
    "sticker",
    "animation",
    "video_note",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
    "invoice",
    "new_chat_members",
    "left_chat_member",
    "pinned_message",
)


class Malformed(ValueError):
    """Not an Update as the Bot API sends one; the text says what is wrong."""


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file to fetch with getFile: the largest photo size, or a document/audio/video."""

    kind: str  # photo | document | video | audio | voice
    file_id: str
    file_unique_id: str
    file_size: int | None
    file_name: str | None
    mime_type: str


@dataclass(frozen=True, slots=True)
class Sender:
    chat_id: str  # where replies go (the user in a private chat, else the group)
    chat_type: str
    from_id: str | None
    username: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message that goes into intake (whatever the normalizer then makes of it)."""

    update_id: int
    message_id: int
    sender: Sender
    text: str
    date: datetime
    files: tuple[FileRef, ...] = ()
    location: Location | None = None
    command: str | None = None  # "lapor" when it came as /lapor

    @property
    def external_id(self) -> str:
        return f"{self.sender.chat_id}:{self.message_id}"


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """/start, /bantuan, /help or an unknown command: answered with the help text."""

    update_id: int
    message_id: int
    sender: Sender
    command: str
    date: datetime

    @property
    def external_id(self) -> str:
        return f"{self.sender.chat_id}:{self.message_id}"


@dataclass(frozen=True, slots=True)
class Ignored:
    """Logged (ingestion log, outcome `skipped`) and otherwise left alone."""

    update_id: int
    reason: str
    external_id: str


Parsed = Incoming | HelpRequest | Ignored


def parse_update(update: Any) -> Parsed:
    """What one Update means for the gateway; raises Malformed for what is not an Update."""
    if not isinstance(update, dict):
        raise Malformed("an Update is a JSON object")
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise Malformed("update_id is missing or not a number")
    kinds = [k for k in update if k != "update_id"]
    if "message" not in update:
        kind = kinds[0] if kinds else "empty"
        message = update.get(kind)
        external = _message_key(message) or f"update:{update_id}"
        return Ignored(update_id, kind, external)
    message = update["message"]
    key = _message_key(message)
    if key is None:
        raise Malformed("message needs message_id, date and chat.id")
    sender = _sender(message)
    try:
        date = datetime.fromtimestamp(message["date"], UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed("message.date is not a Unix time") from None
    author = message.get("from")
    if isinstance(author, dict) and author.get("is_bot") is True:
        return Ignored(update_id, "from_bot", key)

    text = _str(message.get("text")) or _str(message.get("caption")) or ""
    command = None
    found = COMMAND_RE.match(text)
    if found:
        command = found.group(1).lower()
        if command != REPORT_COMMAND:
            return HelpRequest(update_id, message["message_id"], sender, command, date)
        text = text[found.end() :]

    if command is None and sender.chat_type in GROUP_CHATS:
        # A bot that may read a group must not answer its chatter: there, only /lapor counts.
        return Ignored(update_id, "group_chatter", key)
    files = _files(message)
    location = _location(message)
    if not (text.strip() or files or location or command):
        present = next((f for f in UNSUPPORTED_CONTENT if f in message), "unsupported_message")
        return Ignored(update_id, present, key)
    if location is not None and not text.strip():
        text = location.address or ""
    return Incoming(
        update_id=update_id,
        message_id=message["message_id"],
        sender=sender,
        text=text,
        date=date,
        files=files,
        location=location,
        command=command,
    )


def _message_key(message: Any) -> str | None:
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    message_id, date = message.get("message_id"), message.get("date")
    if not (isinstance(chat, dict) and _is_int(chat.get("id")) and _is_int(message_id)):
        return None
    if not _is_int(date):
        return None
    return f"{chat['id']}:{message_id}"


def _sender(message: dict[str, Any]) -> Sender:
    chat = message["chat"]
    author = message.get("from") if isinstance(message.get("from"), dict) else None
    person = author or chat  # a channel's or an anonymous admin's post has no `from`
    first, last = _str(person.get("first_name")), _str(person.get("last_name"))
    name = " ".join(p for p in (first, last) if p) or _str(chat.get("title"))
    from_id = person.get("id") if author else None
    return Sender(
        chat_id=str(chat["id"]),
        chat_type=_str(chat.get("type")) or "private",
        from_id=str(from_id) if _is_int(from_id) else None,
        username=_str(person.get("username")),
        name=name or None,
    )


def _files(message: dict[str, Any]) -> tuple[FileRef, ...]:
    found = []
    sizes = message.get("photo")
    if isinstance(sizes, list):
        usable = [s for s in sizes if isinstance(s, dict) and _str(s.get("file_id"))]
        if usable:  # the Bot API lists sizes smallest first; take the largest anyway
            best = max(usable, key=lambda s: _int(s.get("width")) * _int(s.get("height")))
            found.append(_file_ref("photo", best))
    for kind in FILE_FIELDS:
        item = message.get(kind)
        if isinstance(item, dict) and _str(item.get("file_id")):
            found.append(_file_ref(kind, item))
    return tuple(found)


def _file_ref(kind: str, item: dict[str, Any]) -> FileRef:
    size = item.get("file_size")
    return FileRef(
        kind=kind,
        file_id=item["file_id"],
        file_unique_id=_str(item.get("file_unique_id")) or item["file_id"],
        file_size=size if _is_int(size) else None,
        file_name=_str(item.get("file_name")),
        mime_type=_str(item.get("mime_type")) or DEFAULT_TYPES[kind],
    )


def _location(message: dict[str, Any]) -> Location | None:
    venue = message.get("venue") if isinstance(message.get("venue"), dict) else None
    point = (venue or {}).get("location") or message.get("location")
    if not isinstance(point, dict):
        return None
    lat, long = point.get("latitude"), point.get("longitude")
    if not (_is_number(lat) and _is_number(long)) or not (-90 <= lat <= 90 and -180 <= long <= 180):
        return None
    address = None
    if venue is not None:
        parts = (_str(venue.get("title")), _str(venue.get("address")))
        address = ", ".join(p for p in parts if p) or None
    return Location(lat=float(lat), long=float(long), address=address)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return value if _is_int(value) else 0

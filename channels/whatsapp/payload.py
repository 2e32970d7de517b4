"""Meta's webhook payload, taken apart: pure, no I/O.

One POST is `entry[] × changes[] × (messages[] | statuses[])`. Each message comes out as
a `WaMessage` (a complaint candidate), a `Skipped` (reactions, stickers, types we cannot
read: logged, never complaints) or a `Malformed` (a part we cannot make sense of, named by
its place in the payload). Statuses of our own replies come out as `WaStatus`. One bad
message never spoils the others; only a body that is not Meta's envelope at all is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MEDIA_TYPES = frozenset({"image", "video", "audio", "document"})
STATUSES = frozenset({"sent", "delivered", "read", "failed"})


class PayloadError(ValueError):
    """The body is not a WhatsApp Business Account webhook."""


@dataclass(frozen=True, slots=True)
class MediaRef:
    media_id: str
    mime_type: str
    filename: str | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    long: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class WaMessage:
    wamid: str
    sender: str  # E.164: Meta's `from` is the number with its country code, without "+"
    sender_name: str | None
    to_number: str  # our number as Meta shows it (display_phone_number), digits
    to_phone_number_id: str
    kind: str  # Meta's message type
    text: str
    sent_at: datetime
    media: MediaRef | None = None
    location: Location | None = None
    context_id: str | None = None  # the message of ours this one answers (buttons)
    reply_id: str | None = None  # the chosen button / list row id


@dataclass(frozen=True, slots=True)
class WaStatus:
    wamid: str  # the id the Graph API gave our reply
    status: str  # sent | delivered | read | failed
    at: datetime
    errors: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    wamid: str | None
    kind: str
    why: str


@dataclass(frozen=True, slots=True)
class Malformed:
    where: str
    why: str
    wamid: str | None = None


@dataclass
class Parsed:
    messages: list[WaMessage] = field(default_factory=list)
    statuses: list[WaStatus] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)


class _Bad(ValueError):
    pass


def parse(data: Any) -> Parsed:
    """The webhook body (decoded JSON) as messages, statuses and what was left out."""
    if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
        raise PayloadError('expected {"object": "whatsapp_business_account", "entry": [...]}')
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise PayloadError('"entry" must be an array')
    out = Parsed()
    for e, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            out.malformed.append(Malformed(f"entry[{e}]", "no changes array"))
            continue
        for c, change in enumerate(changes):
            where = f"entry[{e}].changes[{c}]"
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                out.malformed.append(Malformed(where, "no value object"))
                continue
            if change.get("field", "messages") != "messages":
                continue  # account and template updates: not ours to handle
            _parse_value(change["value"], where, out)
    return out


def _parse_value(value: dict[str, Any], where: str, out: Parsed) -> None:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    to_number = _digits(str(metadata.get("display_phone_number") or ""))
    to_id = str(metadata.get("phone_number_id") or "")
    names = _contact_names(value.get("contacts"))
    for kind, items in (("messages", value.get("messages")), ("statuses", value.get("statuses"))):
        if items is None:
            continue
        if not isinstance(items, list):
            out.malformed.append(Malformed(f"{where}.value.{kind}", "not an array"))
            continue
        for i, item in enumerate(items):
            at = f"{where}.value.{kind}[{i}]"
            wamid = item.get("id") if isinstance(item, dict) else None
            wamid = wamid if isinstance(wamid, str) and wamid else None
            try:
                if kind == "statuses":
                    out.statuses.append(_status(item))
                else:
                    parsed = _message(item, names, to_number, to_id)
                    if isinstance(parsed, Skipped):
                        out.skipped.append(parsed)
                    else:
                        out.messages.append(parsed)
            except _Bad as bad:
                out.malformed.append(Malformed(at, str(bad), wamid))


def _contact_names(contacts: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    if isinstance(contacts, list):
        for contact in contacts:
            if not isinstance(contact, dict):
                continue
            profile = contact.get("profile")
            name = profile.get("name") if isinstance(profile, dict) else None
            if isinstance(name, str) and name.strip() and isinstance(contact.get("wa_id"), str):
                names[contact["wa_id"]] = name.strip()
    return names


def _message(item: Any, names: dict[str, str], to_number: str, to_id: str) -> WaMessage | Skipped:
    if not isinstance(item, dict):
        raise _Bad("not an object")
    wamid = _text(item, "id")
    sender = _text(item, "from")
    if not sender.isdigit():
        raise _Bad(f"from is not a phone number: {sender[:20]!r}")
    kind = _text(item, "type")
    sent_at = _time(item.get("timestamp"))
    context = item.get("context") if isinstance(item.get("context"), dict) else {}
    base = {
        "wamid": wamid,
        "sender": "+" + sender,
        "sender_name": names.get(sender),
        "to_number": to_number,
        "to_phone_number_id": to_id,
        "kind": kind,
        "sent_at": sent_at,
        "context_id": context.get("id") if isinstance(context.get("id"), str) else None,
    }
    body = item.get(kind)
    if kind == "text":
        return WaMessage(text=_text(_object(body, kind), "body"), **base)
    if kind in MEDIA_TYPES:
        media = _object(body, kind)
        ref = MediaRef(
            media_id=_text(media, "id"),
            mime_type=str(media.get("mime_type") or "application/octet-stream"),
            filename=_optional(media, "filename"),
            sha256=_optional(media, "sha256"),
        )
        return WaMessage(text=_optional(media, "caption") or "", media=ref, **base)
    if kind == "location":
        loc = _object(body, kind)
        place = Location(
            lat=_coordinate(loc, "latitude", 90),
            long=_coordinate(loc, "longitude", 180),
            name=_optional(loc, "name"),
            address=_optional(loc, "address"),
        )
        text = ", ".join(p for p in (place.name, place.address) if p)
        return WaMessage(text=text, location=place, **base)
    if kind == "interactive":
        inter = _object(body, kind)
        choice = inter.get(str(inter.get("type")))
        if inter.get("type") not in ("button_reply", "list_reply") or not isinstance(choice, dict):
            return Skipped(wamid, kind, f"interactive {str(inter.get('type'))[:30]} not read")
        title = _text(choice, "title")
        description = _optional(choice, "description")
        text = f"{title} — {description}" if description else title
        return WaMessage(text=text, reply_id=_optional(choice, "id"), **base)
    if kind == "button":
        button = _object(body, kind)
        return WaMessage(text=_text(button, "text"), reply_id=_optional(button, "payload"), **base)
    if kind == "reaction":
        return Skipped(wamid, kind, "reaction")
    codes = [str(e.get("code")) for e in _objects(item.get("errors"))]
    why = f"unsupported type {kind[:30]}" + (f" (errors {', '.join(codes)})" if codes else "")
    return Skipped(wamid, kind, why)


def _status(item: Any) -> WaStatus:
    if not isinstance(item, dict):
        raise _Bad("not an object")
    status = _text(item, "status")
    if status not in STATUSES:
        raise _Bad(f"unknown status {status[:20]!r}")
    errors = tuple(
        {
            "code": e.get("code") if isinstance(e.get("code"), int) else None,
            "title": str(e.get("title") or e.get("message") or "")[:200],
            "details": str(
                next((d.get("details") for d in _objects([e.get("error_data")])), None) or ""
            )[:500],
        }
        for e in _objects(item.get("errors"))
    )
    return WaStatus(_text(item, "id"), status, _time(item.get("timestamp")), errors)


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list that should hold objects; anything else is left out."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _object(value: Any, kind: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"type {kind} without its {kind} object")
    return value


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise _Bad(f"{key} is missing or not text")
    return value


def _optional(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _coordinate(obj: dict[str, Any], key: str, limit: int) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > limit:
        raise _Bad(f"{key} is not a coordinate")
    return float(value)


def _time(value: Any) -> datetime:
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isdigit():
        raise _Bad("timestamp is not a Unix time")
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        raise _Bad("timestamp out of range") from None


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())

"""Who filed the complaint: the structured reporter a channel passed, else the channel's sender.

The reporter is stored even for anonymous complaints; anonymity only withholds it from LAPOR.
"""

from __future__ import annotations

from normalizer.addresses import parse_sender
from normalizer.phone import to_e164
from normalizer.text import one_line, shorten
from normalizer.types import Channel, RawMessage, Reporter

MAX_NAME_CHARS = 200


def _name(value: str | None) -> str | None:
    name = one_line(value or "")
    return shorten(name, MAX_NAME_CHARS) if name else None


def _email(value: str | None) -> str | None:
    return parse_sender(value)[1] if value else None


def _handle(value: object) -> str | None:
    handle = str(value).strip().lstrip("@") if value not in (None, "") else ""
    return handle or None


def _from_channel(raw: RawMessage) -> Reporter:
    match raw.channel:
        case Channel.SMS | Channel.WHATSAPP:  # a WhatsApp sender is its phone number
            return Reporter(name=_name(raw.sender_name), phone=to_e164(raw.sender))
        case Channel.EMAIL:
            parsed_name, address = parse_sender(raw.sender)
            return Reporter(name=_name(raw.sender_name or parsed_name), email=address)
        case Channel.TWITTER:
            handle = raw.meta.get("username")
            user_id = raw.meta.get("user_id")
            sender = raw.sender.strip()
            if user_id is None and sender.isdigit():
                user_id = sender
            if handle is None and sender and not sender.isdigit():
                handle = sender
            return Reporter(
                name=_name(raw.sender_name),
                twitter_handle=_handle(handle),
                twitter_id=_handle(user_id),
            )
        case _:
            return Reporter(name=_name(raw.sender_name))


def reporter_of(raw: RawMessage) -> tuple[Reporter, bool]:
    """(cleaned reporter, whether a phone number was given but is not valid)."""
    if raw.reporter is not None:
        given = raw.reporter
        phone = to_e164(given.phone)
        return Reporter(
            name=_name(given.name),
            phone=phone,
            email=_email(given.email),
            twitter_handle=_handle(given.twitter_handle),
            twitter_id=_handle(given.twitter_id),
        ), bool(given.phone and given.phone.strip() and phone is None)
    reporter = _from_channel(raw)
    invalid_sms_sender = raw.channel is Channel.SMS and reporter.phone is None
    return reporter, invalid_sms_sender

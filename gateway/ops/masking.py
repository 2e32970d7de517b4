"""Personal data as the console shows it: in full only to those who need it.

Phone numbers are masked on their normalized (E.164) value, so "0812-3456-7890",
"+62 812 3456 7890" and "62812.3456.7890" all show as +62812*****890. Anything else
that still holds a run of digits (an invalid number, a WhatsApp id) keeps only its last
three digits.
"""

from __future__ import annotations

import re
from typing import Protocol

from normalizer.phone import to_e164

# Six or more digits, possibly split by spaces, dots, dashes, slashes or brackets.
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-/]*\d){5,}")


def mask_phone(phone: str | None) -> str | None:
    """+6281234567890 (however spelled) -> +62812*****890 (country and operator prefix,
    last three)"""
    if not phone:
        return phone
    e164 = to_e164(phone)
    if e164 is None:
        return mask_digits(phone)
    return e164[:6] + "*" * (len(e164) - 9) + e164[-3:]


def mask_digits(text: str) -> str:
    """Every run of six or more digits cut to its last three."""

    def hide(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "*" * (len(digits) - 3) + digits[-3:]

    return _DIGIT_RUN.sub(hide, text)


def mask_email(email: str | None) -> str | None:
    """siti.aminah@example.com -> s***@example.com"""
    if not email or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_name(name: str | None) -> str | None:
    """Siti Aminah -> S*** A***"""
    if not name:
        return name
    return " ".join(f"{part[:1]}***" for part in name.split())


def mask_sender(sender: str) -> str:
    """An inbound message's sender: an address, a phone number in any spelling, a handle."""
    if "@" in sender and not sender.startswith("@"):
        return mask_email(sender) or ""
    if to_e164(sender) is not None:
        return mask_phone(sender) or ""
    # Twitter handles and API client names are public; digits in them are not.
    return mask_digits(sender)


class Identity(Protocol):
    name: str | None
    phone: str | None
    email: str | None
    twitter_handle: str | None


def reporter_text(reporter: Identity | None, *, anonymous: bool, full: bool) -> str:
    """The reporter in one line: in full when `full` (a region's own operator), else
    masked; an anonymous reporter is never shown. Twitter handles are public."""
    if reporter is None:
        return "-"
    if anonymous:
        return "Dirahasiakan (anonim)"
    r = reporter
    parts = [
        r.name if full else mask_name(r.name),
        r.phone if full else mask_phone(r.phone),
        r.email if full else mask_email(r.email),
        f"@{r.twitter_handle.lstrip('@')}" if r.twitter_handle else None,
    ]
    return ", ".join(p for p in parts if p) or "-"

"""Personal data as the console shows it: in full only to those who need it."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """+6281234567890 -> +62812*****890 (country and operator prefix, last three)"""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 9) + phone[-3:]


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
    if "@" in sender and not sender.startswith("@"):
        return mask_email(sender) or ""
    if sender.startswith("+") or sender.isdigit():
        return mask_phone(sender) or ""
    return sender  # twitter handles and api client names are public

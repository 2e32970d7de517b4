"""Logging an unexpected error without its text.

A database error's message carries the statement's parameters (phone numbers, complaint
text), and other errors may quote the values they choked on. Service loops log such
errors by type and stack only: enough to find the bug, nothing personal.
"""

from __future__ import annotations

import logging
import re
import traceback


def log_failure(
    logger: logging.Logger, message: str, error: BaseException, **fields: object
) -> None:
    stack = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    logger.error(
        "%s\nTraceback (most recent call last; the error's text is withheld):\n%s",
        message,
        stack,
        extra={"error": type(error).__name__, **fields},
    )


# scheme://user:password@host — the password part, up to the last "@" before the host.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*):(?P<pw>[^\s]*)@")
# libpq key=value strings and query parameters: password=..., ?password=...
_KEY_PASSWORD = re.compile(r"(?i)\b(?P<key>password|passwd|pwd)=(?P<pw>[^\s&;'\"]+)")
# Telegram's Bot API puts the bot token in every URL path: /bot123456:AAE.../getUpdates.
_BOT_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """The text with every credential of a database (or any) URL replaced by ***.

    Used wherever a message may carry a URL: store errors, health details, CLI output and
    every log line (gateway.logfmt)."""
    text = _URL_PASSWORD.sub(r"\g<head>:***@", text)
    text = _BOT_TOKEN.sub("/bot***", text)
    return _KEY_PASSWORD.sub(r"\g<key>=***", text)

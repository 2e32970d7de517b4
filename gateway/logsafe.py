"""Logging an unexpected error without its text.

A database error's message carries the statement's parameters (phone numbers, complaint
text), and other errors may quote the values they choked on. Service loops log such
errors by type and stack only: enough to find the bug, nothing personal.
"""

from __future__ import annotations

import logging
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

"""Telling a resend from a new request that reuses a key.

A key absorbs only a resend of the same content. The API keeps the content's fingerprint
in the inbound message's meta: when intake answers `duplicate`, the request is compared
with the stored first one, and a different body is refused (the app chose the key, and
reusing it is the app's bug to hear about). The form's token is ours, so the form puts the
fingerprint into its key instead: content edited after Back is simply a new complaint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from gateway.intake import IntakeResult, storable
from gateway.store.db import Store
from gateway.store.models import InboundMessage


def fingerprint(content: dict[str, Any]) -> str:
    """sha256 of a request's content in one canonical JSON form (key order, spacing and
    escapes in the body do not change it)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


async def first_request(store: Store, result: IntakeResult) -> InboundMessage:
    """The stored inbound message a `duplicate` result points at."""
    async with store.reader() as session:
        inbound = await session.get(InboundMessage, result.inbound_id)
    if inbound is None:  # intake found it a moment ago, and inbound rows are kept
        raise LookupError(f"inbound message {result.inbound_id} vanished")
    return inbound


def same_request(first: InboundMessage, fingerprint: str, text: str) -> bool:
    stored = first.meta.get("fingerprint")
    if stored is None:  # stored before requests were fingerprinted: the text is what we have
        return first.text == storable(text)
    return hmac.compare_digest(stored, fingerprint)

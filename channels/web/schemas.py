"""Request bodies (pydantic): types and sizes are checked here, content by the normalizer."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from normalizer.types import Category

NAME_CHARS = 200
PHONE_CHARS = 32
EMAIL_CHARS = 320


def fingerprint(content: dict[str, Any]) -> str:
    """sha256 of a request's content in one canonical JSON form (key order, spacing and
    escapes in the body do not change it): what tells a resend from a different request."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class ReporterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=NAME_CHARS)
    phone: str | None = Field(default=None, max_length=PHONE_CHARS)
    email: str | None = Field(default=None, max_length=EMAIL_CHARS)


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = Field(min_length=1, max_length=16)
    text: str
    category: Category | None = None
    subject: str | None = Field(default=None, max_length=200)
    anonymous: bool = False
    confidential: bool = False
    reporter: ReporterIn | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=200)

    def fingerprint(self) -> str:
        return fingerprint(self.model_dump(mode="json"))

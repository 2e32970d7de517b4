"""Request bodies (pydantic): types and sizes are checked here, content by the normalizer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from channels.web.idempotency import fingerprint
from normalizer.types import Category

NAME_CHARS = 200
PHONE_CHARS = 32
EMAIL_CHARS = 320


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


# Answers of the JSON API, for its OpenAPI description (channels/web/openapi.py); the
# fuzz test holds every answer of the running app to them.


class ComplaintCreated(BaseModel):
    id: str
    tracking_ref: str
    region: str
    pesan: str


class ComplaintStatus(BaseModel):
    tracking_ref: str
    region: str
    status: str
    lapor_tracking_id: str | None
    received_at: datetime
    updated_at: datetime


class ErrorDetail(BaseModel):
    code: str
    pesan: str
    message: str
    field: str | None = None


class ErrorAnswer(BaseModel):
    error: ErrorDetail

"""The JSON API's request body (pydantic): types are checked here, content by the normalizer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from normalizer.types import Category


class ReporterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=320)


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

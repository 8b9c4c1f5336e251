"""The feed's JSON answers as pydantic models: the handlers build them, and the OpenAPI document
(:mod:`connectors.public_feed.openapi`) describes them from the same models.

    200  FeedPage    one page of entries, newest first, with paging links
    200  FeedHealth  loaded yet? entries per item
    4xx  FeedError   {"error": code, "message": what to fix, ...}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """An answer whose every field is always sent: the JSON schema lists the defaulted ones as required too."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True, populate_by_name=True)


class Title(Answer):
    """An item's title in Chinese and English."""

    zh: str
    en: str


class Links(Answer):
    """Paging links (absolute URLs with the same item and per_page); ``next`` / ``prev`` are null at the ends."""

    self_: str = Field(alias="self")
    first: str
    last: str
    next: str | None
    prev: str | None


class FeedEntry(Answer):
    """The current record of one key, without any personal field."""

    id: str = Field(description="the event id of the record's latest change")
    item: str
    title: Title
    record_key: str
    occurred_at: str = Field(description="when the change happened (RFC 3339, UTC)")
    published_at: str = Field(description="when govbus published the change (RFC 3339, UTC); the feed's order")
    record: dict[str, Any] = Field(description="the record's public fields (dates ISO 8601)")


class FeedPage(Answer):
    """One page of entries, newest first by published time."""

    item: str | None = Field(description="the item asked for; null: every item served")
    page: int
    per_page: int
    total: int = Field(description="entries on every page")
    pages: int
    links: Links
    entries: list[FeedEntry]


class FeedHealth(Answer):
    """Whether the feed has read its topics to the end offsets it found at start, and what it holds."""

    status: str = "ok"
    loaded: bool
    entries: int
    items: dict[str, int] = Field(description="entries per item served")


class FeedError(BaseModel):
    """A refusal: a stable code and a message saying what to fix; some codes carry more."""

    error: str = Field(description="bad_parameter, no_such_page, not_found, method_not_allowed, internal_error")
    message: str
    parameter: str | None = Field(default=None, description="bad_parameter: the parameter to fix")
    allowed: list[str] | None = Field(default=None, description="bad_parameter: the values or names allowed")
    last: str | None = Field(default=None, description="no_such_page: the link of the last page")

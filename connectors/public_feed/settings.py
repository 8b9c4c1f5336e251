"""Settings of the public disclosure feed: one model, read from ``GOVBUS_*`` variables where it is built."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from govbus.settings import ClientSettings
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN


class FeedSettings(ClientSettings):
    """Env ``GOVBUS_FEED_*`` (plus ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``, ``GOVBUS_TOPIC_PREFIX``)."""

    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX_PATTERN,
                              description="first part of every topic name (env GOVBUS_TOPIC_PREFIX)")
    feed_items: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="items to serve, comma-separated; empty: every item open to the public. "
        "An item that is not open to the public is refused at start")
    feed_host: str = Field(default="127.0.0.1", description="address the feed listens on")
    feed_port: int = Field(default=8090, ge=1, le=65535, description="port the feed listens on")
    feed_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$",
                                      description="public address of the feed, for links and Atom ids "
                                      "(default http://<host>:<port>)")
    feed_per_page: int = Field(default=50, ge=1, le=1000, description="entries per page when per_page is not given")
    feed_max_per_page: int = Field(default=500, ge=1, le=5000, description="largest per_page a client may ask for")
    feed_title: str = Field(default="政府公共资源配置信息公开 · Public-resource allocation disclosures",
                            min_length=1, description="title of the feed's pages and Atom feed")

    @field_validator("feed_items", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def base_url(self) -> str:
        return (self.feed_base_url or f"http://{self.feed_host}:{self.feed_port}").rstrip("/")

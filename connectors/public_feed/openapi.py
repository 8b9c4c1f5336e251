"""The feed's OpenAPI description: what each handler takes and answers (attached to the handlers in
:mod:`connectors.public_feed.app` with :func:`govbus.openapi.operation`) and the document's info. The document
itself is made from the app's routes (:func:`govbus.openapi.document`)."""

from __future__ import annotations

from connectors.public_feed.bodies import FeedError, FeedHealth, FeedPage
from connectors.public_feed.settings import FeedSettings
from govbus import __version__
from govbus.openapi import PROMETHEUS_OPERATION, ApiInfo, Content, Operation, Param, Reply, json_reply

ATOM = "application/atom+xml"

ITEM = Param("item", "query", "only this item (one the feed serves: an item open to the public); none: every item",
             {"type": "string"}, example="government_procurement_award")
PAGE = Param("page", "query", "the page, from 1 (newest first)",
             {"type": "integer", "minimum": 1, "maximum": 999999999}, example=1)
_DEFAULTS = FeedSettings.model_fields
PER_PAGE = Param("per_page", "query", f"entries per page: at most GOVBUS_FEED_MAX_PER_PAGE (the maximum here is its "
                 f"default), by default GOVBUS_FEED_PER_PAGE ({_DEFAULTS['feed_per_page'].default} unless set)",
                 {"type": "integer", "minimum": 1, "maximum": _DEFAULTS["feed_max_per_page"].default}, example=50)

BAD_PARAMETER = json_reply("a query parameter to fix (`bad_parameter`, naming the `parameter`): a page or per_page "
                           "that is no whole number in range, an item not served here (with the `allowed` ones), an "
                           "unknown or repeated parameter", FeedError)
NO_SUCH_PAGE = json_reply("the page is past the last one (`no_such_page`, with the `last` page's link)", FeedError)

INFO = ApiInfo(
    title="govbus public disclosure feed",
    version=__version__,
    description="The data items open to the public (public-resource allocation: procurement awards, land-use and "
    "mining-right transfers, state-owned property-right transactions, construction tender awards, affordable-"
    "housing allocations, credit decisions) as paged JSON and as Atom 1.0: the current record of every key, newest "
    "first by the time govbus published it, without any personal field. Public: no credentials.",
    common={500: json_reply("the feed failed unexpectedly (`internal_error`): try again later", FeedError)},
)

FEED = Operation(
    summary="One page of entries as JSON",
    description="`links` has self, first, last, next and prev (null at the ends).",
    params=(ITEM, PAGE, PER_PAGE),
    replies={200: json_reply("the page", FeedPage, headers={"Cache-Control": "no-cache"}),
             400: BAD_PARAMETER, 404: NO_SUCH_PAGE},
    public=True, tags=("feed",))

FEED_ATOM = Operation(
    summary="The same page as an Atom 1.0 feed",
    description="RFC 5005 paging links (`self`, `first`, `last`, `next`, `previous`); an entry's id is "
    "`urn:uuid:<event id>`, its content the public record as JSON text.",
    params=(ITEM, PAGE, PER_PAGE),
    replies={200: Reply("the page as an Atom feed document (UTF-8)",
                        (Content(ATOM, schema={"type": "string"}),), {"Cache-Control": "no-cache"}),
             400: BAD_PARAMETER, 404: NO_SUCH_PAGE},
    public=True, tags=("feed",))

HEALTH = Operation(summary="Whether the feed has loaded its topics, and entries per item",
                   replies={200: json_reply("the feed answers", FeedHealth)}, public=True, tags=("operations",))

METRICS = PROMETHEUS_OPERATION

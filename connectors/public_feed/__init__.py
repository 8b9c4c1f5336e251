"""Public disclosure feed: the items open to the public, as a paged JSON API and an Atom feed.

Serves the current record of every key of the catalogue's open items (public-resource allocation:
procurement awards, land-use and mining-right transfers, state-owned property-right transactions,
construction tender awards, affordable-housing allocations, credit decisions), newest first by
published time, **without any personal field** (:mod:`connectors.public_feed.disclosure`). It reads
the items' canonical topics from the beginning at every start (:mod:`connectors.public_feed.reader`);
an item that is not open is refused at start. Run it with ``python -m connectors.public_feed``
(settings: :class:`connectors.public_feed.settings.FeedSettings`).

    GET /feed?page=1&per_page=50&item=government_procurement_award   JSON page with next/prev links
    GET /feed.atom?page=1&item=...                                   the same page as Atom 1.0
    GET /healthz                                                     loaded yet? entries per item
    GET /metrics                                                     Prometheus
"""

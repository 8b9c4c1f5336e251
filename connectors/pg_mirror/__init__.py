"""PostgreSQL mirror: keeps a subscriber's tables equal to the current state of items or profiles.

One row per record key; an upsert event inserts or updates it, a delete event or a tombstone
deletes it. Tables are created on first use and widened when an item's schema gains a field
(:mod:`connectors.pg_mirror.table`, types in :mod:`connectors.pg_mirror.columns`); a batch of
events is written in one transaction and its offsets are committed only after it
(:mod:`connectors.pg_mirror.connector`). For a subscription only the planned fields are
mirrored, masked as planned. Run it with ``python -m connectors.pg_mirror`` (settings:
:class:`connectors.pg_mirror.settings.MirrorSettings`).
"""

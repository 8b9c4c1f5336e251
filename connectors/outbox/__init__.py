"""The PostgreSQL outbox source connector.

A department whose system is a PostgreSQL database inserts one row into ``govbus_outbox`` in
the same transaction as each business change (so the change and its event commit or roll back
together). This connector reads the committed rows in an order consistent with commits (see
:mod:`connectors.outbox.reader` for why a serial id is not enough), publishes each through the
:class:`govbus.publisher.Publisher` with the row's own event id, and stores its position in the
same database only once every row of a batch was acknowledged by Kafka. A crash re-sends at most
the unacknowledged batch, with the same event ids; no row is skipped.

    govbus outbox migrate --dsn postgresql://...     # tables, index, trigger (idempotent)
    govbus outbox run                                # until SIGTERM; env GOVBUS_OUTBOX_*
    govbus outbox status                             # position, rows waiting, rejected rows

Modules: :mod:`~connectors.outbox.settings`, :mod:`~connectors.outbox.migrate`,
:mod:`~connectors.outbox.reader`, :mod:`~connectors.outbox.position`,
:mod:`~connectors.outbox.connector` (the loop and its metrics).
"""

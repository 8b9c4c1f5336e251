"""The audit index: the delivery audit in PostgreSQL, so `govbus audit who-received` answers without reading the
topic (see :mod:`connectors.audit_index.indexer` and the README's "Delivery audit")."""

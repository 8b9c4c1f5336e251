"""The webhook subscriber connector: a subscription's authorised events, shaped and masked, POSTed in
signed batches to the subscriber's receiver (see ``README.md`` in this folder)."""

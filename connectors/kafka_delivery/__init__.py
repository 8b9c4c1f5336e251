"""The Kafka delivery connector: a subscription's authorised events, filtered and masked, written to the
subscription's own topic, which only its subscriber's principal may read (see ``README.md`` in this folder)."""

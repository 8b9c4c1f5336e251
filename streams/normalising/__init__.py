"""The pieces of the normaliser (:mod:`streams.normaliser`), each small and testable on its own:

- :mod:`~streams.normalising.settings`: :class:`NormaliserSettings` (``GOVBUS_*``);
- :mod:`~streams.normalising.topics`: every topic it needs, created with one partition count;
- :mod:`~streams.normalising.handler`: decode / normalise / encode one event, no Kafka I/O;
- :mod:`~streams.normalising.dedup`: the event ids in the state store, and what their window means;
- :mod:`~streams.normalising.metrics`: the Prometheus metrics.
"""

"""A schema registry speaking the Confluent Schema Registry REST API, stored in a compacted Kafka topic.

How many instances may write: **exactly one, the primary.** Any number of instances may run on
the same log topic; all of them serve reads from their own replay of the topic. The primary is
the instance that holds the single partition of the election topic in the consumer group
``govbus-registry-election.<topic>`` (session timeout 6 s) *and* whose announcement is the last
one in the log; it writes under an asyncio lock, and every record it writes is fenced with its
epoch so a deposed primary cannot change anything. Followers forward writes to the primary's
announced URL, or refuse them with a JSON error naming it. See ``README.md`` in this package.

Modules, one job each:

* ``settings``: :class:`~schemas.registry.settings.RegistrySettings` (``GOVBUS_*``)
* ``errors``: the REST errors (status + Confluent ``error_code``)
* ``canonical``, ``defaults``: parsing, validation, canonical form, fingerprint
* ``compatibility``: levels and reasons, on Avro's reader/writer checker
* ``records``, ``state``: the log's records and the in-memory model they build (no I/O)
* ``inputs``, ``reads``, ``writes``, ``references``: requests in, replies and planned records out
* ``store``, ``topics``: the Kafka log (replay, tail, append)
* ``election``, ``role``, ``service``, ``forward``: the single writer
* ``routes``, ``middleware``, ``app``, ``metrics``, ``server``, ``__main__``, ``launcher``: HTTP and processes
"""

"""Operations: what the platform's operators watch, read from the broker with the operator's rights only.

The exporter (``govbus run exporter``, :mod:`govbus.operations.exporter`) serves consumer-group and
subscription lag, topic end offsets and grant expiries as Prometheus metrics; see ``README.md`` here.
"""

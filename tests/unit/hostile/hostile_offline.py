"""What the in-process hostile-input tests share: valid records of every item, and Publishers that validate and
encode for real without a broker."""

from __future__ import annotations

import functools
from typing import Any

from memory_registry import MemoryRegistry

from govbus.demo.synthetic_items import records_for
from govbus.event_ids import EventIds
from govbus.publisher import Publisher
from govbus.serde import WireDecoder, WireEncoder
from govbus.topic_names import department_topic, value_subject
from schemas.catalogue import Catalogue, load_catalogue
from testsupport.hostile import jsonable

CATALOGUE: Catalogue = load_catalogue()
ITEMS = tuple(CATALOGUE.names())
REGISTRY = MemoryRegistry()


@functools.cache
def valid_records(item: str, count: int = 5) -> tuple[dict[str, Any], ...]:
    """``count`` valid records of ``item``, as JSON would carry them."""
    catalogue_item = CATALOGUE.get(item)
    return tuple(jsonable(catalogue_item.validate(s.record)) for s in records_for(catalogue_item, count, seed=11))


@functools.cache
def offline_publisher(department: str) -> Publisher:
    """A Publisher of ``department`` whose topics are known already: :meth:`Publisher.prepare` runs the real
    validation and encoding (schemas in :data:`REGISTRY`); nothing may be sent with it."""
    publisher = Publisher.__new__(Publisher)
    publisher.department = department
    publisher.source_system = "hostile-tests"
    publisher._catalogue = CATALOGUE
    publisher._event_ids = EventIds()
    publisher._registry_url = "http://registry.test"
    publisher._routes = {}
    for item in CATALOGUE.owned_by(department):
        topic = department_topic(department, item.name)
        publisher._routes[item.name] = (topic, WireEncoder(REGISTRY, value_subject(topic),  # type: ignore[arg-type]
                                                           item.event_schema()))
    return publisher


def publisher_of(item: str) -> Publisher:
    return offline_publisher(CATALOGUE.get(item).department)


DECODER = WireDecoder(REGISTRY)  # type: ignore[arg-type]

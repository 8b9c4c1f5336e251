"""The AsyncAPI 3.0 document of the bus (``govbus catalogue asyncapi``) and the page made from it.

    from govbus.asyncapi import bus_document, markdown_page

    document = bus_document("govbus")      # a dict: every topic, message, schema and role's operation
    page = markdown_page(document)         # docs/asyncapi.md

- :mod:`govbus.asyncapi.document` assembles the document; :mod:`~govbus.asyncapi.channels` lists the topics,
  :mod:`~govbus.asyncapi.roles` and :mod:`~govbus.asyncapi.operations` who sends and receives on each,
  :mod:`~govbus.asyncapi.payloads` and :mod:`~govbus.asyncapi.headers` what a record holds.
- :mod:`govbus.asyncapi.markdown` renders the readable page, from the document alone.
- :mod:`govbus.asyncapi.output` writes it as YAML or JSON.

The committed ``docs/asyncapi.yaml`` and ``docs/asyncapi.md`` are what these make from the packaged catalogue
with the prefix ``govbus`` (a unit test compares them); the AsyncAPI CLI validates the YAML in the test suite.
"""

from __future__ import annotations

from govbus.asyncapi.document import Document, asyncapi_document
from govbus.asyncapi.markdown import markdown_page
from schemas.catalogue import load_catalogue
from schemas.catalogue.profiles import load_profiles


def bus_document(prefix: str) -> Document:
    """The document of the packaged catalogue and profiles, topics under ``prefix``."""
    return asyncapi_document(load_catalogue(), load_profiles(), prefix)


__all__ = ["Document", "asyncapi_document", "bus_document", "markdown_page"]

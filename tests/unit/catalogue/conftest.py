"""Fixtures of the catalogue's unit tests: the packaged catalogue and one valid record per item."""

from __future__ import annotations

from typing import Any

import pytest
from catalogue_samples import sample_records

from schemas.catalogue import Catalogue, load_catalogue


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def samples() -> dict[str, dict[str, Any]]:
    """A fresh copy of one valid record per item (mutate freely)."""
    return sample_records()

"""Fixtures of the normaliser tests: the worker processes of a test (``run``, over the module's ``settings``
fixture) and a logged random seed."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from normaliser_support import NormaliserRun, worker_env

from streams.normalising.settings import NormaliserSettings

log = logging.getLogger(__name__)


@pytest.fixture
def run(settings: NormaliserSettings, tmp_path: Path) -> Iterator[NormaliserRun]:
    """Starts workers for ``settings`` (each with its own state directory under ``tmp_path``); stops every
    one still running by PID at the end."""
    started = NormaliserRun(worker_env(settings), tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def seed() -> int:
    """A random seed, logged; ``GOVBUS_TEST_SEED`` replays one."""
    chosen = int(os.environ.get("GOVBUS_TEST_SEED") or random.SystemRandom().randrange(2**31))
    log.info("seed %d (GOVBUS_TEST_SEED=%d replays it)", chosen, chosen)
    return chosen

"""``python -m streams.profiles``: the profile builder (the same code as ``govbus run profiles``)."""

from __future__ import annotations

import sys

from govbus.service import run_entrypoint
from streams.profiles.topology import ProfileSettings
from streams.profiles.worker import run_worker

if __name__ == "__main__":
    sys.exit(run_entrypoint(ProfileSettings, run_worker, "profiles", "GOVBUS_PROFILES_*, GOVBUS_STREAMS_*"))

"""``python -m streams.profiles``: the profile builder (settings from ``GOVBUS_*`` variables)."""

from streams.profiles.topology import ProfileSettings
from streams.profiles.worker import run_worker

if __name__ == "__main__":
    run_worker(ProfileSettings())

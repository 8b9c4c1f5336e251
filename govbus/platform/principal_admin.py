"""`govbus dev principals add|list`: hand out credentials on the local secured platform.

Adding a principal creates its SCRAM credential on the broker (a random password, written to the
platform's 0600 credentials file and nowhere else) and, for a subscriber, registers it (creates its
subscriptions topic). Its ACLs come from the ACL reconciler: a subscriber may then declare
subscriptions, and a subscription's connector (``connector:<subscription>``) may read what the grants
allow. The registry reads the same file, so the principal may read schemas at once.
"""

from __future__ import annotations

from pathlib import Path

from govbus import identities
from govbus.exceptions import ConfigurationError, PlatformError
from govbus.platform import credentials
from govbus.platform.dev import PlatformState, is_running, load_state
from govbus.settings import PlatformSettings
from govbus.sharing import principals
from govbus.sharing.store import SharingStore
from govbus.topic_names import TopicSettings

ADDABLE = ("subscriber", "connector", "department")


def secured_platform(settings: PlatformSettings) -> PlatformState:
    """The running secured platform's state; :class:`PlatformError` saying what to do otherwise."""
    state = load_state(settings)
    if state is None or not is_running(state):
        raise PlatformError("the local platform is not running: start it with `govbus dev up`")
    if state.credentials_file is None:
        raise PlatformError("the local platform runs without authentication (GOVBUS_SECURITY=none): it has no "
                            "principals to add")
    return state


def parse_key(key: str) -> tuple[str, str]:
    """``subscriber:hz-centre`` -> (kind, name); :class:`ConfigurationError` naming the accepted forms."""
    kind, _, name = key.partition(":")
    if kind not in ADDABLE or not name:
        raise ConfigurationError(f"cannot add principal {key!r}: use subscriber:<slug>, connector:<subscription> or "
                                 "department:<slug>")
    return kind, name


def add(settings: PlatformSettings, keys: list[str]) -> tuple[Path, list[str]]:
    """Add ``keys`` (kept if they exist: their passwords do not change); the credentials file and the user names."""
    parsed = [parse_key(key) for key in keys]
    state = secured_platform(settings)
    path = Path(state.credentials_file or "")
    wanted = {identities.principal_key(kind, name): identities.user_name(identities.principal_key(kind, name))
              for kind, name in parsed}
    found = credentials.with_principals(path, wanted)
    principals.provision(state.kafka, {found[key]["username"]: found[key]["password"] for key in wanted}, [])
    store = SharingStore(state.kafka, TopicSettings().topic_prefix)
    for kind, name in parsed:
        if kind == "subscriber":
            store.register_subscriber(name)
        if kind == "department":
            store.register_departments([name])
    return path, [wanted[key] for key in wanted]


def listed(settings: PlatformSettings) -> list[tuple[str, str]]:
    """(principal key, user name) of every principal in the platform's credentials file."""
    state = secured_platform(settings)
    held = credentials.load(Path(state.credentials_file or ""))
    return sorted((key, entry["username"]) for key, entry in held.items())

"""`govbus principals create|provision|exec`: the principals of a secured broker govbus does not start itself.

``govbus dev up`` creates, provisions and hands out the credentials of its own node. A broker started by
something else (docker-compose.yml's apache/kafka, a cluster) needs the same three steps, run from outside:

1. ``create``: the credentials file (JSON principal -> username, password; mode 0600; random passwords,
   printed nowhere), before the broker starts, since the broker's own configuration needs the
   administrator's password;
2. ``provision``: on the running broker, as that administrator, the SCRAM users of every principal of the
   file, the static ACLs and the control topics (:mod:`govbus.platform.provisioning`, shared with ``dev up``);
3. ``exec``: run a component as one principal of the file. Compose's ``environment:`` cannot read a file, and
   a wrapper that sets the component's GOVBUS_KAFKA__* and GOVBUS_REGISTRY__* variables and then replaces
   itself with the component keeps every password out of the compose file, the command line, stdout and the
   logs (no shell, no ``eval`` of printed ``export`` lines), and lets SIGTERM reach the component directly.

The platform's pseudonym key (:mod:`govbus.sharing.pseudonyms`) travels the same way: ``create
--pseudonym-key FILE`` makes it once beside the credentials, and ``exec --pseudonym-key FILE`` sets
GOVBUS_PSEUDONYM_KEY for the delivery connectors, and only for those that are given the option.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from govbus import identities
from govbus.exceptions import ConfigurationError, PlatformError
from govbus.platform import credentials, principal_admin, provisioning, pseudonym_key
from govbus.preflight import require_broker
from govbus.settings import ClientSettings
from schemas.catalogue import load_catalogue


def create(path: Path, keys: Sequence[str], owner: str | None, console: Console,
           pseudonym_key_file: Path | None = None) -> None:
    """Create or complete the credentials file at ``path`` (see :func:`provisioning.ensure_credentials`), with
    each of ``keys`` (``subscriber:<slug>``, ``connector:<subscription>``, ``department:<slug>``); then give it
    to ``owner`` (``UID`` or ``UID:GID``) if set. With ``pseudonym_key_file``, the platform's pseudonym key is
    made there too (kept if it exists; it stays the caller's: the broker never needs it)."""
    for key in keys:
        principal_admin.parse_key(key)  # a clear error naming the accepted forms
    ids = _owner(owner) if owner else None  # checked before anything is written
    if pseudonym_key_file is not None:
        pseudonym_key.load_or_create(pseudonym_key_file)
        console.print(f"pseudonym key (mode 0600, printed nowhere) in {pseudonym_key_file}", highlight=False)
    found = provisioning.ensure_credentials(path, keys)
    if ids is not None:
        try:
            os.chown(path, *ids)
        except OSError as error:
            raise ConfigurationError(f"cannot give {path} to {owner}: {error.strerror} (only root may)") from None
    console.print(f"{len(found)} principals (mode 0600, passwords printed nowhere) in {path}: "
                  + ", ".join(entry["username"] for entry in found.values()), highlight=False)


def _owner(owner: str) -> tuple[int, int]:
    """``1000`` or ``1000:1000`` -> (uid, gid); the group defaults to the user id."""
    user, _, group = owner.partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        raise ConfigurationError(f"--owner {owner!r}: give a numeric user id, optionally :group id (1000:1000)")
    return int(user), int(group or user)


def provision(path: Path, console: Console) -> None:
    """Provision every principal of the credentials file at ``path`` on GOVBUS_KAFKA__BOOTSTRAP, as its
    administrator (GOVBUS_KAFKA__SASL_MECHANISM picks the mechanism the administrator may use there)."""
    held = credentials.load(path)
    missing = [key for key in (identities.ADMIN, *provisioning.platform_keys(load_catalogue())) if key not in held]
    if missing:  # `create` is the file's one writer (it also sets the owner the broker needs)
        raise ConfigurationError(f"{path} lacks {', '.join(missing)}: run `govbus principals create "
                                 f"--credentials-file {path}` first")
    admin_entry = held[identities.ADMIN]
    kafka = ClientSettings().kafka
    require_broker(kafka.bootstrap)
    admin = kafka.with_credentials(admin_entry["username"], admin_entry["password"])
    try:
        users = provisioning.provision_principals(admin, path, list(held))
    except PlatformError as error:
        raise PlatformError(f"{error} (is {path}'s administrator the broker's super user, with this password, "
                            f"over {admin.security_protocol}/{admin.sasl_mechanism} at {admin.bootstrap}?)") from None
    console.print(f"{len(users)} principals provisioned on {admin.bootstrap}, with their static ACLs: "
                  + ", ".join(users), highlight=False)


def principal_env(entry: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The variables that make a govbus component authenticate as ``entry``'s principal: SASL to the broker
    (SASL_SSL when GOVBUS_KAFKA__SECURITY_PROTOCOL already asks for TLS, else SASL_PLAINTEXT; the mechanism stays
    GOVBUS_KAFKA__SASL_MECHANISM's, SCRAM-SHA-512 by default) and HTTP Basic to the registry."""
    tls = environ.get("GOVBUS_KAFKA__SECURITY_PROTOCOL", "").upper().endswith("SSL")
    user, password = entry["username"], entry["password"]
    return {"GOVBUS_KAFKA__SECURITY_PROTOCOL": "SASL_SSL" if tls else "SASL_PLAINTEXT",
            "GOVBUS_KAFKA__USERNAME": user, "GOVBUS_KAFKA__PASSWORD": password,
            "GOVBUS_REGISTRY__USERNAME": user, "GOVBUS_REGISTRY__PASSWORD": password}


def exec_as(path: Path, key: str, command: Sequence[str], pseudonym_key_file: Path | None = None) -> NoReturn:
    """Replace this process with ``command``, authenticated as principal ``key`` of the credentials file (and
    holding the platform's pseudonym key from ``pseudonym_key_file``, if given)."""
    held = credentials.load(path)
    if key not in held:
        raise ConfigurationError(f"{path} holds no principal {key!r}; it holds: {', '.join(sorted(held))}")
    argv = list(command)
    if argv[:1] == ["--"]:  # click keeps the separator when it follows KEY
        del argv[0]
    if not argv:
        raise ConfigurationError("give the command to run as the principal: ... KEY -- COMMAND [ARGS]")
    env = {**os.environ, **principal_env(held[key], os.environ)}
    if pseudonym_key_file is not None:
        env |= pseudonym_key.env(pseudonym_key_file)
    try:
        os.execvpe(argv[0], argv, env)  # noqa: S606 (the caller's own command, no shell)
    except OSError as error:
        raise ConfigurationError(f"cannot run {argv[0]!r}: {error.strerror}") from None

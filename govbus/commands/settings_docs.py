"""Every component's settings, described from its settings model: ``govbus config`` and the README tables.

Each runnable component has one pydantic-settings model (:data:`COMPONENTS`). A row per field gives
its environment variable, default, description and whether it is a secret; ``govbus config`` adds
the value the environment sets now (secrets shown as ``***``). The component READMEs hold the same
rows as a Markdown table between the markers ``<!-- govbus config NAME -->`` and
``<!-- end govbus config -->``: ``govbus config --update-readmes`` rewrites them, and a test fails
when a table differs from its model (or a component has none).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings
from rich.table import Table

from connectors.audit_index.settings import AuditIndexSettings
from connectors.http_push import HttpPushSettings
from connectors.ingest_gateway.settings import GatewaySettings
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from connectors.outbox.settings import OutboxSettings
from connectors.pg_mirror.settings import MirrorSettings
from connectors.public_feed.settings import FeedSettings
from connectors.webhook.settings import WebhookSettings
from govbus.exceptions import ConfigurationError
from govbus.operations.console.settings import ConsoleSettings
from govbus.operations.settings import ExporterSettings
from govbus.operations.sources import SourcesSettings
from govbus.publisher import PublisherSettings
from govbus.settings import PlatformSettings
from govbus.sharing.acl_sync import AclSyncSettings
from schemas.catalogue.loader import CatalogueSettings
from schemas.registry.settings import RegistrySettings
from streams.normalising.settings import NormaliserSettings
from streams.profiles.topology import ProfileSettings


@dataclass(frozen=True)
class Component:
    """A component's settings model and the README (relative to the repository root) that documents it."""

    settings: type[BaseSettings]
    readme: str


COMPONENTS: dict[str, Component] = {
    "platform": Component(PlatformSettings, "README.md"),
    "publisher": Component(PublisherSettings, "README.md"),
    "push": Component(HttpPushSettings, "README.md"),
    "catalogue": Component(CatalogueSettings, "schemas/catalogue/README.md"),
    "registry": Component(RegistrySettings, "schemas/registry/README.md"),
    "normaliser": Component(NormaliserSettings, "streams/normalising/README.md"),
    "profiles": Component(ProfileSettings, "streams/profiles/README.md"),
    "gateway": Component(GatewaySettings, "README.md"),
    "outbox": Component(OutboxSettings, "connectors/outbox/README.md"),
    "webhook": Component(WebhookSettings, "connectors/webhook/README.md"),
    "mirror": Component(MirrorSettings, "connectors/pg_mirror/README.md"),
    "kafka-delivery": Component(KafkaDeliverySettings, "connectors/kafka_delivery/README.md"),
    "feed": Component(FeedSettings, "connectors/public_feed/README.md"),
    "acl": Component(AclSyncSettings, "README.md"),
    "audit-indexer": Component(AuditIndexSettings, "connectors/audit_index/README.md"),
    "sources": Component(SourcesSettings, "README.md"),
    "exporter": Component(ExporterSettings, "govbus/operations/README.md"),
    "console": Component(ConsoleSettings, "govbus/operations/console/README.md"),
}

REDACTED = "***"
_SECRET_NAME = re.compile(r"(password|secret|token|dsn)", re.IGNORECASE)
_BEGIN = "<!-- govbus config {name} -->"
_END = "<!-- end govbus config -->"


@dataclass(frozen=True)
class SettingRow:
    field: str
    env: str
    default: str
    description: str
    secret: bool

    @property
    def shown_default(self) -> str:
        """The default as printed: a secret's default as ``***`` (none stays none)."""
        return REDACTED if self.secret and self.default not in ("", "(none)") else self.default


def rows(settings: type[BaseSettings]) -> list[SettingRow]:
    """One row per field of ``settings``, in declaration order; a nested model (the broker and registry
    connections) gives one row per field of its own, named ``PREFIX_FIELD__SUBFIELD``."""
    prefix = str(settings.model_config.get("env_prefix") or "")
    delimiter = str(settings.model_config.get("env_nested_delimiter") or "__")
    found = []
    for name, info in settings.model_fields.items():
        nested = _nested_model(info)
        if nested is None:
            found.append(_row(name, f"{prefix}{name}", info))
        else:
            found.extend(_row(f"{name}.{inner}", f"{prefix}{name}{delimiter}{inner}", inner_info)
                         for inner, inner_info in nested.model_fields.items())
    return found


def _row(name: str, env: str, info: FieldInfo) -> SettingRow:
    return SettingRow(name, env.upper(), _default(info), info.description or "", _is_secret(name, info))


def _nested_model(info: FieldInfo) -> type[BaseModel] | None:
    annotation = info.annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def current(row: SettingRow, environ: Mapping[str, str] | None = None) -> str:
    """What the environment sets for ``row`` now (``***`` for a secret), or ``(default)``."""
    value = (os.environ if environ is None else environ).get(row.env)
    if value is None:
        return "(default)"
    return REDACTED if row.secret else value


def markdown_table(name: str) -> str:
    """The README table of component ``name`` (without the markers)."""
    lines = ["| environment | default | meaning |", "|---|---|---|"]
    for row in rows(COMPONENTS[name].settings):
        lines.append(f"| `{row.env}` | {_cell(row.shown_default, code=True)} | {_cell(row.description)} |")
    return "\n".join(lines)


def readme_block(name: str) -> str:
    """The generated block of component ``name``, markers included."""
    return f"{_BEGIN.format(name=name)}\n{markdown_table(name)}\n{_END}"


def block_in(text: str, name: str) -> str | None:
    """The block of component ``name`` found in ``text`` (markers included), or None."""
    pattern = re.escape(_BEGIN.format(name=name)) + r".*?" + re.escape(_END)
    found = re.search(pattern, text, flags=re.DOTALL)
    return found.group(0) if found else None


def update_readmes(root: Path) -> list[str]:
    """Rewrite every component's block in its README under ``root``; the READMEs changed. A README without
    the component's markers is left alone (the drift test names it)."""
    changed = []
    for name, component in COMPONENTS.items():
        path = root / component.readme
        text = path.read_text(encoding="utf-8")
        found = block_in(text, name)
        if found is not None and found != readme_block(name):
            path.write_text(text.replace(found, readme_block(name)), encoding="utf-8")
            changed.append(f"{component.readme} ({name})")
    return changed


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return "(computed)"
    if info.default is PydanticUndefined:
        return "(required)"
    if info.default is None or info.default == "":
        return "(none)"
    value: Any = info.default
    if isinstance(value, tuple | list | frozenset | set):
        return ",".join(str(v) for v in value) or "(none)"
    return str(getattr(value, "value", value))


def _is_secret(name: str, info: FieldInfo) -> bool:
    return SecretStr in (info.annotation, *get_args(info.annotation)) or bool(_SECRET_NAME.search(name))


def _cell(text: str, code: bool = False) -> str:
    escaped = text.replace("|", "\\|").replace("\n", " ")
    return f"`{escaped}`" if code and not escaped.startswith("(") else escaped


def show(names: tuple[str, ...], markdown: bool, console: Any, environ: Mapping[str, str] | None = None) -> None:
    """Print the settings of ``names`` (every component when empty): a table per component with the value the
    environment sets now, or the README tables with ``markdown``."""
    unknown = sorted(set(names) - set(COMPONENTS))
    if unknown:
        raise ConfigurationError(f"no component {', '.join(unknown)}; components: {', '.join(COMPONENTS)}")
    for name in names or tuple(COMPONENTS):
        if markdown:
            console.print(f"## {name}\n\n{markdown_table(name)}\n", markup=False, highlight=False)
            continue
        table = Table(title=f"{name} ({COMPONENTS[name].settings.__name__}; documented in {COMPONENTS[name].readme})",
                      title_justify="left")
        for column in ("environment", "default", "now", "meaning"):
            table.add_column(column, overflow="fold", no_wrap=column == "environment")
        for row in rows(COMPONENTS[name].settings):
            table.add_row(row.env, row.shown_default, current(row, environ), row.description)
        console.print(table)

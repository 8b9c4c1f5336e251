"""The ``govbus`` command line.

Each command imports its implementation when it runs, the one place in govbus that imports inside
functions: ``govbus --help`` or a mistyped command answers in about 0.1 s instead of 1.1 s with every
component imported (measured here). ``tests/unit/test_layers.py`` keeps every other import at the top.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from authlib.deprecate import AuthlibDeprecationWarning
from confluent_kafka import KafkaException
from rich.console import Console

from govbus.exceptions import GovbusError
from govbus.logs import configure_logging

F = TypeVar("F", bound=Callable[..., Any])
# confluent's registry client imports authlib, which warns that its httpx module is deprecated: a line of a
# library's own housekeeping on every command's terminal, nothing a user can act on. authlib turns its
# warnings on ("always") when its deprecate module loads, so this filter goes in front after that.
warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning, message="The httpx module is deprecated")

console = Console(stderr=True, soft_wrap=True)


def reports_errors(command: F) -> F:
    """Turn a :class:`GovbusError` into one red line and exit code 1 (no traceback); so too a Kafka client error or
    time-out that reached the command (the broker went away while it ran), with what to check."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except GovbusError as error:
            console.print(f"[bold red]error:[/] {error}", highlight=False)
            sys.exit(1)
        except (KafkaException, TimeoutError) as error:
            console.print(f"[bold red]error:[/] the Kafka broker did not answer ({error!r}); check that it runs and "
                          "that GOVBUS_KAFKA__BOOTSTRAP points at it (`govbus dev status`)", highlight=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="WARNING", show_default=True, envvar="GOVBUS_LOG_LEVEL",
              help="Level of the JSON logs written to stderr.")
def main(log_level: str) -> None:
    """govbus: share government data items as Avro event streams on Kafka.

    Settings come from GOVBUS_* environment variables (GOVBUS_KAFKA__BOOTSTRAP,
    GOVBUS_REGISTRY__URL, GOVBUS_HOME, ...).
    """
    configure_logging(log_level)


@main.command("config")
@click.argument("components", nargs=-1)
@click.option("--markdown", is_flag=True, help="Print the README tables (Markdown) instead.")
@click.option("--update-readmes", is_flag=True, help="Rewrite the settings tables in the component READMEs.")
@reports_errors
def config(components: tuple[str, ...], markdown: bool, update_readmes: bool) -> None:
    """Every setting of COMPONENTS (all when none is named): its environment variable, default, the value
    the environment sets now (secrets as ***) and what it does. Components: platform, publisher, push,
    catalogue, registry, normaliser, profiles, gateway, outbox, webhook, mirror, kafka-delivery, feed,
    acl, audit-indexer, sources, exporter, console."""
    from govbus.commands import settings_docs

    if update_readmes:
        changed = settings_docs.update_readmes(Path(__file__).resolve().parent.parent)
        click.echo("updated: " + (", ".join(changed) if changed else "nothing (every table is current)"))
        return
    settings_docs.show(components, markdown, Console(soft_wrap=not markdown))


class _ComponentCommand(click.Command):
    """A ``govbus run`` command whose help ends with every setting of its component (read when asked)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from govbus.commands.settings_docs import COMPONENTS, rows

        component = COMPONENTS[str(self.name)]
        with formatter.section(f"Settings ({component.settings.__name__}; `govbus config {self.name}` shows "
                               "the values set now)"):
            formatter.write_dl([(row.env, f"{row.description} [default: {row.default}]")
                                for row in rows(component.settings)])


@main.group("run")
def run_group() -> None:
    """Run one component in the foreground until SIGTERM or SIGINT (docker-compose runs each this way).

    Settings come from GOVBUS_* variables (each command's help lists them); the broker and the registry
    are checked first. Exit codes: 0 after SIGTERM/SIGINT, 1 on an error, 2 for invalid settings.
    """


def _component(name: str, summary: str, takes_name: bool = False, name_required: bool = True) -> None:
    def start(**kwargs: Any) -> None:
        from govbus.commands.run import run_component

        sys.exit(run_component(name, kwargs.get("name")))

    params: list[click.Parameter] = [click.Argument(["name"], required=name_required)] if takes_name else []
    run_group.add_command(_ComponentCommand(name, callback=start, params=params, help=summary))


_component("gateway", "The HTTP ingest gateway for departments without Kafka clients.")
_component("outbox", "The PostgreSQL outbox source connector of one department.")
_component("normaliser", "The normaliser: local dialects -> canonical events and dead letters (exactly-once).")
_component("profiles", "The profile builder: canonical items -> enterprise and person profiles (exactly-once).")
_component("webhook", "Webhook delivery of subscription NAME.", takes_name=True)
_component("mirror", "The PostgreSQL mirror of subscription NAME (or GOVBUS_MIRROR_ITEM without NAME).",
           takes_name=True, name_required=False)
_component("kafka-delivery", "Kafka delivery of subscription NAME: its filtered, masked events to its own topic.",
           takes_name=True)
_component("feed", "The public disclosure feed: items open to the public as JSON pages and Atom.")
_component("registry", "The schema registry (Confluent REST API, stored in Kafka).")
_component("acl", "The ACL reconciler: the broker's ACLs follow the grants, a pass every GOVBUS_ACL_INTERVAL s.")
_component("audit-indexer", "The audit indexer: the delivery audit in PostgreSQL, for `govbus audit who-received`.")
_component("exporter", "The operator's exporter: group and subscription lag, topic end offsets, grant expiries and "
                       "silent sources on /metrics.")
_component("console", "The operator's console: the bus status (as `govbus status`) sampled, with charts of the last "
                      "hour, on one page at http://GOVBUS_CONSOLE_HOST:GOVBUS_CONSOLE_PORT/.")


@main.group()
def dev() -> None:
    """The local embedded platform: Apache Kafka (KRaft) and the schema registry."""


@dev.command("up")
@click.option("--kafka-port", type=int, help="Broker port (default 9092, env GOVBUS_KAFKA_PORT).")
@click.option("--registry-port", type=int, help="Registry port (default 8081, env GOVBUS_REGISTRY_PORT).")
@click.option("--brokers", type=click.Choice(["1", "3"]),
              help="Kafka nodes: 1, or a KRaft cluster of 3 whose topics get 3 replicas and min.insync.replicas=2 "
                   "(default 1, env GOVBUS_DEV_BROKERS).")
@reports_errors
def dev_up(kafka_port: int | None, registry_port: int | None, brokers: str | None) -> None:
    """Fetch Kafka's jars (first time), start the broker (or a cluster of 3) and the registry on 127.0.0.1."""
    from govbus.platform import dev as platform
    from govbus.settings import PlatformSettings

    overrides: dict[str, Any] = {"kafka_port": kafka_port, "registry_port": registry_port,
                                 "dev_brokers": int(brokers) if brokers else None}
    settings = PlatformSettings(**{k: v for k, v in overrides.items() if v})
    with console.status("starting Kafka and the schema registry (the first run fetches Kafka's jars)..."):
        result = platform.up(settings)
    state = result.state
    if result.already_running:
        console.print(f"already running: Kafka at {state.kafka_bootstrap}, registry at {state.registry_url} "
                      "(nothing to do; `govbus dev down` stops it)")
        return
    nodes = len(state.broker_pids)
    what = f"{nodes} nodes, pids {', '.join(map(str, state.broker_pids))}" if nodes > 1 else f"pid {state.kafka_pid}"
    console.print(f"[green]Kafka {state.kafka_version}[/] at {state.kafka_bootstrap} "
                  f"({what}, ready in {state.kafka_startup_seconds:.1f} s)")
    console.print(f"[green]schema registry[/] at {state.registry_url} (pid {state.registry_pid}, "
                  f"ready in {state.registry_startup_seconds:.1f} s)")
    if state.credentials_file:
        console.print(f"[green]SASL/SCRAM-SHA-512[/] and an authorizer on the broker, HTTP Basic on the registry; "
                      f"credentials (mode 0600) in {state.credentials_file}; ACL reconciler pid "
                      f"{state.acl_reconciler_pid}")
    if state.tls_ca:
        console.print(f"[green]TLS[/] on the broker's listener ({state.security_protocol}); clients trust the CA "
                      f"certificate {state.tls_ca} (GOVBUS_KAFKA__TLS_CA)", highlight=False)
    console.print(f"[green]pseudonym key[/] (mode 0600, for the delivery connectors' GOVBUS_PSEUDONYM_KEY; never a "
                  f"subscriber's) in {state.pseudonym_key_file}", highlight=False)
    console.print(f"data and logs in {state.data_dir}; stop with `govbus dev down`")


@dev.group("principals")
def dev_principals() -> None:
    """Principals of the local secured platform: who may reach the broker and the registry."""


@dev_principals.command("add")
@click.argument("keys", nargs=-1, required=True)
@reports_errors
def dev_principals_add(keys: tuple[str, ...]) -> None:
    """Create credentials for KEYS: subscriber:<slug>, connector:<subscription>, department:<slug>.

    A random password each, written to the platform's credentials file (mode 0600) and printed nowhere; a
    subscriber is registered (its subscriptions topic created). The ACL reconciler then gives each what the
    grants allow. Existing principals keep their passwords.
    """
    from govbus.platform import principal_admin
    from govbus.settings import PlatformSettings

    path, users = principal_admin.add(PlatformSettings(), list(keys))
    for user in users:
        console.print(f"principal [bold]{user}[/] ready", highlight=False)
    console.print(f"credentials (mode 0600) in {path}", highlight=False)


@dev_principals.command("list")
@reports_errors
def dev_principals_list() -> None:
    """Every principal of the local platform: its key and user name (never a password)."""
    from rich.table import Table

    from govbus.platform import principal_admin
    from govbus.settings import PlatformSettings

    table = Table(title="Principals")
    table.add_column("principal")
    table.add_column("user name")
    for key, user in principal_admin.listed(PlatformSettings()):
        table.add_row(key, user)
    console.print(table)


@dev.command("down")
@reports_errors
def dev_down() -> None:
    """Stop what `govbus dev up` started, by PID."""
    from govbus.platform import dev as platform
    from govbus.settings import PlatformSettings

    stopped = platform.down(PlatformSettings())
    console.print("stopped: " + ", ".join(stopped) if stopped else "nothing was running")


@dev.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def dev_status(as_json: bool) -> None:
    """Say whether the local platform runs, and where."""
    from govbus.platform import dev as platform
    from govbus.settings import PlatformSettings

    status = platform.status(PlatformSettings())
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    word = "[green]running[/]" if status["running"] else "[red]not running[/]"
    console.print(f"{word}: Kafka {status['kafka_bootstrap']}, registry {status['registry_url']}")
    nodes = status.get("kafka_nodes")
    if isinstance(nodes, list) and len(nodes) > 1:
        for node in nodes:
            alive = "[green]alive[/]" if node["alive"] else "[red]not running[/]"
            console.print(f"  Kafka node {node['node_id']}: {node['bootstrap']}, pid {node['pid']}, {alive}",
                          highlight=False)
    if status.get("exporter_pid"):
        console.print(f"exporter: pid {status['exporter_pid']}, metrics at {status['exporter_metrics_url']}",
                      highlight=False)


@dev.command("abort-hanging")
@reports_errors
def dev_abort_hanging() -> None:
    """End transactions left hanging on the platform's brokers (open over a minute, unknown to their
    coordinator): they stop every read_committed reader of their partitions. One its coordinator had decided to
    commit gets its missing commit marker, one it had not is aborted, and one its log shows no decision for is
    left open and listed (exit 1). A broker killed while a transaction commits can leave one behind; restarting
    a node runs this for three minutes by itself."""
    from rich.table import Table

    from govbus.platform import hanging
    from govbus.settings import PlatformSettings

    with console.status("looking for hanging transactions (Kafka's TransactionsCommand)..."):
        swept = hanging.sweep(PlatformSettings())
    if not (swept.aborted or swept.committed or swept.kept):
        console.print("no hanging transaction")
        return
    for title, rows in (("aborted (never decided to commit)", swept.aborted),
                        ("committed (the coordinator's skipped marker written)", swept.committed),
                        ("left open: no decision in the coordinators' log", swept.kept)):
        if not rows:
            continue
        table = Table(title=title)
        for column in ("topic", "partition", "producer id", "start offset", "minutes open"):
            table.add_column(column)
        for found in rows:
            table.add_row(found.topic, str(found.partition), str(found.producer_id), str(found.start_offset),
                          str(found.minutes_open))
        console.print(table)
    if swept.kept:
        console.print("[red]read_committed readers of the partitions left open stay stopped at their start "
                      "offsets[/red]")
        raise SystemExit(1)


@main.group()
def registry() -> None:
    """The schema registry (Confluent Schema Registry REST API)."""


@registry.command("serve")
@reports_errors
def registry_serve() -> None:
    """Run the registry in the foreground (settings from GOVBUS_* variables)."""
    from govbus.commands.run import run_component

    sys.exit(run_component("registry"))  # the same as `govbus run registry`


_CATALOGUE_DIR_HELP = "Read the catalogue from this directory (env GOVBUS_CATALOGUE_DIR; default: the packaged one)."
_PREFIX_HELP = "First part of topic names (env GOVBUS_TOPIC_PREFIX; default govbus)."


@main.group()
def catalogue() -> None:
    """The catalogue of shared data items: owners, sharing classes, personal fields, schemas."""


@catalogue.command("list")
@click.option("--department", help="Only the items this department (a slug) provides.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON (metadata and topics).")
@click.option("--catalogue-dir", type=click.Path(path_type=Path, file_okay=False), help=_CATALOGUE_DIR_HELP)
@click.option("--topic-prefix", help=_PREFIX_HELP)
@reports_errors
def catalogue_list(department: str | None, as_json: bool, catalogue_dir: Path | None, topic_prefix: str | None) -> None:
    """List every data item: title, owner, sharing class, openness, personal fields, key."""
    from govbus.commands.catalogue import list_items

    list_items(catalogue_dir, topic_prefix, department, as_json)


@catalogue.command("show")
@click.argument("item")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--catalogue-dir", type=click.Path(path_type=Path, file_okay=False), help=_CATALOGUE_DIR_HELP)
@click.option("--topic-prefix", help=_PREFIX_HELP)
@reports_errors
def catalogue_show(item: str, as_json: bool, catalogue_dir: Path | None, topic_prefix: str | None) -> None:
    """Show ITEM: fields, sharing, personal fields and masking, owner, topics, legal basis."""
    from govbus.commands.catalogue import show_item

    show_item(item, catalogue_dir, topic_prefix, as_json)


@catalogue.command("asyncapi")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the document to this file: YAML for .yaml/.yml, JSON for .json [default: YAML on stdout].")
@click.option("--page", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the readable Markdown page made from the document to this file.")
@click.option("--topic-prefix", help=_PREFIX_HELP)
@reports_errors
def catalogue_asyncapi(out: Path | None, page: Path | None, topic_prefix: str | None) -> None:
    """The AsyncAPI 3.0 document of the bus, generated from the catalogue: every topic (department, local dialect,
    canonical, dead-letter, profile, subscription, control, audit, sources) as a channel with its payload (Avro
    or JSON Schema), key, headers and registry subject, and what each role sends and receives. The committed
    copy is docs/asyncapi.yaml, its page docs/asyncapi.md."""
    from govbus.commands.catalogue import write_asyncapi

    write_asyncapi(out, page, topic_prefix)


@main.group()
def schemas() -> None:
    """The catalogue's event schemas in the schema registry (GOVBUS_REGISTRY__URL)."""


@schemas.command("sync")
@click.option("--item", help="Only this data item.")
@click.option("--dry-run", is_flag=True, help="Check compatibility only; register nothing, set no level.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
@click.option("--catalogue-dir", type=click.Path(path_type=Path, file_okay=False), help=_CATALOGUE_DIR_HELP)
@click.option("--topic-prefix", help=_PREFIX_HELP)
@click.option("--registry-url", help="Schema registry URL (env GOVBUS_REGISTRY__URL).")
@reports_errors
def schemas_sync(item: str | None, dry_run: bool, as_json: bool, catalogue_dir: Path | None,
                 topic_prefix: str | None, registry_url: str | None) -> None:
    """Register each item's change-event schema under its department topic's value subject.

    Sets each subject's compatibility level from the catalogue first. If any change breaks its
    level, nothing is registered, the registry's reasons are printed and the exit code is 1.
    """
    from govbus.commands.schemas import sync_schemas

    sync_schemas(item, dry_run, catalogue_dir, topic_prefix, registry_url, as_json, console)


@main.group()
def topics() -> None:
    """Kafka topics of the catalogue's items (auto-creation is off on govbus brokers)."""


@topics.command("sync")
@click.option("--partitions", default=None, type=click.IntRange(1, 1000),
              help="Partitions of each topic created now [default: 3 for the catalogue's topics, "
                   "GOVBUS_NORMALISER_PARTITIONS / GOVBUS_PROFILES_PARTITIONS for the processors']. Existing "
                   "catalogue topics are left as they are; a processor topic with another count is refused.")
@click.option("--processors/--catalogue-only", default=True, show_default=True,
              help="Also create the stream processors' topics: dialect topics, state changelogs, the profile "
                   "builder's repartition and profile topics (GOVBUS_NORMALISER_* / GOVBUS_PROFILES_* apply).")
@reports_errors
def topics_sync(partitions: int | None, processors: bool) -> None:
    """Create every item's department, canonical and dead-letter topics (GOVBUS_TOPIC_PREFIX applies),
    and the stream processors' own topics."""
    from govbus.catalogue_topics import sync_topics
    from govbus.commands.streams import sync_processor_topics
    from govbus.preflight import require_broker
    from govbus.settings import ClientSettings
    from govbus.topic_names import TopicSettings
    from schemas.catalogue import load_catalogue

    kafka = ClientSettings().kafka
    require_broker(kafka.bootstrap)
    names = sync_topics(kafka, load_catalogue().items(), TopicSettings().topic_prefix, partitions or 3)
    if processors:
        names = list(dict.fromkeys([*names, *sync_processor_topics(partitions)]))
    console.print(f"{len(names)} topics ready")


@main.command("publish")
@click.argument("item")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--department", required=True, help="Your department (it must own ITEM in the catalogue).")
@click.option("--source-system", default="bulk-load", show_default=True, help="Name of the system the file came from.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="File format (default: from the suffix).")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write every rejected line with its field, rule and reason to this JSON file.")
@reports_errors
def publish(item: str, file: Path, department: str, source_system: str, fmt: str | None,
            report_path: Path | None) -> None:
    """Publish every record of a JSON-lines or CSV FILE as ITEM events; exit 1 if any line is rejected."""
    from govbus.commands.publishing import publish_file

    publish_file(item, file, department, source_system, fmt, report_path, console)


@main.group()
def gateway() -> None:
    """The HTTP ingest gateway for departments without Kafka clients."""


@gateway.command("serve")
@reports_errors
def gateway_serve() -> None:
    """Serve the gateway (settings from GOVBUS_GATEWAY_* variables) until SIGTERM."""
    from govbus.commands.run import run_component

    sys.exit(run_component("gateway"))  # the same as `govbus run gateway`


@gateway.command("add-key")
@click.argument("department")
@click.option("--label", default="default", show_default=True, help="What the key is for.")
@click.option("--keys-file", type=click.Path(path_type=Path, dir_okay=False), envvar="GOVBUS_GATEWAY_KEYS_FILE",
              default="gateway-keys.json", show_default=True, help="Hashed keys file the gateway reads.")
@reports_errors
def gateway_add_key(department: str, label: str, keys_file: Path) -> None:
    """Create an API key for DEPARTMENT; print it once and store only its hash."""
    from govbus.commands.publishing import add_gateway_key

    add_gateway_key(department, label, keys_file, console)


@main.group()
def outbox() -> None:
    """The PostgreSQL outbox source connector (a department's database -> its topics)."""


_DSN_HELP = "libpq DSN or URI of the department's database (env GOVBUS_OUTBOX_DSN)."


@outbox.command("migrate")
@click.option("--dsn", required=True, envvar="GOVBUS_OUTBOX_DSN", help=_DSN_HELP)
@reports_errors
def outbox_migrate(dsn: str) -> None:
    """Create the outbox, position and rejected-rows tables (idempotent)."""
    from govbus.commands.outbox import migrate

    migrate(dsn, console)


@outbox.command("run")
@click.option("--dsn", help=_DSN_HELP)
@click.option("--department", help="Publishing department (env GOVBUS_OUTBOX_DEPARTMENT).")
@click.option("--source-system", help="Source system name (env GOVBUS_OUTBOX_SOURCE_SYSTEM).")
@click.option("--name", help="Connector name, the key of its position (env GOVBUS_OUTBOX_NAME).")
@click.option("--metrics-port", type=int,
              help="Prometheus port (env GOVBUS_OUTBOX_METRICS_PORT; address: GOVBUS_METRICS_HOST).")
@reports_errors
def outbox_run(dsn: str | None, department: str | None, source_system: str | None, name: str | None,
               metrics_port: int | None) -> None:
    """Publish outbox rows until SIGTERM (other settings from GOVBUS_OUTBOX_* variables)."""
    from govbus.commands.outbox import run

    run({"outbox_dsn": dsn, "outbox_department": department, "outbox_source_system": source_system,
         "outbox_name": name, "outbox_metrics_port": metrics_port})


@outbox.command("status")
@click.option("--dsn", required=True, envvar="GOVBUS_OUTBOX_DSN", help=_DSN_HELP)
@click.option("--name", default="govbus-outbox", show_default=True, envvar="GOVBUS_OUTBOX_NAME",
              help="Connector name (env GOVBUS_OUTBOX_NAME).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def outbox_status(dsn: str, name: str, as_json: bool) -> None:
    """Show the connector's position, rows waiting and rejected rows."""
    from govbus.commands.outbox import status

    status(dsn, name, as_json, console)


@main.group()
def subscriptions() -> None:
    """Subscribing systems: what they receive (authorised from the catalogue and the grants)."""


@subscriptions.command("add")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@reports_errors
def subscriptions_add(file: Path) -> None:
    """Declare a subscription from a YAML FILE; a refused one says why (exit 1).

    See examples/subscription-hz-centre.yaml for what a file holds (name, subscriber, items with their
    fields and filter, delivery) and the README's "Sharing" walk-through.
    """
    from govbus.commands.sharing import add_subscription

    add_subscription(file, console)


@subscriptions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def subscriptions_list(as_json: bool) -> None:
    """Every subscription."""
    from govbus.commands.sharing import list_subscriptions

    list_subscriptions(as_json, console)


@subscriptions.command("show")
@click.argument("name")
@reports_errors
def subscriptions_show(name: str) -> None:
    """One subscription, and whether it is authorised now."""
    from govbus.commands.sharing import show_subscription

    show_subscription(name, console)


@subscriptions.command("remove")
@click.argument("name")
@reports_errors
def subscriptions_remove(name: str) -> None:
    """Remove a subscription (its connector stops delivering)."""
    from govbus.commands.sharing import remove_subscription

    remove_subscription(name, console)


@subscriptions.command("run")
@click.argument("name")
@click.option("--metrics-port", type=int,
              help="Prometheus port (env GOVBUS_WEBHOOK_METRICS_PORT; address: GOVBUS_METRICS_HOST).")
@reports_errors
def subscriptions_run(name: str, metrics_port: int | None) -> None:
    """Deliver subscription NAME by webhook until SIGTERM (other settings from GOVBUS_WEBHOOK_* variables)."""
    from govbus.commands.delivery import run_subscription

    run_subscription(name, {"webhook_metrics_port": metrics_port})


@subscriptions.command("secret")
def subscriptions_secret() -> None:
    """Print a new webhook signing secret: whsec_ and 32 random bytes in base64 (Standard Webhooks).

    Put it in the variable the subscription's delivery.secret_env names and give it to the receiver. To rotate,
    put the new secret first and the old one after it, space-separated, until the receiver has the new one
    (see connectors/webhook/README.md).
    """
    from connectors.webhook.signing_secrets import new_secret

    click.echo(new_secret())


@subscriptions.command("push")
@reports_errors
def subscriptions_push() -> None:
    """Push one canonical topic to an HTTP receiver as JSON until SIGTERM (the reference HTTP push).

    One POST per event with its event id as Idempotency-Key; the offset is committed after a 2xx,
    anything else is retried with backoff. Settings from GOVBUS_PUSH_* variables (GOVBUS_PUSH_TOPIC,
    GOVBUS_PUSH_URL, GOVBUS_PUSH_GROUP, GOVBUS_PUSH_METRICS_PORT, ...). Every field of every event is
    sent: no subscription, grant or masking applies, so point it only at a receiver entitled to the
    whole item (`subscriptions run` delivers a declared, authorised subscription).
    """
    from connectors.http_push import HttpPushSettings, run
    from govbus.service import run_entrypoint

    sys.exit(run_entrypoint(HttpPushSettings, run, "push", "GOVBUS_PUSH_*"))


@subscriptions.command("replay")
@click.argument("name")
@click.option("--from", "from_time", required=True,
              help="ISO time (2026-11-23T10:00:00+08:00; without a zone: local time) or an age (15m, 2h, 7d).")
@click.option("--dry-run", is_flag=True, help="Show where the offsets would move; move nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def subscriptions_replay(name: str, from_time: str, dry_run: bool, as_json: bool) -> None:
    """Re-deliver NAME's events from a time: move its group's offsets (its connector must be stopped)."""
    from govbus.commands.delivery import replay

    replay(name, from_time, dry_run, as_json, console)


@subscriptions.command("redeliver")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="List what would be sent; send and commit nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def subscriptions_redeliver(name: str, dry_run: bool, as_json: bool) -> None:
    """Send NAME's parked events again, each once, if still authorised (settings from GOVBUS_WEBHOOK_* variables).

    Reads the parked topic from the position of group <prefix>.subscription.NAME.redeliver; events whose item
    is no longer authorised are skipped and reported; a batch with no 2xx stays parked (exit 1).
    """
    from govbus.commands.delivery import redeliver

    redeliver(name, dry_run, as_json, console)


@main.group()
def grants() -> None:
    """Grants: a providing department approves a subscriber's access to a conditional item."""


@grants.command("add")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@reports_errors
def grants_add(file: Path) -> None:
    """Record a grant from a YAML FILE (approved by the item's providing department).

    See examples/grant-tax-certificates.yaml for what a file holds (grant id, subscriber, item, approving
    department, purpose, fields, unmasked fields, expiry) and the README's "Sharing" walk-through.
    """
    from govbus.commands.sharing import add_grant

    add_grant(file, console)


@grants.command("revoke")
@click.argument("grant_id")
@reports_errors
def grants_revoke(grant_id: str) -> None:
    """Revoke a grant: delivery under it stops."""
    from govbus.commands.sharing import revoke_grant

    revoke_grant(grant_id, console)


@grants.command("list")
@reports_errors
def grants_list() -> None:
    """Every grant and its state (active, expired, revoked)."""
    from govbus.commands.sharing import list_grants

    list_grants(console)


@main.group()
def acl() -> None:
    """The broker's ACLs, derived from the catalogue, the subscriptions and the grants (run as admin)."""


@acl.command("sync")
@click.option("--dry-run", is_flag=True, help="show the difference; change nothing")
@click.option("--json", "as_json", is_flag=True, help="the difference as JSON")
@reports_errors
def acl_sync(dry_run: bool, as_json: bool) -> None:
    """Make the broker hold exactly the ACLs the grants imply now (`govbus run acl` does it every 2 s).

    Adds what is missing (a new subscription, a new grant) and deletes what no grant implies any more
    (a revoked or expired grant, a removed subscription), for the principals of departments, subscribers
    and subscriptions' connectors under GOVBUS_TOPIC_PREFIX. Needs the administrator's credentials.
    """
    from govbus.commands.acl import sync

    sync(dry_run, as_json, console)


@main.group()
def principals() -> None:
    """Principals of a secured broker govbus does not start itself (docker-compose.yml, a cluster).

    `govbus dev up` does all this for its own node: create the credentials file before the broker starts (the
    broker's configuration needs the administrator's password), provision the principals once it runs, and run
    each component as its own principal. See docker-compose.yml for the three steps.
    """


_CREDENTIALS_FILE = click.option(
    "--credentials-file", required=True, type=click.Path(path_type=Path, dir_okay=False),
    help="The credentials file: JSON principal -> username, password, mode 0600 (govbus/identities.py).")


@principals.command("create")
@_CREDENTIALS_FILE
@click.option("--owner", help="Then give the file to this numeric user id (UID or UID:GID; needs root), for a "
                              "broker container that runs as another user and must read the administrator's "
                              "password (the apache/kafka image: 1000:1000).")
@click.option("--pseudonym-key", type=click.Path(path_type=Path, dir_okay=False),
              help="Also make the platform's pseudonym key in this file (random, mode 0600, kept if it exists; "
                   "not given to --owner), for the delivery connectors (`principals exec --pseudonym-key`).")
@click.argument("keys", nargs=-1)
@reports_errors
def principals_create(credentials_file: Path, owner: str | None, pseudonym_key: Path | None,
                      keys: tuple[str, ...]) -> None:
    """Create or complete the credentials file; needs no broker.

    A random password for the administrator (the broker's super user), the operator, each department of the
    catalogue, the stream processors, the public feed and each of KEYS (subscriber:<slug>,
    connector:<subscription>, department:<slug>). Existing passwords are kept; none is printed.
    """
    from govbus.commands.principals import create

    create(credentials_file, list(keys), owner, console, pseudonym_key)


@principals.command("provision")
@_CREDENTIALS_FILE
@reports_errors
def principals_provision(credentials_file: Path) -> None:
    """Create every principal of the credentials file on the running broker, with the static ACLs.

    As the file's administrator, on GOVBUS_KAFKA__BOOTSTRAP (GOVBUS_KAFKA__SASL_MECHANISM=PLAIN for a listener
    where the administrator is a static JAAS user, as on docker-compose.yml's broker before any SCRAM user
    exists): the SCRAM-SHA-512 credential of each principal, the operator's, departments', stream processors'
    and public feed's ACLs, the departments' grants topics and the subscribers' subscriptions topics.
    Idempotent. The ACLs grants imply are the reconciler's (`govbus run acl`, `govbus acl sync`).
    """
    from govbus.commands.principals import provision

    provision(credentials_file, console)


@principals.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@_CREDENTIALS_FILE
@click.option("--pseudonym-key", type=click.Path(path_type=Path, dir_okay=False),
              help="Also set GOVBUS_PSEUDONYM_KEY from this file (made by `principals create --pseudonym-key`): "
                   "for the delivery connectors (webhook, kafka-delivery) only.")
@click.argument("key")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@reports_errors
def principals_exec(credentials_file: Path, pseudonym_key: Path | None, key: str, command: tuple[str, ...]) -> None:
    """Run COMMAND as principal KEY of the credentials file (admin, processor:normaliser ...).

    Sets GOVBUS_KAFKA__SECURITY_PROTOCOL (SASL), GOVBUS_KAFKA__USERNAME / __PASSWORD and
    GOVBUS_REGISTRY__USERNAME / __PASSWORD from the file (and GOVBUS_PSEUDONYM_KEY with --pseudonym-key), then
    replaces itself with COMMAND: no password or key on a command line, in the output or in a log. Example:
    govbus principals exec --credentials-file creds.json processor:normaliser -- govbus run normaliser
    """
    from govbus.commands.principals import exec_as

    exec_as(credentials_file, key, command, pseudonym_key)


@main.group()
def audit() -> None:
    """The delivery audit: who received which record, which fields, when; is it intact (GOVBUS_TOPIC_PREFIX applies).

    who-received and deliveries answer from the audit index when GOVBUS_AUDIT_INDEX_DSN names one
    (`govbus run audit-indexer` keeps it), else read the whole audit topic."""


@audit.command("who-received")
@click.argument("item")
@click.argument("record_key")
@click.option("--since", help="Only outcomes at or after this time (ISO time or an age such as 7d).")
@click.option("--all-outcomes", is_flag=True, help="Also show refused and parked events, not only deliveries.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def audit_who_received(item: str, record_key: str, since: str | None, all_outcomes: bool, as_json: bool) -> None:
    """Every subscriber that received RECORD_KEY of ITEM: when, which fields, which masked."""
    from govbus.commands.audit import index_configured, show_who_received

    if index_configured():
        show_who_received(item, record_key, since, all_outcomes, as_json)
    else:  # Kafka's client is loaded only to read the topic
        from govbus.commands.audit_scan import scan_topic

        show_who_received(item, record_key, since, all_outcomes, as_json, scan_topic)


@audit.command("deliveries")
@click.argument("subscriber")
@click.option("--since", required=True, help="ISO time (2026-11-23T10:00:00+08:00) or an age (15m, 2h, 7d).")
@click.option("--outcome", type=click.Choice(["delivered", "parked", "refused"]), help="Only this outcome.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def audit_deliveries(subscriber: str, since: str, outcome: str | None, as_json: bool) -> None:
    """What SUBSCRIBER received (and was refused, or had parked) since a time."""
    from govbus.commands.audit import index_configured, show_deliveries

    if index_configured():
        show_deliveries(subscriber, since, outcome, as_json)
    else:
        from govbus.commands.audit_scan import scan_topic

        show_deliveries(subscriber, since, outcome, as_json, scan_topic)


@audit.command("verify")
@click.option("--subscription", help="Only the chains of this subscription (records that do not parse are always "
                                     "reported).")
@click.option("--public-key", "public_keys", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A trusted public key (PEM; repeat for one per connector key). Default: the key of "
                   "GOVBUS_AUDIT_KEY_FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def audit_verify(subscription: str | None, public_keys: tuple[Path, ...], as_json: bool) -> None:
    """Check that the audit was not tampered with: every connector's chain of records.

    Each connector links each audit record to the one before it and signs it (a new chain at each start).
    Reports, per chain, the first break with its partition and offset: a record changed or forged without
    the key (signature), removed, repeated or reordered (seq, prev); and every record that does not parse
    or carries no chain. Reads the whole topic. Exit code 0 if everything verifies, 1 otherwise.
    """
    from govbus.commands.audit_verify import verify_audit

    sys.exit(verify_audit(subscription, public_keys, as_json))


@audit.command("keygen")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@reports_errors
def audit_keygen(path: Path) -> None:
    """Make an Ed25519 key to sign audit records: PATH (private, mode 0600) and PATH with .pub (public).

    Give PATH to the delivery connectors as GOVBUS_AUDIT_KEY_FILE, the .pub file to whoever verifies
    (`govbus audit verify --public-key`). An existing PATH is kept. `govbus dev up` makes one itself.
    """
    from govbus.commands.audit_verify import make_key

    make_key(path)


@main.group()
def streams() -> None:
    """Stream processors: the normaliser (local dialects -> canonical events) and the profile builder."""


_ITEMS_HELP = "Comma-separated catalogue items (env GOVBUS_NORMALISER_ITEMS; default: every item with dialects)."


@streams.command("normalise")
@click.option("--items", help=_ITEMS_HELP)
@click.option("--metrics-port", type=int,
              help="Prometheus port (env GOVBUS_NORMALISER_METRICS_PORT; address: GOVBUS_METRICS_HOST).")
@reports_errors
def streams_normalise(items: str | None, metrics_port: int | None) -> None:
    """Normalise department and local-dialect records to canonical events until SIGTERM.

    Creates its topics first; other settings from GOVBUS_* variables (GOVBUS_TOPIC_PREFIX,
    GOVBUS_NORMALISER_PARTITIONS, GOVBUS_NORMALISER_DEDUP_WINDOW_SECONDS, ...).
    """
    from govbus.commands.streams import run_normaliser

    run_normaliser(items, metrics_port)


@streams.command("topics")
@click.option("--items", help=_ITEMS_HELP)
@reports_errors
def streams_topics(items: str | None) -> None:
    """Create every topic the normaliser needs (sources, local dialects, canonical, dead letters, changelogs)."""
    from govbus.commands.streams import create_topics

    create_topics(items, console)


@streams.command("dialects")
@click.option("--item", help="Only this data item's dialects.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--topic-prefix", help=_PREFIX_HELP)
@reports_errors
def streams_dialects(item: str | None, as_json: bool, topic_prefix: str | None) -> None:
    """List the local dialects the normaliser reads, with their topics."""
    from govbus.commands.catalogue import topic_prefix as prefix_of
    from govbus.commands.streams import list_dialects

    list_dialects(item, prefix_of(topic_prefix), as_json)


@streams.command("profiles")
@click.option("--profiles", help="Comma-separated profiles to build (enterprise, person; default: both).")
@click.option("--metrics-port", type=int,
              help="Prometheus port (env GOVBUS_PROFILES_METRICS_PORT; address: GOVBUS_METRICS_HOST).")
@click.option("--create-topics", is_flag=True, help="Create (or check) the profile builder's topics, list them, exit.")
@reports_errors
def streams_profiles(profiles: str | None, metrics_port: int | None, create_topics: bool) -> None:
    """Build the enterprise and person profiles from canonical events until SIGTERM.

    Joins items by identifier and writes compacted <prefix>.profile.<name> topics; creates its
    topics first. Settings from GOVBUS_* variables (GOVBUS_TOPIC_PREFIX, GOVBUS_PROFILES_APP_ID,
    GOVBUS_PROFILES_PARTITIONS, GOVBUS_PROFILES_DATA_DIR, ...).
    """
    from streams.profiles.commands import create_profile_topics, run_profiles

    if create_topics:
        create_profile_topics(profiles, console)
        return
    run_profiles(profiles, metrics_port)


@main.group("sources")
def sources_group() -> None:
    """Sources (department, item, source system) and when the bus last saw an event from each.

    Read from <prefix>.sources, which the normaliser keeps (GOVBUS_NORMALISER_SOURCES_INTERVAL_SECONDS); silence
    is judged against each item's update cycle plus GOVBUS_SOURCES_GRACE_SECONDS."""


@sources_group.command("silent")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def sources_silent(as_json: bool) -> None:
    """Every source that published nothing within its item's update cycle plus the grace, longest silent first."""
    from govbus.commands.operations import show_silent_sources

    show_silent_sources(as_json, Console(soft_wrap=as_json))


@main.group("systems")
def systems_group() -> None:
    """The register of source systems (schemas/catalogue/systems/) against what the bus saw."""


@systems_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def systems_list(as_json: bool) -> None:
    """Every declared system with its last event: never published, silent, unwatched; and undeclared sources."""
    from govbus.commands.operations import list_systems

    list_systems(as_json, Console(soft_wrap=as_json))


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON (the console's /status.json).")
@reports_errors
def bus_status(as_json: bool) -> None:
    """The bus on one screen: broker and registry reachable, components up, lag per subscription, dead letters and
    parked events of the last hour, silent sources, systems and subscriptions, grants expiring soon.

    Run it as the operator principal (GOVBUS_KAFKA__*, GOVBUS_REGISTRY__*). Components checked:
    GOVBUS_STATUS_TARGETS (name=url pairs of their /metrics) and what `govbus dev up` started on the same broker.
    `govbus config console` lists every setting.

    Exit codes: 0 healthy; 1 something needs attention (the broker, the registry or a component does not answer,
    a source, system or subscription is silent, or part of the bus could not be read: the problems say what);
    2 invalid settings. Dead letters, parked events and expiring grants are notes: they leave 0.
    """
    from pydantic import ValidationError as SettingsError

    from govbus.commands.status import show_status
    from govbus.settings import settings_problems

    try:
        code = show_status(as_json, Console(soft_wrap=as_json))
    except SettingsError as error:
        console.print(f"[bold red]error:[/] invalid settings (GOVBUS_STATUS_*, GOVBUS_KAFKA__*, GOVBUS_REGISTRY__*): "
                      f"{settings_problems(error)}", highlight=False)
        sys.exit(2)
    sys.exit(code)


@main.command("demo")
@click.option("--records", default=300, show_default=True, type=click.IntRange(1, 100_000),
              help="How many synthetic enterprise registrations to publish.")
@click.option("--invalid-share", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Share of records published with a wrong check character.")
@click.option("--no-outbox", is_flag=True, help="Skip the PostgreSQL outbox path (it installs PostgreSQL if missing).")
@reports_errors
def demo(records: int, invalid_share: float, no_outbox: bool) -> None:
    """Run the bus on the local platform: every publishing path, the stream processors, the subscribers."""
    from govbus.demo import run_demo

    wide_enough = None if sys.stdout.isatty() else 120  # piped output: wide tables rather than folded ones
    run_demo(records, invalid_share, Console(width=wide_enough), with_outbox=not no_outbox)



_SCENARIO_FAULTS = ("broker-kill", "normaliser-kill", "profiles-kill", "outbox-kill", "gateway-kill", "webhook-kill",
                    "mirror-kill", "feed-kill", "kafka-subscriber-kill", "receiver-down", "receiver-429",
                    "postgres-restart", "registry-restart")


def _checkout_on_path() -> None:
    """``bench/`` is not installed with govbus: the scenario runs from a checkout of the repository, whose root is
    put on ``sys.path`` (the parent of this package's directory, when it holds ``bench/scenario``)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "bench" / "scenario").is_dir():
        raise GovbusError("govbus scenario runs from a checkout of the govbus repository (its bench/scenario "
                          "directory): install govbus from the checkout with `pip install -e .`")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


@main.group()
def scenario() -> None:
    """A province on the bus, under load and faults, counted record by record (code in bench/scenario, in the
    repository: run these from a checkout)."""


@scenario.command("run")
@click.option("--rate", default=100.0, show_default=True, type=click.FloatRange(1, 20_000),
              help="Records a second, every department together.")
@click.option("--duration", default=60.0, show_default=True, type=click.FloatRange(5, 7_200),
              help="Seconds of publishing (the run then waits for every subscriber to catch up).")
@click.option("--seed", default=2017, show_default=True, type=int, help="Seed of every record and choice.")
@click.option("--invalid-share", default=0.05, show_default=True, type=click.FloatRange(0, 0.5),
              help="Share of records made invalid on purpose (refused at the source or dead-lettered).")
@click.option("--mix", default="", show_default=False, metavar="PATH=W,...",
              help="Weight of each publishing path against the others (sdk, bulk, gateway, outbox, dialect; 1 each "
                   "unless named), e.g. sdk=3,outbox=0.")
@click.option("--fault", type=click.Choice(_SCENARIO_FAULTS), help="Inject this fault while publishing.")
@click.option("--fault-at", default=0.3, show_default=True, type=click.FloatRange(0.05, 0.9),
              help="When the fault comes, as a share of the publishing time.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 4),
              help="Workers of each stream processor.")
@click.option("--sample-every", default=5.0, show_default=True, type=click.FloatRange(0.5, 60),
              help="Seconds between two samples of memory, offsets and lag.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Directory of the run's data (default: <home>/scenario/<run id>).")
@click.option("--check/--no-check", default=True, show_default=True, help="Check the run when it ends.")
@reports_errors
def scenario_run(rate: float, duration: float, seed: int, invalid_share: float, mix: str, fault: str | None,
                 fault_at: float, workers: int, sample_every: float, out: Path | None, check: bool) -> None:
    """Run the province scenario on the local platform (started if needed); exit 1 if the check fails."""
    _checkout_on_path()
    from bench.scenario.commands import run_command

    sys.exit(run_command(dict(rate=rate, duration_s=duration, seed=seed, invalid_share=invalid_share, fault=fault,
                              fault_at=fault_at, workers=workers, sample_every=sample_every), out, check, mix))


@scenario.command("check")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print check.json instead of tables.")
@reports_errors
def scenario_check(run_dir: Path, as_json: bool) -> None:
    """Count a run record by record: lost, duplicated, unexpected, leaked per subscriber; exit 1 unless all 0."""
    _checkout_on_path()
    from bench.scenario.commands import check_command

    sys.exit(check_command(run_dir, as_json))


@scenario.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Directory of the report (report.md and its PNG plots).")
@reports_errors
def scenario_report(run_dirs: tuple[Path, ...], out: Path) -> None:
    """Write a Markdown report with PNG plots from one or more checked runs (several: a fault table)."""
    _checkout_on_path()
    from bench.scenario.commands import report_command

    report_command(list(run_dirs), out, " ".join(["govbus", "scenario", "report", *map(str, run_dirs), "--out",
                                                   str(out)]))


@scenario.command("matrix")
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Directory of the runs (one per fault) and of the report with the fault table.")
@click.option("--fault", "faults", multiple=True, type=click.Choice(_SCENARIO_FAULTS),
              help="Only these faults (repeat the option); default: every one.")
@click.option("--rate", default=30.0, show_default=True, type=click.FloatRange(1, 20_000),
              help="Records a second in each run.")
@click.option("--duration", default=60.0, show_default=True, type=click.FloatRange(5, 7_200),
              help="Seconds of publishing in each run (the receiver is down 60 s: keep it above 60).")
@click.option("--seed", default=2017, show_default=True, type=int, help="Seed of every run.")
@reports_errors
def scenario_matrix(out: Path, faults: tuple[str, ...], rate: float, duration: float, seed: int) -> None:
    """Every fault, each in its own run, checked; then one report with the table of fault x lost, duplicated,
    unexpected, leaked and recovery time. Exit 1 if any run is not all zeros."""
    _checkout_on_path()
    from bench.scenario.commands import matrix_command

    sys.exit(matrix_command(out, list(faults or _SCENARIO_FAULTS), dict(rate=rate, duration_s=duration, seed=seed)))

if __name__ == "__main__":
    main()

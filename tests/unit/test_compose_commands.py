"""docker-compose.yml names only commands that exist (`govbus ...` in the CLI tree, `python -m ...` as modules), and
runs the platform secured (issue #10): SASL on every listener of the broker, its authorizer, no password in the
file, every component as its own principal from the shared credentials file."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from typing import Any

import click
import yaml

from govbus.cli import main
from govbus.commands.run import RUNNABLE
from govbus.operations.status_settings import parse_targets
from govbus.platform import provisioning
from govbus.sharing.access import PUBLIC_FEED
from govbus.sharing.model import load_grant, load_subscription
from schemas.catalogue import load_catalogue

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _resolve(words: list[str]) -> click.Command | None:
    """The command ``govbus <words...>`` names (options and the command's own arguments excluded), or None."""
    command: click.Command | None = main
    for word in words:
        if word.startswith("-") or not isinstance(command, click.Group):
            break
        command = command.get_command(click.Context(command), word)
        if command is None:
            return None
    return command


def test_every_govbus_command_of_the_compose_file_exists() -> None:
    commands = {name: s["command"] for name, s in _services().items() if isinstance(s.get("command"), list)}
    govbus = {name: command for name, command in commands.items() if command[0] == "govbus"}
    assert {"topics", "normaliser", "profiles", "push"} <= govbus.keys()
    entrypoints = {f"{name} (entrypoint)": s["entrypoint"] for name, s in _services().items() if "entrypoint" in s}
    for name, command in (govbus | entrypoints).items():
        resolved = _resolve(command[1:])
        assert resolved is not None and not isinstance(resolved, click.Group), f"{name}: {command} is no command"
    for name, command in commands.items():
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, f"{name}: no module {command[2]}"


def test_services_depend_only_on_services_of_the_file() -> None:
    services = _services()
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict | list)
        assert set(depends) <= services.keys(), f"{name} depends on a service the file does not define"


def test_compose_runs_every_component_with_postgresql() -> None:
    services = _services()
    started = {s["command"][2] for s in services.values()
               if isinstance(s.get("command"), list) and s["command"][:2] == ["govbus", "run"]}
    assert started == set(RUNNABLE), f"components compose does not run: {sorted(set(RUNNABLE) - started)}"
    assert "postgres" in services and str(services["postgres"]["image"]).startswith("postgres:")


def test_the_files_compose_hands_to_commands_exist_and_are_valid() -> None:
    loaders = {"grants": load_grant, "subscriptions": load_subscription}
    checked = 0
    for service in _services().values():
        command = service.get("command")
        if isinstance(command, list) and command[:1] == ["govbus"] and command[1] in loaders and command[2] == "add":
            path = COMPOSE.parent / command[3]
            assert path.is_file(), f"{command}: {path} does not exist (the image copies examples/)"
            loaders[command[1]](path)
            checked += 1
    assert checked >= 3


# --- security (issue #10): the broker, the credentials, every component's principal -------------------------------

CREDENTIALS_FILE = "/run/govbus/credentials.json"
PSEUDONYM_KEY_OPTION = "--pseudonym-key"
PSEUDONYM_KEY_FILE = "/run/govbus/pseudonym.key"
EXEC = ["govbus", "principals", "exec", "--credentials-file", CREDENTIALS_FILE]
ADMIN_COMMANDS = {("run", "registry"), ("topics", "sync"), ("run", "acl"), ("acl", "sync"), ("subscriptions", "push")}
"""what runs as the administrator: the platform itself (registry, topics, ACLs), and the reference HTTP push, which
reads a whole canonical topic outside any subscription (no principal of the design fits it)"""
GATEWAY_DEPARTMENT = "market-regulation"  # the department of the header's example API key
DEMO_LITERALS = {("postgres", "POSTGRES_PASSWORD"), ("outbox", "GOVBUS_OUTBOX_DSN"), ("mirror", "MIRROR_DSN"),
                 ("outbox-migrate", "command"), ("webhook", "HZ_SECRET"), ("receiver", "HZ_SECRET"),
                 ("audit-indexer", "GOVBUS_AUDIT_INDEX_DSN")}
"""the demo PostgreSQL's password and the webhook's signing secret (the webhook signs with it, the reference receiver
verifies with it), fixed demo values outside the principals;
named so that any other literal secret fails"""


def _kafka_env() -> dict[str, str]:
    return {key: str(value) for key, value in _services()["kafka"]["environment"].items()}


def _listeners() -> dict[str, str]:
    """Listener name -> security protocol."""
    pairs = (entry.split(":") for entry in _kafka_env()["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    return {name: protocol for name, protocol in pairs}


def _mechanisms(listener: str) -> str:
    env = _kafka_env()
    return env.get(f"KAFKA_LISTENER_NAME_{listener}_SASL_ENABLED_MECHANISMS", env["KAFKA_SASL_ENABLED_MECHANISMS"])


def test_the_broker_takes_only_sasl_and_authorizes_every_request() -> None:
    env = _kafka_env()
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    listeners = _listeners()
    assert set(listeners.values()) == {"SASL_PLAINTEXT"}, f"a listener without authentication: {listeners}"
    advertised = dict(reversed(entry.split("://")) for entry in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    client = advertised["kafka:9092"]  # the listener the components use
    host = advertised["localhost:29092"]  # the one published on the host
    assert _mechanisms(client) == _mechanisms(host) == "SCRAM-SHA-512"
    assert _services()["kafka"]["ports"] == ["127.0.0.1:29092:29092"]
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert _mechanisms(controller) == "PLAIN" == env["KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL"], "as the local node's"
    bound = {entry.split("://")[0] for entry in env["KAFKA_LISTENERS"].split(",")}
    assert bound == set(listeners), "every listener the broker binds has its protocol mapped (none defaults)"


def _kafka_script() -> str:
    """The broker's command as the container's shell receives it (compose turns ``$$`` into ``$``)."""
    command = _services()["kafka"]["command"]
    assert command[:2] == ["bash", "-ec"]
    script = str(command[2])
    assert "$" not in script.replace("$$", ""), "a single $ would be interpolated by compose from the host's env"
    return script.replace("$$", "$")


def test_the_broker_reads_its_administrator_from_the_credentials_file(tmp_path: Path) -> None:
    """The broker's command, run with bash against a file `govbus principals create` made: the JAAS lines of the
    PLAIN listeners and the healthcheck's client properties hold the administrator's password, mode 0600."""
    run, mounted, config = tmp_path / "run", tmp_path / "mnt", tmp_path / "opt"
    for directory in (run, mounted, config):
        directory.mkdir()
    made = provisioning.ensure_credentials(run / "credentials.json", ["subscriber:hz-centre"])
    script = (_kafka_script().replace("/run/govbus", str(run)).replace("/mnt/shared/config", str(mounted))
              .replace("/opt/kafka/config", str(config)).replace("exec /etc/kafka/docker/run", "echo launched"))
    done = subprocess.run(["bash", "-ec", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "launched", done.stderr
    password = made["admin"]["password"]
    assert password not in done.stdout + done.stderr
    server = (mounted / "server.properties").read_text()
    plain = f'PlainLoginModule required username="admin" password="{password}" user_admin="{password}";'
    for listener in ("broker", "controller"):
        assert f"listener.name.{listener}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.{plain}" \
            in server
    for listener in ("client", "host"):
        assert f"listener.name.{listener}.scram-sha-512.sasl.jaas.config=" in server
    client = (config / "admin-client.properties").read_text()
    assert "sasl.mechanism=PLAIN" in client and f'password="{password}";' in client
    assert {(mounted / "server.properties").stat().st_mode & 0o777,
            (config / "admin-client.properties").stat().st_mode & 0o777} == {0o600}
    healthcheck = " ".join(_services()["kafka"]["healthcheck"]["test"])
    assert "--command-config /opt/kafka/config/admin-client.properties" in healthcheck and "kafka:9094" in healthcheck


def test_the_broker_without_an_administrator_stops_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text('{"operator": {"username": "operator", "password": "x"}}')
    script = _kafka_script().replace("/run/govbus", str(tmp_path))
    done = subprocess.run(["bash", "-ec", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1 and "no administrator's password readable" in done.stderr


def _strings(node: object) -> list[str]:
    """Every key and value of a parsed YAML document, as text."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in (str(key), *_strings(value))]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return [str(node)]


def _secret_literals() -> set[tuple[str, str]]:
    """(service, variable) of every value that looks like a secret: a name saying so, or a URL with a password."""
    secret_name = re.compile(r"PASSWORD|SECRET|TOKEN|JAAS")
    url_password = re.compile(r"://[^/@:\s]+:[^/@\s]+@")
    found = set()
    for name, service in _services().items():
        for key, value in (service.get("environment") or {}).items():
            if secret_name.search(key) or url_password.search(str(value)):
                found.add((name, key))
        if any(url_password.search(str(word)) for word in service.get("command") or []):
            found.add((name, "command"))
    return found


def test_no_service_carries_a_password_of_a_principal() -> None:
    text = "\n".join(_strings(_services()))  # what compose runs, comments left out
    for variable in ("GOVBUS_KAFKA__USERNAME", "GOVBUS_KAFKA__PASSWORD", "GOVBUS_REGISTRY__USERNAME",
                     "GOVBUS_REGISTRY__PASSWORD", "KAFKA_SASL_JAAS_CONFIG", "KAFKA_OPTS"):
        assert variable not in text, f"{variable} in docker-compose.yml: credentials come from the credentials file"
    assert set(re.findall(r'password=\\?"([^"\\]*)', text)) == {"$$password"}, \
        "the broker's JAAS takes only the credentials file's password"
    assert _secret_literals() <= DEMO_LITERALS, f"literal secrets: {sorted(_secret_literals() - DEMO_LITERALS)}"


def _expected_principal(service: dict[str, Any]) -> str:
    """The principal a component must run as, from what it does."""
    command, env = service["command"], service.get("environment", {})
    words = (command[1], command[2])
    if words in ADMIN_COMMANDS:
        return "admin"
    if words == ("subscriptions", "add"):
        return f"subscriber:{load_subscription(COMPOSE.parent / command[3]).subscriber}"
    if words == ("grants", "add"):
        return f"department:{load_grant(COMPOSE.parent / command[3]).approved_by}"
    component = command[2]
    if component in ("webhook", "mirror", "kafka-delivery"):
        return f"connector:{command[3]}"  # the platform's delivery of that subscription
    if component in ("normaliser", "profiles"):
        return f"processor:{component}"
    by_component = {"feed": f"connector:{PUBLIC_FEED}", "outbox": f"department:{env.get('GOVBUS_OUTBOX_DEPARTMENT')}",
                    "gateway": f"department:{GATEWAY_DEPARTMENT}", "audit-indexer": "operator",
                    "exporter": "operator", "console": "operator"}
    assert component in by_component, f"which principal runs {command}? add it to this test"
    return by_component[component]


def _created_keys() -> set[str]:
    """Every principal the `credentials` service puts in the file."""
    command = _services()["credentials"]["command"]
    assert command[:5] == ["govbus", "principals", "create", "--credentials-file", CREDENTIALS_FILE]
    words = command[5:]
    extra = [word for i, word in enumerate(words)
             if not word.startswith("--") and words[i - 1] not in ("--owner", "--pseudonym-key")]
    return {"admin", *provisioning.platform_keys(load_catalogue()), *extra}


def _without_pseudonym_key(entrypoint: list[str] | None) -> list[str] | None:
    """``entrypoint`` without its ``--pseudonym-key FILE`` option (see the test of the pseudonym key below)."""
    if entrypoint is None or PSEUDONYM_KEY_OPTION not in entrypoint:
        return entrypoint
    at = entrypoint.index(PSEUDONYM_KEY_OPTION)
    return entrypoint[:at] + entrypoint[at + 2:]


def test_every_component_authenticates_as_its_own_principal_from_the_shared_file() -> None:
    services = _services()
    created = _created_keys()
    clients = {name: s for name, s in services.items() if "GOVBUS_KAFKA__BOOTSTRAP" in s.get("environment", {})}
    assert len(clients) >= 18
    for name, service in clients.items():
        mounts = service.get("volumes", [])
        if name == "principals":  # provisions as the file's administrator over the PLAIN listener
            assert service["command"][:3] == ["govbus", "principals", "provision"] and CREDENTIALS_FILE in \
                service["command"]
            assert service["environment"]["GOVBUS_KAFKA__SASL_MECHANISM"] == "PLAIN"
            assert mounts == ["credentials:/run/govbus:ro"]
            continue
        entrypoint = _without_pseudonym_key(service.get("entrypoint"))
        assert entrypoint is not None and entrypoint[:5] == EXEC and entrypoint[6:] == ["--"], \
            f"{name} does not run as a principal of {CREDENTIALS_FILE}: {entrypoint}"
        assert entrypoint[5] == _expected_principal(service), f"{name} runs as {entrypoint[5]}"
        assert entrypoint[5] in created, f"{name} runs as {entrypoint[5]}, which `credentials` does not create"
        assert "credentials:/run/govbus:ro" in mounts, f"{name} does not mount the credentials read-only"
        assert service["environment"]["GOVBUS_KAFKA__BOOTSTRAP"] == "kafka:9092", f"{name}: not the SCRAM listener"
    assert services["registry"]["environment"]["GOVBUS_REGISTRY_CREDENTIALS_FILE"] == CREDENTIALS_FILE
    assert "localhost:8081/'" in " ".join(services["registry"]["healthcheck"]["test"]), "GET / needs no login"


def _depends(name: str) -> set[str]:
    """Every service ``name`` waits for, transitively."""
    direct = set(_services()[name].get("depends_on", {}))
    return direct.union(*(_depends(d) for d in direct)) if direct else set()


def test_credentials_exist_before_the_broker_and_principals_before_the_components() -> None:
    services = _services()
    assert services["credentials"]["volumes"] == ["credentials:/run/govbus"], "the one writer of the file"
    assert services["kafka"]["depends_on"] == {"credentials": {"condition": "service_completed_successfully"}}
    assert services["kafka"]["volumes"] == ["credentials:/run/govbus:ro"]
    assert services["principals"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    for name, service in services.items():
        if "entrypoint" in service:
            assert "principals" in _depends(name), f"{name} may start before its principal exists"
    for name in ("subscription-webhook", "subscription-mirror", "subscription-kafka"):
        assert "acl-sync" in _depends(name), f"{name} may declare before its subscriber's ACLs exist"


def test_only_the_delivery_connectors_get_the_pseudonym_key_the_credentials_service_makes() -> None:
    """Issue #11: record keys a subscriber may not see in clear become pseudonyms made with a key only the platform
    holds; it is made once in the credentials volume and handed to the connectors that make pseudonyms, no other."""
    services = _services()
    create = services["credentials"]["command"]
    assert create[create.index(PSEUDONYM_KEY_OPTION) + 1] == PSEUDONYM_KEY_FILE
    holders = {name for name, s in services.items() if PSEUDONYM_KEY_OPTION in (s.get("entrypoint") or [])}
    assert holders == {"webhook", "kafka-delivery"}
    for name in holders:
        entrypoint = services[name]["entrypoint"]
        assert entrypoint[entrypoint.index(PSEUDONYM_KEY_OPTION) + 1] == PSEUDONYM_KEY_FILE
    assert not any("GOVBUS_PSEUDONYM_KEY" in text for text in _strings(services)), "the key comes from the volume"


# --- monitoring (issue #12): Prometheus, Alertmanager and Grafana from their projects' images -----------------------

MONITORING = {"prometheus": "prom/prometheus", "alertmanager": "prom/alertmanager", "grafana": "grafana/grafana"}


def test_the_monitoring_services_run_pinned_official_images() -> None:
    services = _services()
    for name, repository in MONITORING.items():
        image, _, tag = services[name]["image"].partition(":")
        assert image == repository, f"{name}: {services[name]['image']} is not the official image"
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: pin a version tag, not {tag or 'none'}"


def test_every_published_port_is_bound_to_the_loopback_address() -> None:
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_every_file_compose_mounts_from_the_repository_exists() -> None:
    mounted = 0
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (COMPOSE.parent / source).exists(), f"{name} mounts {source}, which the repository lacks"
                assert str(volume).endswith(":ro"), f"{name} may write into the repository's {source}"
                mounted += 1
    assert mounted >= 5


def test_prometheus_alertmanager_and_grafana_read_the_repository_s_configuration() -> None:
    services = _services()
    prometheus = services["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert {"./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
            "./deploy/prometheus/rules:/etc/prometheus/rules:ro"} <= set(prometheus["volumes"])
    assert "alertmanager" in prometheus["depends_on"]
    alertmanager = services["alertmanager"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert alertmanager["volumes"] == ["./deploy/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"]
    grafana = services["grafana"]
    assert set(grafana["volumes"]) == {"./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
                                       "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro"}


def test_grafana_has_no_password_and_shows_the_dashboards_to_anonymous_viewers() -> None:
    env = {key: str(value) for key, value in _services()["grafana"]["environment"].items()}
    assert not any("PASSWORD" in key for key in env), "no admin password: none is created (see the file's comment)"
    assert env["GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION"] == "true" and env["GF_AUTH_DISABLE_LOGIN_FORM"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true" and env["GF_AUTH_ANONYMOUS_ORG_ROLE"].endswith(":-Viewer}")
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith("/var/lib/grafana/dashboards/")
    assert (COMPOSE.parent / "deploy/grafana/dashboards" / Path(home).name).is_file()


def test_prometheus_scrapes_services_of_the_file_at_the_ports_they_serve_metrics_on() -> None:
    services = _services()
    config = yaml.safe_load((COMPOSE.parent / "deploy/prometheus/prometheus.yml").read_text())
    targets = [target for job in config["scrape_configs"] for group in job["static_configs"]
               for target in group["targets"]]
    assert len(targets) >= 13
    for target in targets:
        host, port = target.split(":")
        assert host in services, f"prometheus.yml scrapes {target}: docker-compose.yml has no service {host}"
        ports = {str(value) for key, value in services[host].get("environment", {}).items()
                 if key.endswith("_METRICS_PORT")}
        served = ports or {str(published).split(":")[-1] for published in services[host].get("ports", [])}
        assert port in served, f"{host} serves /metrics on {sorted(served)}, prometheus.yml scrapes {port}"
    [alerting] = config["alerting"]["alertmanagers"]
    assert alerting["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_the_console_checks_every_component_prometheus_scrapes() -> None:
    config = yaml.safe_load((COMPOSE.parent / "deploy/prometheus/prometheus.yml").read_text())
    scraped = {target for job in config["scrape_configs"] for group in job["static_configs"]
               for target in group["targets"]}
    console = _services()["console"]["environment"]
    targets = parse_targets(console["GOVBUS_STATUS_TARGETS"])
    checked = {re.sub(r"^http://([^/]+)/metrics$", r"\1", target.url) for target in targets}
    assert checked == {target for target in scraped if not target.startswith("console:")}, "all but itself"
    assert all(target.name == target.url.split("//")[1].split(":")[0] for target in targets)

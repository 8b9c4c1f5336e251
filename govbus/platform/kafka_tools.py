"""Kafka's own Java command-line tools (from the kafka-tools jar fetched with the broker's), run as a client of the
platform: their client configuration, one run, and the whitespace tables they print."""

from __future__ import annotations

import subprocess
from pathlib import Path

from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.platform.jars import kafka_libs, require_java
from govbus.settings import PlatformSettings

TIMEOUT_S = 120.0


def tool_properties(connection: KafkaConnection, directory: Path) -> Path:
    """The client configuration of Kafka's Java tools for ``connection`` (0600: it holds the password)."""
    lines = []
    if connection.username:
        protocol = "SASL_SSL" if connection.tls_ca else "SASL_PLAINTEXT"
        password = connection.password.get_secret_value() if connection.password else ""
        lines += [f"security.protocol={protocol}", "sasl.mechanism=SCRAM-SHA-512",
                  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                  f'username="{connection.username}" password="{password}";']
    elif connection.tls_ca:
        lines.append("security.protocol=SSL")
    if connection.tls_ca:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={connection.tls_ca}"]
    path = directory / "transactions-tool.properties"
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def run_tool(settings: PlatformSettings, main_class: str, bootstrap: str, client_config: Path, *args: str,
             what: str) -> str:
    """Run ``main_class`` against ``bootstrap`` with ``client_config``; its standard output. A
    :class:`PlatformError` naming ``what`` when it exits non-zero."""
    argv = [require_java(), "-Xmx256m", "-cp", f"{kafka_libs(settings.cache_dir, settings.kafka_version)}/*",
            main_class, "--bootstrap-server", bootstrap, "--command-config", str(client_config), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)  # noqa: S603
    if done.returncode != 0:
        raise PlatformError(f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
    return done.stdout


def parse_table(output: str, *header_columns: str) -> list[dict[str, str]]:
    """The rows of a table a tool printed: the first line naming every one of ``header_columns`` is its header,
    each later line with as many words is a row (column name to word)."""
    lines = [line.split() for line in output.splitlines() if line.strip()]
    header = next((i for i, words in enumerate(lines) if all(column in words for column in header_columns)), None)
    if header is None:
        return []
    columns = lines[header]
    return [dict(zip(columns, words, strict=True)) for words in lines[header + 1:] if len(words) == len(columns)]

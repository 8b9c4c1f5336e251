"""Free ports for the platforms tests start on 127.0.0.1."""

from __future__ import annotations

from govbus.platform.processes import free_port, port_is_free
from govbus.settings import CLUSTER_PORT_STEP


def cluster_port() -> int:
    """A free port whose two successors :data:`CLUSTER_PORT_STEP` apart (nodes 2 and 3 of a three-node
    cluster) are free too."""
    while True:
        port = free_port()
        if port + 2 * CLUSTER_PORT_STEP <= 65535 and all(
                port_is_free(port + n * CLUSTER_PORT_STEP) for n in (1, 2)):
            return port

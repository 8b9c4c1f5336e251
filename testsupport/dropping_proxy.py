"""A TCP proxy in front of a plaintext Kafka listener that swallows one Produce request, for the test of a lost
first batch (tests/integration/publishing/test_first_batch_loss.py).

Every byte passes through unchanged except the first Produce request (API key 0) sent after :meth:`arm`: the
proxy neither forwards it nor answers it, as if the broker had gone away before reading it. The client sees that
request time out while the requests behind it, on the same connection, are answered. The broker must advertise
the proxy's port (its ``advertised.listeners``), so that clients reach it only through the proxy.
"""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType

PRODUCE_API_KEY = 0
_SIZE = struct.Struct(">i")
_API_KEY = struct.Struct(">h")


class DroppingProxy:
    """Listens on 127.0.0.1:``port`` (a free one when 0) and forwards to 127.0.0.1:``upstream_port``."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self._lock = threading.Lock()
        self.dropped = 0
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def arm(self) -> None:
        """Swallow the next Produce request (one only)."""
        self._armed.set()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:  # the broker not listening yet: the client sees a refused connection
                _close(client)
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client to broker, a whole request at a time (size-prefixed frames), the armed Produce left out."""
        try:
            while True:
                head = _read_exactly(client, _SIZE.size)
                frame = _read_exactly(client, _SIZE.unpack(head)[0])
                if _API_KEY.unpack_from(frame)[0] == PRODUCE_API_KEY and self._take_armed():
                    continue
                upstream.sendall(head + frame)
        except OSError:
            _close(client, upstream)

    def _take_armed(self) -> bool:
        with self._lock:
            if not self._armed.is_set():
                return False
            self._armed.clear()
            self.dropped += 1
            return True

    @staticmethod
    def _responses(upstream: socket.socket, client: socket.socket) -> None:
        try:
            while chunk := upstream.recv(65536):
                client.sendall(chunk)
        except OSError:
            pass
        _close(client, upstream)

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            _close(*self._sockets)

    def __enter__(self) -> DroppingProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the peer closed the connection")
        data += chunk
    return bytes(data)


def _close(*connections: socket.socket) -> None:
    for connection in connections:
        try:
            connection.close()
        except OSError:
            pass

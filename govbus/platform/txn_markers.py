"""Write a transaction's missing COMMIT markers: Kafka's WriteTxnMarkers request (API key 27, version 1), sent
to a partition's leader as the platform's administrator (SASL/SCRAM-SHA-512; TLS when the platform has it).

Kafka's own tools only abort a hanging transaction (``kafka-transactions abort``). When the coordinator had
decided to commit and some partitions already carry the commit marker, aborting the rest loses records
(:mod:`govbus.platform.hanging`); the marker the coordinator skipped is what completes the transaction. The
request is the one a coordinator sends to a partition leader; a broker accepts it from a principal allowed
CLUSTER_ACTION (the administrator is the super user). No client library here speaks it, so this module encodes
the few requests it needs: SaslHandshake v1, SaslAuthenticate v1 and WriteTxnMarkers v1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path

from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError

SASL_HANDSHAKE, SASL_AUTHENTICATE, WRITE_TXN_MARKERS = 17, 36, 27
CLIENT_ID = b"govbus-txn-markers"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Marker:
    producer_id: int
    producer_epoch: int
    coordinator_epoch: int
    topic: str
    partition: int


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_uvarint(data: bytes, offset: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


def _compact_string(text: str) -> bytes:
    raw = text.encode()
    return _uvarint(len(raw) + 1) + raw


def write_txn_markers_body(marker: Marker, commit: bool = True) -> bytes:
    """The request body (version 1, flexible): one marker for one partition."""
    topics = _uvarint(2) + _compact_string(marker.topic) + _uvarint(2) + struct.pack(">i", marker.partition) + b"\0"
    return (_uvarint(2) + struct.pack(">qh?", marker.producer_id, marker.producer_epoch, commit) + topics
            + struct.pack(">i", marker.coordinator_epoch) + b"\0" + b"\0")


def parse_write_txn_markers_errors(body: bytes) -> list[tuple[str, int, int]]:
    """(topic, partition, error code) of every partition in a version-1 response body."""
    errors = []
    count, offset = _read_uvarint(body, 0)
    for _ in range(count - 1):
        offset += 8  # producer id
        topics, offset = _read_uvarint(body, offset)
        for _ in range(topics - 1):
            length, offset = _read_uvarint(body, offset)
            topic = body[offset:offset + length - 1].decode()
            offset += length - 1
            partitions, offset = _read_uvarint(body, offset)
            for _ in range(partitions - 1):
                partition, error = struct.unpack_from(">ih", body, offset)
                offset += 6
                _tags, offset = _read_uvarint(body, offset)
                errors.append((topic, partition, error))
            _tags, offset = _read_uvarint(body, offset)
        _tags, offset = _read_uvarint(body, offset)
    return errors


class _Channel:
    """One connection to a broker: size-prefixed requests and responses, one at a time."""

    def __init__(self, host: str, port: int, tls: bool, tls_ca: Path | None) -> None:
        raw = socket.create_connection((host, port), timeout=TIMEOUT_S)
        if tls:
            context = ssl.create_default_context(cafile=str(tls_ca) if tls_ca is not None else None)
            raw = context.wrap_socket(raw, server_hostname=host)
        self._socket = raw
        self._correlation = 0

    def request(self, api_key: int, version: int, body: bytes, flexible: bool) -> bytes:
        self._correlation += 1
        header = struct.pack(">hhih", api_key, version, self._correlation, len(CLIENT_ID)) + CLIENT_ID
        if flexible:
            header += b"\0"
        message = header + body
        self._socket.sendall(struct.pack(">i", len(message)) + message)
        size = struct.unpack(">i", self._read(4))[0]
        response = self._read(size)
        if struct.unpack_from(">i", response)[0] != self._correlation:
            raise PlatformError("the broker answered another request than the one sent")
        return response[5:] if flexible else response[4:]  # past the correlation id (and the header's tags)

    def _read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self._socket.recv(size - len(data))
            if not chunk:
                raise PlatformError("the broker closed the connection")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self._socket.close()


def _bytes(value: bytes) -> bytes:
    return struct.pack(">i", len(value)) + value


def _authenticate(channel: _Channel, username: str, password: str) -> None:
    """SASL/SCRAM-SHA-512 (RFC 5802) over SaslHandshake v1 and SaslAuthenticate v1."""
    mechanism = b"SCRAM-SHA-512"
    handshake = channel.request(SASL_HANDSHAKE, 1, struct.pack(">h", len(mechanism)) + mechanism, flexible=False)
    if struct.unpack_from(">h", handshake)[0] != 0:
        raise PlatformError("the broker refused SCRAM-SHA-512")
    nonce = base64.b64encode(secrets.token_bytes(24)).decode()
    first_bare = f"n={username.replace('=', '=3D').replace(',', '=2C')},r={nonce}"
    server_first = _sasl_round(channel, ("n,," + first_bare).encode()).decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    if not fields["r"].startswith(nonce) or len(fields["r"]) <= len(nonce):
        raise PlatformError("the broker's SCRAM nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
    final_bare = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(hashlib.sha512(client_key).digest(), auth_message, hashlib.sha512).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    server_final = _sasl_round(channel, f"{final_bare},p={proof}".encode()).decode()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha512).digest()).decode()
    if server_final != f"v={expected}":
        raise PlatformError("the broker's SCRAM signature does not verify")


def _sasl_round(channel: _Channel, message: bytes) -> bytes:
    response = channel.request(SASL_AUTHENTICATE, 1, _bytes(message), flexible=False)
    error = struct.unpack_from(">h", response)[0]
    text_length = struct.unpack_from(">h", response, 2)[0]
    offset = 4 + max(text_length, 0)
    if error != 0:
        detail = response[4:offset].decode(errors="replace") if text_length > 0 else ""
        raise PlatformError(f"SASL authentication as the administrator failed (error {error}) {detail}".strip())
    length = struct.unpack_from(">i", response, offset)[0]
    return response[offset + 4:offset + 4 + length]


def write_commit_marker(connection: KafkaConnection, leader: str, marker: Marker) -> None:
    """Write the COMMIT marker of ``marker``'s transaction to its partition on ``leader`` (host:port); a
    :class:`PlatformError` when the broker refuses it."""
    host, _, port = leader.rpartition(":")
    channel = _Channel(host, int(port), connection.uses_tls, connection.tls_ca)
    try:
        if connection.uses_sasl:
            password = connection.password.get_secret_value() if connection.password else ""
            _authenticate(channel, connection.username or "", password)
        response = channel.request(WRITE_TXN_MARKERS, 1, write_txn_markers_body(marker), flexible=True)
    finally:
        channel.close()
    failed = [(topic, partition, error) for topic, partition, error in parse_write_txn_markers_errors(response)
              if error != 0]
    if failed:
        raise PlatformError(f"the broker refused the commit marker: {failed} (Kafka error codes)")

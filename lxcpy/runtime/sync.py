"""The supervisor <-> container-init channel: JSON messages on a SOCK_SEQPACKET pair."""

from __future__ import annotations

import json
import socket
from typing import Any


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, **message: Any) -> None:
        self.sock.send(json.dumps(message).encode())

    def recv(self) -> dict[str, Any] | None:
        """The next message, or None on EOF (the peer exec'd or died)."""
        data = self.sock.recv(1 << 20)
        if not data:
            return None
        return json.loads(data)

    def close(self) -> None:
        self.sock.close()

"""The supervisor <-> container-init channel: named messages on a SOCK_SEQPACKET pair.

One datagram per message: JSON ``{"msg": NAME, ...payload}``. The whole conversation of a
start, in order (as runc's ``libcontainer/sync.go`` writes its own down)::

    supervisor (supervisor.py)             container's first process (child.py, init.py)
    ---------------------------            -----------------------------------------------
    fork ------------------------------->  PID 1 of the new PID namespace; closes fds
    writes it into the cgroups
    GO --------------------------------->  unshare(the other namespaces)
                          <--------------  NAMESPACES
    host side of the network (veth ends
    moved into /proc/PID/ns/net)
    NETWORK {records} ------------------>  inside side of the network, hostname, rootfs,
                                           mounts, /dev, console, pivot_root
                          <--------------  MOUNTED
                                           start hooks, capabilities, uid/gid, cwd
    lxc-execute:          <--------------  RUNNING {command_pid}   (init.py, then closes)
    lxc-start:            <--------------  EXEC; then EOF: the exec succeeded (the
                                           channel is close-on-exec)

    at any step:          <--------------  ERROR {message}: setup failed, the child exits
    at any step:  EOF (the supervisor died or gave up): the child exits
"""

from __future__ import annotations

import json
import socket
from typing import Any

# supervisor -> child
GO = "go"
NETWORK = "network"
# child -> supervisor
NAMESPACES = "namespaces"
MOUNTED = "mounted"
RUNNING = "running"
EXEC = "exec"
ERROR = "error"

EOF = "eof"  # not a message: what recv() says when the peer exec'd, exited or closed


class Message(dict):  # type: ignore[type-arg]
    """A received message: its payload, with the message's name in ``name``."""

    name: str = EOF


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, name: str, **payload: Any) -> None:
        self.sock.send(json.dumps({"msg": name, **payload}).encode())

    def recv(self) -> Message:
        """The next message; its name is EOF when the peer exec'd, died or closed."""
        data = self.sock.recv(1 << 20)
        message = Message()
        if data:
            payload = json.loads(data)
            message.name = str(payload.pop("msg", ""))
            message.update(payload)
        return message

    def close(self) -> None:
        self.sock.close()

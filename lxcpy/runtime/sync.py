"""The supervisor <-> container-init channel: named messages on a SOCK_SEQPACKET pair.

One datagram per message: JSON ``{"msg": NAME, ...payload}``. The whole conversation of a
start, in order (as runc's ``libcontainer/sync.go`` writes its own down)::

    supervisor (supervisor.py)             container's first process (child.py, init.py)
    ---------------------------            -----------------------------------------------
    fork ------------------------------->  PID 1 of the new PID namespace; closes fds
    (lxc.idmap: the fork makes a user namespace too, owning the PID namespace)
    lxc.idmap: writes uid_map/gid_map,
    chowns cgroup and ptys to the mapped
    root, makes the idmapped rootfs tree
    MAPPED [fd: rootfs tree] ----------->  setresgid/setresuid 0 in its user namespace
    writes it into the cgroups
    GO --------------------------------->  setns(lxc.namespace.share.*, OCI paths)
    OCI user namespace joined by path:  <--  INIT {pid}: the init, forked into a PID
                                           namespace owned by it; the first process exits
                                           unshare(the other namespaces)
                          <--------------  NAMESPACES
    host side of the network (veth ends
    moved into /proc/PID/ns/net)
    NETWORK {records} ------------------>  inside side of the network, hostname, rootfs,
                                           mounts, /dev, console
    OCI createRuntime hooks:  <----------  HOOKS (only with createRuntime hooks)
    HOOKS ------------------------------>  createContainer hooks, then pivot_root
                          <--------------  MOUNTED
                                           start hooks, capabilities, uid/gid, cwd
    lxc-execute:          <--------------  RUNNING {command_pid}   (init.py, then closes)
    lxc-start:            <--------------  EXEC; then EOF: the exec succeeded (the
                                           channel is close-on-exec)
    lxcpy-oci create:     <--------------  CREATED; the init then waits at the start
                                           gate (a FIFO) until `lxcpy-oci start` reads it

    at any step:          <--------------  ERROR {message}: setup failed, the child exits
    at any step:  EOF (the supervisor died or gave up): the child exits
"""

from __future__ import annotations

import _socket  # not socket: its IntEnums (enum's _convert_) cost every start ~2-4 ms
import struct

from lxcpy import jsonlite as json  # json.dumps/loads without importing json (re)

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Any

MAX_FDS = 4  # file descriptors one message may carry

# supervisor -> child
GO = "go"
MAPPED = "mapped"  # lxc.idmap: maps written; carries the idmapped rootfs tree's fd, if any
NETWORK = "network"
# child -> supervisor
NAMESPACES = "namespaces"
MOUNTED = "mounted"
RUNNING = "running"
EXEC = "exec"
CREATED = "created"  # OCI create: set up, waiting at cfg.start_gate for `start`
HOOKS = "hooks"  # OCI: run createRuntime now (child -> supervisor), done (-> child)
INIT = "init"  # OCI, user namespace joined by path: {pid} of the init, forked inside it
ERROR = "error"

EOF = "eof"  # not a message: what recv() says when the peer exec'd, exited or closed


class Message(dict):  # type: ignore[type-arg,unused-ignore]
    """A received message: its payload, with the message's name in ``name``."""

    name: str = EOF
    fds: list[int] = []  # received with it (SCM_RIGHTS): the receiver owns and closes them


class Channel:
    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        a, b = _socket.socketpair(_socket.AF_UNIX,
                                  _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, name: str, fds: list[int] | None = None, **payload: Any) -> None:
        data = json.dumps({"msg": name, **payload}).encode()
        if fds:  # socket.send_fds
            self.sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                        struct.pack(f"{len(fds)}i", *fds))])
        else:
            self.sock.send(data)

    def recv(self) -> Message:
        """The next message; its name is EOF when the peer exec'd, died or closed."""
        message = self._receive(_socket.MSG_CMSG_CLOEXEC)
        assert message is not None
        return message

    def poll(self) -> Message | None:
        """The next message if one is queued (or EOF); None while the peer is there and has
        sent nothing more. Never blocks."""
        return self._receive(_socket.MSG_CMSG_CLOEXEC | _socket.MSG_DONTWAIT)

    def _receive(self, flags: int) -> Message | None:
        for attempt in (1, 2):
            try:
                # socket.recv_fds
                data, ancdata, _flags, _addr = self.sock.recvmsg(
                    1 << 20, _socket.CMSG_LEN(MAX_FDS * 4), flags)
                break
            except ConnectionResetError:
                # the peer closed with a message of ours unread (it died right after its
                # last words): the kernel says so once; what it sent is queued behind that
                if attempt == 2:
                    raise
            except BlockingIOError:
                return None
        message = Message()
        message.fds = [fd for level, kind, cdata in ancdata
                       if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
                       for (fd,) in struct.iter_unpack("i", cdata[:len(cdata) - len(cdata) % 4])]
        if data:
            payload = json.loads(data)
            message.name = str(payload.pop("msg", ""))
            message.update(payload)
        return message

    def close(self) -> None:
        self.sock.close()


def fault_point(phase: str, ready_fd: int = -1) -> None:
    """Fault injection for the tests: LXCPY_TEST_FAIL_AT=<phase>[:exit|:orphan] makes the
    set-up fail there as a broken module would (an exception); ``:exit`` ends the process
    without a word, ``:orphan`` too, leaving a fork that holds the channel open. With
    ``ready_fd`` (the channel) it fails only once the supervisor's next message is
    queued, unread. Phases: early (before GO), go (GO queued), namespaces, network,
    mounted; running: the command has started, RUNNING is not sent yet."""
    import os

    fault = os.environ.get("LXCPY_TEST_FAIL_AT", "")
    at, _, how = fault.partition(":")
    if at != phase:
        return
    if ready_fd >= 0:
        import select

        select.select([ready_fd], [], [], 10)
    if how == "orphan" and os.fork() == 0:
        os.closerange(0, 3)  # not the caller's stdio: only the channel stays open
        import time

        time.sleep(3600)  # until the container's cgroup is killed
        os._exit(0)
    if how in ("exit", "orphan"):
        os._exit(3)
    raise SyntaxError(f"fault injected at {phase}")

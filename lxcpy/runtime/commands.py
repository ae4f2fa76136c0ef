"""The per-container command socket: how commands talk to a running supervisor.

A unix stream socket file in the run directory (not an abstract socket, so the state is
visible from any network namespace). One JSON request line, one JSON reply line. No socket
file, or one nobody listens on, means the container is STOPPED: no state is ever read
from a file. A supervisor that accepts but does not answer in time is alive: that is an
error, never STOPPED. The server side is ``lxcpy.runtime.loop``.
"""

from __future__ import annotations

import os

from lxcpy import jsonlite
from lxcpy.errors import LxcError, NotRunning
from lxcpy.paths import ContainerPaths

# not typing's: a running lxc-state would import typing (~3-4 ms) for annotations alone
TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    import socket
    from typing import Any

# socket is imported where it is used: a STOPPED container (no socket file) is answered
# without paying for its import; the lines are JSON, written and read by lxcpy.jsonlite
# (json's own C encoder and scanner without json's import of re: ~3-5 ms of a running
# lxc-state / lxc-info -s).


def listen(path: str, backlog: int) -> _socket.socket:
    """A root-only unix stream socket listening at ``path`` (a stale file is replaced):
    the command socket, and the console's. A ``_socket`` socket (the C type: no import of
    socket and its enums, ~2-4 ms of a start); it accepts with ``_accept()``."""
    import _socket

    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    old = os.umask(0o077)
    try:
        sock.bind(path)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
    sock.listen(backlog)
    return sock


def connect(paths: ContainerPaths, timeout: float | None = 5.0) -> socket.socket:
    """Connect to the supervisor of ``paths``; NotRunning when none answers."""
    sock: socket.socket = _connect(paths, timeout, "socket")
    return sock


def connect_light(paths: ContainerPaths, timeout: float | None = 5.0) -> _socket.socket:
    """connect() with a ``_socket`` socket: send/recv/settimeout/close, no ``with``."""
    sock: _socket.socket = _connect(paths, timeout, "_socket")
    return sock


def _connect(paths: ContainerPaths, timeout: float | None, module_name: str) -> Any:
    """connect() with the socket type of ``socket``, or of ``_socket`` (the C type without
    the enums and wrappers that ``import socket`` builds: ~2 ms of lxc-state); the module
    is imported only once the socket file exists."""
    try:
        os.stat(paths.socket)
    except (FileNotFoundError, NotADirectoryError):
        raise NotRunning(f"{paths.name} is not running") from None
    except OSError:
        pass  # connect() below reports it as before
    module = __import__(module_name)
    sock = module.socket(module.AF_UNIX, module.SOCK_STREAM | module.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    try:
        sock.connect(paths.socket)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        sock.close()
        raise NotRunning(f"{paths.name} is not running") from None
    except TimeoutError:
        sock.close()
        raise _busy(paths, timeout) from None
    except OSError:
        sock.close()
        raise
    return sock


def _busy(paths: ContainerPaths, timeout: float | None) -> LxcError:
    # a supervisor that accepts but does not answer is alive: never report it STOPPED
    return LxcError(f"{paths.name}: its supervisor did not answer within {timeout:g} "
                    "seconds (it is alive but busy)")


def send(sock: socket.socket | _socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(jsonlite.dumps(message).encode() + b"\n")


def receive(sock: socket.socket | _socket.socket) -> dict[str, Any] | None:
    """Read one reply line; None on EOF (the supervisor went away)."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return jsonlite.loads(buf)


# (socket path, op) -> the answer lxcpy._quick already got to a request it sent: the
# reply (a dict, or None for EOF) or the exception receiving it raised
_REPLAYS: dict[tuple[str, str], object] = {}


def replay(socket_path: str, op: str, answer: object) -> None:
    """The next call() of ``op`` on ``socket_path`` takes ``answer`` as its own instead of
    sending the request again (lxcpy._quick sent it, and hands over what came back)."""
    _REPLAYS[(socket_path, op)] = answer


def call(paths: ContainerPaths, op: str, timeout: float | None = 5.0,
         **args: Any) -> dict[str, Any]:
    """One request/reply. Raises NotRunning if no supervisor, LxcError if it refused or
    did not answer within ``timeout`` (alive but busy: not STOPPED)."""
    if _REPLAYS:
        answer = _REPLAYS.pop((paths.socket, op), _REPLAYS)
        if answer is not _REPLAYS:
            if isinstance(answer, TimeoutError):
                raise _busy(paths, timeout)
            if isinstance(answer, BaseException):
                raise answer
            return _checked(paths, answer)  # type: ignore[arg-type]
    sock = _connect(paths, timeout, "_socket")
    try:
        try:
            send(sock, {"op": op, **args})
        except (ConnectionResetError, BrokenPipeError):
            pass  # it closed at once: it may have said why (a refusal) before
        try:
            reply = receive(sock)
        except TimeoutError:
            raise _busy(paths, timeout) from None
        except ConnectionResetError:
            reply = None  # it went away under us: it is stopping
    finally:
        sock.close()
    return _checked(paths, reply)


def _checked(paths: ContainerPaths, reply: dict[str, Any] | None) -> dict[str, Any]:
    if reply is None:
        raise NotRunning(f"{paths.name} is not running")
    if "error" in reply:
        raise LxcError(reply["error"], reply.get("code", 1))
    return reply


def open_session(paths: ContainerPaths, op: str, timeout: float = 5.0,
                 **args: Any) -> tuple[socket.socket, dict[str, Any], list[int]]:
    """A request whose reply carries file descriptors (SCM_RIGHTS) and whose connection
    stays open (what it gave is the caller's while the connection lives): (the
    connection, the reply, the fds, which are the caller's to close)."""
    import socket

    sock = connect(paths, timeout)
    fds: list[int] = []
    buf = b""
    try:
        send(sock, {"op": op, **args})
        while not buf.endswith(b"\n"):
            chunk, more, _flags, _addr = socket.recv_fds(sock, 65536, 4)
            fds += more
            if not chunk:
                break
            buf += chunk
        reply = _checked(paths, jsonlite.loads(buf) if buf.endswith(b"\n") else None)
    except BaseException as exc:
        sock.close()
        for fd in fds:
            os.close(fd)
        if isinstance(exc, TimeoutError):
            raise _busy(paths, timeout) from None
        if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            raise NotRunning(f"{paths.name} is not running") from None
        raise
    sock.settimeout(None)
    for fd in fds:
        os.set_inheritable(fd, False)
    return sock, reply, fds


def running_config_item(paths: ContainerPaths, key: str) -> str:
    """LXC's lxc_cmd_get_config_item: ``key``'s value in the config the running container
    was started with ("" when unset or unknown). NotRunning when none answers."""
    return str(call(paths, "get_config_item", key=key).get("value", ""))


def query_state(paths: ContainerPaths) -> tuple[str, int]:
    """(state, init pid) from the supervisor; (STOPPED, -1) when none answers. A
    supervisor that is there but does not answer raises LxcError: it is not STOPPED."""
    try:
        reply = call(paths, "state", timeout=2.0)
    except NotRunning:
        return "STOPPED", -1
    return reply["state"], int(reply.get("pid", -1))

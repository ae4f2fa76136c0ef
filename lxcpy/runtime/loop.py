"""The supervisor's one event loop and its command server (LXC's mainloop.c, commands.c).

Everything a supervisor waits for is a file descriptor in one selector: the wake-up fd of
its signal handlers, the init's pidfd, the sync channel while starting, the command
socket and its clients, the console's ptys. No threads: nothing can close a descriptor
under anyone.

The command server reads one JSON request line at a time from each client and answers
with one JSON line, from a per-client output buffer written without blocking, so a client
that does not read stalls nobody: it is dropped after ``SEND_TIMEOUT`` seconds, as is one
that does not finish its request line within ``REQUEST_TIMEOUT``. A reply may carry file
descriptors (SCM_RIGHTS): the console's pty for lxc-console.

Who may talk to it: root (SO_PEERCRED), from the supervisor's own PID namespace or an
ancestor's. Any other client is inside a container (a container without a rootfs sees
/run/lxcpy, and uid 0 there is the host's uid 0): it gets one error line and is dropped.
"""

from __future__ import annotations

# _socket and select.epoll, not socket and selectors: their IntEnums (enum's _convert_),
# selectors' collections.abc and math cost every start ~4-6 ms
import _socket
import os
import select
import struct
import time

from lxcpy import jsonlite as json  # json.dumps/loads without importing json (re)
from lxcpy._record import dataclass, field
from lxcpy.log import log

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Callback = Callable[[], None]

SEND_TIMEOUT = 5.0  # a reply not taken within this is a stuck client: dropped
REQUEST_TIMEOUT = 10.0  # a request line not finished within this: dropped
MAX_REQUEST = 64 * 1024
MAX_CLIENTS = 256
SO_PEERPIDFD = getattr(_socket, "SO_PEERPIDFD", 77)  # Linux 6.5; Python 3.11 lacks the name

# what selectors' EpollSelector reports: an error or a hang-up wakes both callbacks
_READ_EVENTS = ~select.EPOLLOUT
_WRITE_EVENTS = ~select.EPOLLIN


class Loop:
    """An epoll set whose entries are an fd and a read and/or a write callback."""

    def __init__(self) -> None:
        self.epoll = select.epoll()  # close-on-exec
        self.callbacks: dict[int, tuple[Callback | None, Callback | None]] = {}

    def watch(self, fd: int, read: Callback | None = None,
              write: Callback | None = None) -> None:
        """Set what to call when ``fd`` is readable / writable; neither: forget it."""
        events = (select.EPOLLIN if read else 0) | (select.EPOLLOUT if write else 0)
        known = fd in self.callbacks
        if known and self.callbacks[fd] == (read, write):
            return  # unchanged: no system call
        if not events:
            if known:
                del self.callbacks[fd]
                try:
                    self.epoll.unregister(fd)
                except OSError:
                    pass  # closed already: the kernel dropped it (selectors ignores it too)
            return
        self.callbacks[fd] = (read, write)
        if known:
            self.epoll.modify(fd, events)
        else:
            self.epoll.register(fd, events)

    def forget(self, fd: int) -> None:
        self.watch(fd)

    def run_once(self, timeout: float | None) -> None:
        # selectors' rounding: up to the next millisecond, so a deadline is not missed
        wait = -1.0 if timeout is None else max(-(-timeout * 1e3 // 1) * 1e-3, 0.0)
        for fd, events in self.epoll.poll(wait, max(len(self.callbacks), 1)):
            # a callback may have forgotten (and closed) an fd this round reported
            for mask, which in ((_READ_EVENTS, 0), (_WRITE_EVENTS, 1)):
                callback = self.callbacks.get(fd, (None, None))[which]
                if not events & mask or callback is None:
                    continue
                try:
                    callback()
                except Exception as exc:  # noqa: BLE001 - a bug on one fd must not end it all
                    log.error("event loop: fd %d: %s: %s; no longer watched", fd,
                              exc.__class__.__name__, exc)
                    log.debug("event loop: traceback", exc_info=True)
                    self.forget(fd)

    def close(self) -> None:
        self.epoll.close()
        self.callbacks.clear()


@dataclass
class Reply:
    """A handler's answer when it carries file descriptors (owned: closed once sent)."""

    body: dict[str, Any]
    fds: list[int] = field(default_factory=list)


@dataclass
class Client:
    sock: _socket.socket
    fd: int
    inbox: bytearray = field(default_factory=bytearray)
    outbox: list[tuple[bytearray, list[int]]] = field(default_factory=list)
    deadline: float | None = None  # when it is dropped unless it makes progress
    held: bool = False  # a stop waiter or a console holder: stays connected, idle
    closing: bool = False  # once the outbox is sent: EOF to it, its input ignored
    shut: bool = False  # our side is shut down: we wait for its EOF (or its deadline)
    on_close: list[Callback] = field(default_factory=list)
    on_read: Callback | None = None  # the loop's callbacks for it, made once
    on_write: Callback | None = None


class CommandServer:
    def __init__(self, loop: Loop, listener: _socket.socket,
                 dispatch: Callable[[dict[str, Any], Client], dict[str, Any] | Reply]) -> None:
        self.loop = loop
        self.listener = listener
        self.dispatch = dispatch
        self.clients: dict[int, Client] = {}
        self.own_depth = _own_pidns_depth()
        listener.setblocking(False)
        loop.watch(listener.fileno(), read=self._accept)

    # ---- connections -----------------------------------------------------------------
    def _accept(self) -> None:
        try:
            fd, _ = self.listener._accept()  # type: ignore[attr-defined]  # socket.accept() without the socket module
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        # (the listener's family and type given: no getsockname/getsockopt to find them)
        conn = _socket.socket(self.listener.family, _socket.SOCK_STREAM, 0, fd)
        conn.setblocking(False)
        client = Client(conn, conn.fileno(), deadline=time.monotonic() + REQUEST_TIMEOUT)
        client.on_read = lambda: self._readable(client)
        client.on_write = lambda: self._writable(client)
        self.clients[client.fd] = client
        refusal = peer_refusal(conn, self.own_depth)
        if refusal is None and len(self.clients) > MAX_CLIENTS:
            refusal = "too many clients"
        if refusal is not None:
            log.warning("command socket: refused a client: %s", refusal)
            self.send(client, {"error": refusal, "code": 1})
            client.closing = True
        self._update(client)

    def close_client(self, client: Client) -> None:
        if self.clients.pop(client.fd, None) is None:
            return
        self.loop.forget(client.fd)
        for _data, fds in client.outbox:
            _close_fds(fds)
        client.outbox.clear()
        callbacks, client.on_close = client.on_close, []
        for callback in callbacks:
            callback()
        client.sock.close()

    def close(self) -> None:
        """Last words to everyone (a lxc-stop waiter sees its EOF), then close it all."""
        for client in list(self.clients.values()):
            self._flush(client)
            self.close_client(client)
        self.loop.forget(self.listener.fileno())
        self.listener.close()

    def expire(self, now: float) -> float | None:
        """Drop the clients past their deadline; the next deadline, if any."""
        soonest = None
        for client in list(self.clients.values()):
            if client.deadline is None:
                continue
            if client.deadline <= now:
                log.info("command socket: dropped a client that %s", "did not read its reply"
                         if client.outbox else "did not finish its request")
                self.close_client(client)
            elif soonest is None or client.deadline < soonest:
                soonest = client.deadline
        return soonest

    # ---- reading ---------------------------------------------------------------------
    def _readable(self, client: Client) -> None:
        try:
            chunk = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close_client(client)
            return
        if client.closing:
            return  # it was told why it is done; what it still sends is not read
        client.inbox += chunk
        self._handle_lines(client)

    def _handle_lines(self, client: Client) -> None:
        # one request at a time: the next is read only once this reply is taken
        while not client.outbox and not client.closing:
            end = client.inbox.find(b"\n")
            if end < 0:
                if len(client.inbox) > MAX_REQUEST:
                    self.send(client, {"error": "request too long", "code": 1})
                    client.closing = True
                    client.inbox.clear()
                break
            line = bytes(client.inbox[:end])
            del client.inbox[:end + 1]
            self._answer(client, line)
            if client.fd not in self.clients:
                return
        self._update(client)

    def _answer(self, client: Client, line: bytes) -> None:
        from lxcpy.errors import LxcError

        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
            reply = self.dispatch(request, client)
        except LxcError as exc:
            reply = {"error": exc.message, "code": exc.exit_code}
        except ValueError as exc:
            reply = {"error": f"bad request: {exc}", "code": 1}
        except Exception as exc:  # noqa: BLE001 - one bad request must not kill the container
            log.debug("command socket: request failed", exc_info=True)  # -l DEBUG: where
            reply = {"error": f"{exc.__class__.__name__}: {exc}", "code": 1}
        if isinstance(reply, Reply):
            self.send(client, reply.body, reply.fds)
        else:
            self.send(client, reply)

    # ---- writing ---------------------------------------------------------------------
    def send(self, client: Client, body: dict[str, Any], fds: list[int] | None = None) -> None:
        """Queue one reply line (with ``fds``, which are ours to close) and write what the
        socket takes now; the loop writes the rest. The caller updates the client."""
        if client.fd not in self.clients:
            _close_fds(fds or [])
            return
        if not client.outbox:
            client.deadline = time.monotonic() + SEND_TIMEOUT
        client.outbox.append((bytearray(json.dumps(body).encode() + b"\n"), list(fds or [])))
        self._flush(client)

    def _flush(self, client: Client) -> None:
        while client.outbox:
            data, fds = client.outbox[0]
            try:
                if fds:
                    sent = client.sock.sendmsg(
                        [data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                  struct.pack(f"{len(fds)}i", *fds))])
                    _close_fds(fds)  # ours were copies: the client has its own now
                    fds.clear()
                else:
                    sent = client.sock.send(data)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # it went away: nothing more to say to it
                self.close_client(client)
                return
            client.deadline = time.monotonic() + SEND_TIMEOUT  # it reads: it is not stuck
            del data[:sent]
            if not data:
                client.outbox.pop(0)
        if not client.closing:
            client.deadline = time.monotonic() + REQUEST_TIMEOUT

    def _writable(self, client: Client) -> None:
        self._flush(client)
        if client.fd not in self.clients:
            return
        if not client.outbox:
            self._handle_lines(client)  # requests it sent while we waited for it to read
        else:
            self._update(client)

    def _update(self, client: Client) -> None:
        """Interest and deadline from the client's state: one place for both."""
        if client.fd not in self.clients:
            return
        if client.outbox:
            self.loop.watch(client.fd, write=client.on_write)
            return
        if client.closing and not client.shut:
            # EOF after its last line, but no close yet: a client still writing its
            # request would get EPIPE instead of reading why it was refused
            client.shut = True
            client.deadline = time.monotonic() + SEND_TIMEOUT
            try:
                client.sock.shutdown(_socket.SHUT_WR)
            except OSError:
                self.close_client(client)
                return
        if client.held and not client.closing:
            client.deadline = None  # waits quietly for its EOF (or the container's end)
        self.loop.watch(client.fd, read=client.on_read)


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


# ---- who may talk to us ------------------------------------------------------------------
def peer_refusal(conn: _socket.socket, own_depth: int) -> str | None:
    """None if the peer may send commands, else why not (one line for the client).
    ``own_depth``: :func:`_own_pidns_depth` of the server."""
    creds = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    if uid != 0 and uid != os.geteuid():  # root, or the user who started this container
        return ("permission denied: only root may send commands to a container"
                if os.geteuid() == 0 else "permission denied: not the container's owner")
    depth = _peer_pidns_depth(conn, pid)
    if depth is not None and depth > own_depth:
        return ("permission denied: the client is inside a container (its PID namespace "
                "is not the supervisor's)")
    return None


def _peer_pidns_depth(conn: _socket.socket, pid: int) -> int | None:
    """How many PID namespaces deep the peer is, counted from our /proc's: 1 = the same.

    By a pidfd of the peer when the kernel gives one (SO_PEERPIDFD: no PID reuse race),
    else by its PID. None when the peer is not visible from here at all: a process of an
    ancestor PID namespace (a container is always a descendant, so always visible).
    """
    try:
        pidfd = conn.getsockopt(_socket.SOL_SOCKET, SO_PEERPIDFD)
    except OSError:
        pidfd = -1
    try:
        if pidfd >= 0:
            fields = _fields(f"/proc/self/fdinfo/{pidfd}")
        elif pid > 0:
            fields = _fields(f"/proc/{pid}/status")
        else:
            return None
    finally:
        if pidfd >= 0:
            os.close(pidfd)
    if fields.get("Pid") == ["0"]:
        return None
    nspid = fields.get("NSpid")
    if not nspid or nspid == ["-1"] or fields.get("Pid") == ["-1"]:
        return 1 << 30  # gone already, or unknown: no trust
    return len(nspid)


def _own_pidns_depth() -> int:
    return len(_fields("/proc/self/status").get("NSpid", ["1"]))


def _fields(path: str) -> dict[str, list[str]]:
    """``Key:\tvalue ...`` lines of a /proc file (os.read: this is on every accept)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        text = os.read(fd, 16384).decode(errors="replace")
    except OSError:
        return {}
    finally:
        os.close(fd)
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.split()
    return out

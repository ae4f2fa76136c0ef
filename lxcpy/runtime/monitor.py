"""State broadcast without a daemon.

Each listener (lxc-monitor, lxc-wait) binds its own unix datagram socket in the lxcpath's
monitor directory. A supervisor publishes a state change by sending one datagram to each
socket found there, non-blocking: a slow listener with a full buffer misses nothing up to
its (large) receive buffer, and a dead one (ECONNREFUSED) is removed. Nothing central can
hang: there is no daemon, only files and the kernel's socket buffers.

Datagram format (text): ``lxcpath\\0name\\0kind\\0value\\0monotonic_ns``
with kind ``state`` (value a state name) or ``exit`` (value the raw exit status).
"""

from __future__ import annotations

import _socket as socket  # not socket: its IntEnums (enum, selectors) cost every start
import errno
import os
import time

from lxcpy._record import dataclass
from lxcpy.paths import monitor_dir

TYPE_CHECKING = False  # annotations only: collections (~1 ms of every start)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

RCVBUF = 4 * 1024 * 1024


@dataclass(frozen=True)
class Event:
    """One state change or exit, as a listener receives it."""

    lxcpath: str
    name: str
    kind: str  # "state" or "exit"
    value: str
    sent_ns: int  # CLOCK_MONOTONIC at publish, to measure delivery delay

    def line(self) -> str:
        """LXC 5's lxc-monitor line for this event."""
        if self.kind == "exit":
            return f"'{self.name}' exited with status [{self.value}]"
        return f"'{self.name}' changed state to [{self.value}]"


def publish(lxcpath: str, name: str, kind: str, value: str) -> None:
    """Send one event to every listener of ``lxcpath``; never blocks, never raises."""
    directory = monitor_dir(lxcpath)
    try:
        listeners = os.listdir(directory)
    except OSError:
        return
    if not listeners:
        return
    payload = "\0".join((os.path.realpath(lxcpath), name, kind, value,
                         str(time.monotonic_ns()))).encode("utf-8", "surrogateescape")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        for entry in listeners:
            if not entry.endswith(".sock"):
                continue
            path = os.path.join(directory, entry)
            for _attempt in range(50):
                try:
                    sock.sendto(payload, socket.MSG_DONTWAIT, path)
                    break
                except BlockingIOError:
                    time.sleep(0.001)  # the listener's buffer is full: give it a moment
                except OSError as exc:
                    if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                        _remove_dead(path)
                    break
    finally:
        sock.close()


def _remove_dead(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Listener:
    """A monitor's end: bind before querying the current state, so no change is lost."""

    def __init__(self, lxcpaths: Iterable[str]) -> None:
        from lxcpy.paths import ensure_rundir

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.paths: list[str] = []
        first = True
        for lxcpath in lxcpaths:
            ensure_rundir(lxcpath)
            directory = monitor_dir(lxcpath)
            os.makedirs(directory, mode=0o700, exist_ok=True)
            path = os.path.join(directory, f"{os.getpid()}-{id(self):x}.sock")
            if first:
                self.sock.bind(path)
                first = False
            else:
                # one socket, many lxcpaths: link the same socket into each directory
                os.link(self.paths[0], path)
            self.paths.append(path)

    def fileno(self) -> int:
        return self.sock.fileno()

    def events(self, timeout: float | None = None,
               output_fd: int | None = None) -> Iterator[Event]:
        """Yield events as they come; stop after ``timeout`` seconds of silence (None: never).

        With ``output_fd`` (the monitor's stdout), raise BrokenPipeError as soon as the
        reader of that pipe went away, rather than at the next event, which may never come:
        ``lxc-monitor | while read ...; do ...; exit; done`` must not hang.
        """
        import select

        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if output_fd is not None:
            poller.register(output_fd, 0)  # POLLERR/POLLHUP are always reported
        wait_ms = None if timeout is None else int(timeout * 1000)
        while True:
            ready = poller.poll(wait_ms)
            if not ready:
                return
            if any(fd == output_fd for fd, _ in ready):
                raise BrokenPipeError(f"fd {output_fd}: the reader went away")
            data = self.sock.recv(65536)
            yield _decode(data)
            # drain what is already queued before waiting again
            while True:
                try:
                    data = self.sock.recv(65536, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                yield _decode(data)

    def close(self) -> None:
        for path in self.paths:
            _remove_dead(path)
        self.sock.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decode(data: bytes) -> Event:
    lxcpath, name, kind, value, sent = data.decode("utf-8", "surrogateescape").split("\0")
    return Event(lxcpath, name, kind, value, int(sent))

"""The container's console and ttys: who is /dev/console, and lxc-console's way in.

Modes (chosen before the fork by :func:`prepare_console`):

* ``pty`` — ``lxc-start -d`` (the default), or an explicit ``lxc.console.path``: the
  supervisor allocates a pty; its slave is the init's stdin/stdout/stderr and is bound on
  /dev/console. A relay thread in the supervisor reads the master and copies it to
  ``lxc.console.logfile``, to a small ring buffer, to the ``lxc.console.path`` device if
  one is named, and to an lxc-console client.
* ``terminal`` — ``lxc-start -F`` with a terminal on stdin: the init keeps the caller's
  stdio and /dev/console is a bind of that terminal.
* ``inherit`` — a foreground start without a terminal (scripts, CI): stdio is the
  caller's, there is no /dev/console.
* ``none`` — ``lxc.console.path = none``: no /dev/console; stdio is the caller's in the
  foreground (as in LXC) and /dev/null when daemonised.

``lxc.tty.max = N``: the supervisor allocates N more ptys and the child binds them on
/dev/tty1..N; ``lxc-console -t N`` reaches them. The supervisor keeps every slave open for
the container's life, so a master never reports a hang-up while a tty has no process.

The init gets a session of its own (setsid) but no controlling terminal, as in LXC: busybox
init must leave /dev/console free for the console shell it starts, which takes it.

lxc-console talks to the relay over a unix socket (``ContainerPaths.console``): one JSON
line ``{"tty": N, "replay": bool, "rows": R, "cols": C}``, one JSON reply line, then raw
bytes both ways. One client per terminal. ``tty`` -1 means the first free tty, else the
console (LXC's default); ``replay`` sends the last console output first (what a script
reading the console wants).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import socket
import struct
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxcpy import kernel as k
from lxcpy.errors import LxcError, NotRunning

if TYPE_CHECKING:
    from lxcpy.config.model import ContainerConfig
    from lxcpy.paths import ContainerPaths
    from lxcpy.rootfs.mounts import Root

RING_SIZE = 64 * 1024
DEFAULT_SIZE = (24, 80)
SEND_TIMEOUT = 5.0  # a client that does not read for this long is dropped


@dataclass
class Terminal:
    """One pty the supervisor holds: the console (number 0) or tty N."""

    number: int
    master: int
    slave: int
    client: socket.socket | None = None
    pending: bytearray = field(default_factory=bytearray)  # input not yet taken by the pty


def open_pty(rows: int = DEFAULT_SIZE[0], cols: int = DEFAULT_SIZE[1]) -> tuple[int, int]:
    """A pty pair from the host's devpts: (master, slave), both close-on-exec."""
    master, slave = os.openpty()
    os.set_inheritable(master, False)
    os.set_inheritable(slave, False)
    set_winsize(master, rows, cols)
    return master, slave


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Console:
    """The supervisor's side of the console and ttys; ``child_side`` is the container's."""

    def __init__(self, paths: ContainerPaths, mode: str, new_session: bool) -> None:
        self.paths = paths
        self.mode = mode
        self.new_session = new_session
        self.console: Terminal | None = None
        self.ttys: list[Terminal] = []
        self.peer = -1  # an lxc.console.path device
        self.peer_attrs: list[Any] | None = None
        self.log_fd = -1
        self.listener: socket.socket | None = None
        self.ring = bytearray()
        self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None

    # ---- before the fork (supervisor) -------------------------------------------------
    def _open(self, cfg: ContainerConfig, with_root: bool) -> None:
        try:
            if self.mode == "pty":
                self.console = Terminal(0, *open_pty())
            if with_root:
                self.ttys = [Terminal(n, *open_pty()) for n in range(1, cfg.tty_max + 1)]
            if self.console is not None and cfg.console_logfile:
                self.log_fd = os.open(cfg.console_logfile, os.O_WRONLY | os.O_CREAT
                                      | os.O_APPEND | os.O_CLOEXEC, 0o600)
            if self.console is not None and cfg.console_path:
                self._open_peer(cfg.console_path)
        except OSError as exc:
            self.close()
            what = exc.filename or "a pty"
            raise LxcError(f"console: cannot open {what}: {exc.strerror}") from None
        if self.console is not None or self.ttys:
            self._listen()

    def _open_peer(self, path: str) -> None:
        self.peer = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK)
        if os.isatty(self.peer):
            import tty

            self.peer_attrs = termios.tcgetattr(self.peer)
            tty.setraw(self.peer)  # the container's own terminal does the line editing

    def _listen(self) -> None:
        from lxcpy.runtime.commands import listen

        try:
            self.listener = listen(self.paths.console, 8)
        except OSError:
            self.close()
            raise

    def child_fds(self) -> set[int]:
        """The fds the container's first process must keep across its fd clean-up."""
        fds = {t.slave for t in self.ttys}
        if self.console is not None:
            fds.add(self.console.slave)
        return fds

    # ---- in the container's first process, before pivot_root --------------------------
    def child_side(self, root: Root | None) -> None:
        """Bind the console and ttys into the rootfs, set the init's stdio and session."""
        if root is not None:
            if self.console is not None:
                _bind_onto(root, "/dev/console", self.console.slave)
            elif self.mode == "terminal":
                _bind_onto(root, "/dev/console", 0)
            for term in self.ttys:
                _bind_onto(root, f"/dev/tty{term.number}", term.slave)
        if self.console is not None:
            for target in (0, 1, 2):
                os.dup2(self.console.slave, target)
        for fd in self.child_fds():
            if fd > 2:
                os.close(fd)
        if self.new_session:
            os.setsid()

    # ---- after the fork (supervisor) ---------------------------------------------------
    def start_relay(self) -> None:
        if self.listener is None:
            return
        for term in self._terminals():
            os.set_blocking(term.master, False)
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self._relay, name="console-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the relay (after it drained the console's last output) and free it all."""
        if self._thread is not None:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
            self._thread.join(timeout=2.0)
            self._thread = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        for term in self._terminals():
            if term.client is not None:
                term.client.close()
                term.client = None
            for fd in (term.master, term.slave):
                if fd >= 0:
                    os.close(fd)
            term.master = term.slave = -1
        self.console, self.ttys = None, []
        if self.peer >= 0:
            if self.peer_attrs is not None:
                try:
                    termios.tcsetattr(self.peer, termios.TCSANOW, self.peer_attrs)
                except termios.error:
                    pass
            os.close(self.peer)
            self.peer = -1
        if self.log_fd >= 0:
            os.close(self.log_fd)
            self.log_fd = -1
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            try:
                os.unlink(self.paths.console)
            except FileNotFoundError:
                pass

    def _terminals(self) -> list[Terminal]:
        return ([self.console] if self.console is not None else []) + self.ttys

    # ---- the relay thread --------------------------------------------------------------
    def _relay(self) -> None:
        try:
            self._relay_loop()
        except Exception:  # noqa: BLE001 - a relay bug must not go unseen, nor kill the supervisor
            from lxcpy.log import log

            log.exception("console relay stopped")

    def _relay_loop(self) -> None:
        assert self.listener is not None
        while True:
            poller = select.poll()
            handlers: dict[int, Any] = {self._wake_r: "wake", self.listener.fileno(): "accept"}
            poller.register(self._wake_r, select.POLLIN)
            poller.register(self.listener.fileno(), select.POLLIN)
            for term in self._terminals():
                # a tty is read only while someone looks at it: its output waits in the pty
                watch = select.POLLIN if term.number == 0 or term.client else 0
                if term.pending:
                    watch |= select.POLLOUT
                if watch:
                    poller.register(term.master, watch)
                    handlers[term.master] = term
                if term.client is not None and not term.pending:
                    poller.register(term.client.fileno(), select.POLLIN)
                    handlers[term.client.fileno()] = ("client", term)
            if self.peer >= 0 and self.console is not None and not self.console.pending:
                poller.register(self.peer, select.POLLIN)
                handlers[self.peer] = "peer"
            for fd, events in poller.poll():
                what = handlers.get(fd)
                if what == "wake":
                    self._drain_console()
                    return
                if what == "accept":
                    self._accept()
                elif what == "peer":
                    self._from_peer()
                elif isinstance(what, Terminal):
                    if events & select.POLLOUT:
                        self._flush_input(what)
                    if events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                        self._from_master(what)
                elif isinstance(what, tuple):
                    self._from_client(what[1])

    def _from_master(self, term: Terminal) -> None:
        try:
            data = os.read(term.master, 65536)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            # nothing holds the slave (cannot happen while we keep it open): do not spin
            time.sleep(0.05)
            return
        self._output(term, data)

    def _output(self, term: Terminal, data: bytes) -> None:
        if term.number == 0:
            if self.log_fd >= 0:
                try:
                    os.write(self.log_fd, data)
                except OSError:
                    pass
            self.ring += data
            if len(self.ring) > RING_SIZE:
                del self.ring[:len(self.ring) - RING_SIZE]
            if self.peer >= 0:
                try:
                    os.write(self.peer, data)
                except OSError:
                    pass  # a peer that cannot keep up loses output, the container does not stall
        if term.client is not None:
            try:
                term.client.sendall(data)
            except OSError:
                self._detach(term)

    def _drain_console(self) -> None:
        """The container is gone: keep what it printed last (e.g. its shutdown messages)."""
        if self.console is None:
            return
        while True:
            try:
                data = os.read(self.console.master, 65536)
            except OSError:
                return
            if not data:
                return
            self._output(self.console, data)

    def _from_client(self, term: Terminal) -> None:
        assert term.client is not None
        try:
            data = term.client.recv(65536)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return
        except OSError:
            data = b""
        if not data:
            self._detach(term)
            return
        term.pending += data
        self._flush_input(term)

    def _from_peer(self) -> None:
        assert self.console is not None
        try:
            data = os.read(self.peer, 65536)
        except OSError:
            return
        self.console.pending += data
        self._flush_input(self.console)

    def _flush_input(self, term: Terminal) -> None:
        while term.pending:
            try:
                written = os.write(term.master, term.pending)
            except BlockingIOError:
                return  # the pty's input queue is full: wait for POLLOUT
            except OSError:
                term.pending.clear()
                return
            del term.pending[:written]

    def _detach(self, term: Terminal) -> None:
        if term.client is not None:
            term.client.close()
            term.client = None
        term.pending.clear()

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.settimeout(2.0)  # the request line comes right after connect
        try:
            if not _peer_allowed(conn):
                raise LxcError("permission denied")
            request = _read_line(conn)
            term = self._choose(int(request.get("tty", -1)))
            rows, cols = request.get("rows"), request.get("cols")
            if rows and cols:
                set_winsize(term.master, int(rows), int(cols))
            conn.sendall(json.dumps({"tty": term.number}).encode() + b"\n")
            if request.get("replay") and term.number == 0:
                conn.sendall(bytes(self.ring))
        except (LxcError, OSError, ValueError) as exc:
            message = exc.message if isinstance(exc, LxcError) else str(exc)
            try:
                conn.sendall(json.dumps({"error": message}).encode() + b"\n")
            except OSError:
                pass
            conn.close()
            return
        conn.settimeout(SEND_TIMEOUT)
        term.client = conn

    def _choose(self, number: int) -> Terminal:
        if number < 0:
            for term in self.ttys:
                if term.client is None:
                    return term
            if self.console is None:
                raise LxcError("all ttys are busy")
            number = 0
        if number == 0:
            if self.console is None:
                raise LxcError("the container has no console pty "
                               f"({_console_why(self.mode)})")
            term = self.console
        elif number <= len(self.ttys):
            term = self.ttys[number - 1]
        else:
            raise LxcError(f"tty {number} does not exist (lxc.tty.max = {len(self.ttys)})")
        if term.client is not None:
            raise LxcError(f"{'the console' if number == 0 else f'tty {number}'} is busy "
                           "(another lxc-console is attached)")
        return term


def _console_why(mode: str) -> str:
    return {"none": "lxc.console.path = none",
            "terminal": "it was started in the foreground on a terminal",
            "inherit": "it was started in the foreground"}.get(mode, mode)


def prepare_console(cfg: ContainerConfig, paths: ContainerPaths, mode: str,
                    daemonized: bool) -> Console | None:
    """Decide the console mode and allocate its ptys, before the container is forked.

    ``mode`` is the supervisor's: "start" (the command is PID 1) or "execute" (lxc-execute:
    in the foreground the command keeps the caller's stdio and session, as before).
    """
    with_root = bool(cfg.rootfs_path or cfg.chroot)
    if cfg.console_path == "none":
        console_mode = "none"
    elif cfg.console_path or daemonized:
        console_mode = "pty"
    elif _stdin_is_terminal():
        console_mode = "terminal"
    else:
        console_mode = "inherit"
    new_session = mode == "start" or console_mode == "pty"
    if not new_session and not (with_root and cfg.tty_max > 0):
        return None
    console = Console(paths, console_mode, new_session)
    console._open(cfg, with_root)
    return console


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def _bind_onto(root: Root, target: str, fd: int) -> None:
    from lxcpy.rootfs.mounts import fd_path

    # By its path, not /proc/self/fd/N: the fd was opened before our mount namespace was
    # made, and the kernel refuses to bind from a mount of another namespace (EINVAL).
    source = os.ttyname(fd)
    where = root.open(target, "file")
    try:
        k.mount(source, fd_path(where), None, k.MS_BIND, None)
    except LxcError as exc:
        raise LxcError(f"console: cannot bind a terminal on {target}: {exc.message}") from None
    finally:
        os.close(where)


def _peer_allowed(conn: socket.socket) -> bool:
    """Root, or the supervisor's own user (the socket file is 0600 anyway)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1] in (0, os.geteuid())


def _read_line(conn: socket.socket, limit: int = 4096) -> dict[str, Any]:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(1)  # byte by byte: what follows the line is terminal data
        if not chunk:
            raise LxcError("connection closed")
        buf += chunk
        if len(buf) > limit:
            raise LxcError("request too long")
    value = json.loads(buf)
    if not isinstance(value, dict):
        raise LxcError("bad request")
    return value


# ---- the client: lxc-console --------------------------------------------------------------
def connect_console(paths: ContainerPaths, tty: int = -1, replay: bool = False,
                    size: tuple[int, int] | None = None) -> tuple[socket.socket, int]:
    """Connect to a running container's console relay; (socket, tty number)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.settimeout(5.0)
    try:
        sock.connect(paths.console)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        sock.close()
        from lxcpy.runtime.commands import query_state

        if query_state(paths)[0] == "STOPPED":
            raise NotRunning(f"{paths.name} is not running") from None
        raise LxcError(f"{paths.name} has no console or tty to attach to (lxc.console.path "
                       "= none or a foreground start, and lxc.tty.max = 0)") from None
    request: dict[str, Any] = {"tty": tty, "replay": replay}
    if size:
        request["rows"], request["cols"] = size
    try:
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = _read_line(sock, 65536)
    except (OSError, ValueError):
        sock.close()
        raise NotRunning(f"{paths.name} is not running") from None
    except LxcError:
        sock.close()
        raise NotRunning(f"{paths.name} is not running") from None
    if "error" in reply:
        sock.close()
        raise LxcError(str(reply["error"]))
    sock.settimeout(None)
    return sock, int(reply["tty"])


def escape_code(letter: str) -> int:
    """LXC's -e: a letter a..z names Ctrl-<letter> (``a`` -> 0x01)."""
    if len(letter) != 1 or not letter.isalpha() or not letter.isascii():
        raise LxcError(f"invalid escape character '{letter}': expected a letter a..z")
    return ord(letter.lower()) - ord("a") + 1


def run_console(paths: ContainerPaths, tty: int = -1, escape: int = 1, stdin: int = 0,
                stdout: int = 1, linger: float = 0.5) -> int:
    """lxc-console: the caller's terminal on a container terminal until ``Ctrl-<e> q``.

    Without a terminal on stdin (a script): the last console output is replayed, stdin is
    copied in until EOF, then output is copied until the container is quiet for
    ``linger`` seconds (a pty has no end-of-file to wait for).
    """
    import sys

    interactive = os.isatty(stdin)
    size = None
    if interactive:
        try:
            size = os.get_terminal_size(stdin)
        except OSError:
            size = None
    sock, number = connect_console(paths, tty, replay=not interactive,
                                   size=(size.lines, size.columns) if size else None)
    with sock:
        if not interactive:
            return _copy(sock, stdin, stdout, linger)
        letter = chr(ord("a") + escape - 1)
        sys.stderr.write(f"\nConnected to tty {number}\nType <Ctrl+{letter} q> to exit the "
                         f"console, <Ctrl+{letter} Ctrl+{letter}> to enter Ctrl+{letter} "
                         "itself\n")
        sys.stderr.flush()
        import tty as ttymod

        saved = termios.tcgetattr(stdin)
        try:
            ttymod.setraw(stdin)
            _interact(sock, stdin, stdout, escape)
        finally:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        sys.stderr.write("\n")
        return 0


def _interact(sock: socket.socket, stdin: int, stdout: int, escape: int) -> None:
    armed = False  # the escape key was the last key typed
    while True:
        ready, _, _ = select.select([sock, stdin], [], [])
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            _write_all(stdout, data)
        if stdin in ready:
            keys = os.read(stdin, 1024)
            if not keys:
                return
            out = bytearray()
            for key in keys:  # LXC's rules: <e> q detaches, <e> <e> sends <e>, <e> x sends x
                if armed:
                    armed = False
                    if key == ord("q"):
                        if out:
                            sock.sendall(out)
                        return
                    out.append(key)
                elif key == escape:
                    armed = True
                else:
                    out.append(key)
            if out:
                sock.sendall(out)


def _copy(sock: socket.socket, stdin: int, stdout: int, linger: float) -> int:
    inputs: list[Any] = [sock, stdin]
    while True:
        ready, _, _ = select.select(inputs, [], [], None if stdin in inputs else linger)
        if not ready:
            return 0  # stdin is done and the container has been quiet for `linger`
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                return 0
            _write_all(stdout, data)
        if stdin in inputs and stdin in ready:
            data = os.read(stdin, 65536)
            if data:
                sock.sendall(data)
            else:
                inputs.remove(stdin)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

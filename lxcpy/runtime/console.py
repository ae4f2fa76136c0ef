"""The container's console and ttys: who is /dev/console, and lxc-console's way in.

Modes (chosen before the fork by :func:`prepare_console`):

* ``pty`` — ``lxc-start -d`` (the default), or an explicit ``lxc.console.path``: the
  supervisor allocates a pty; its slave is the init's stdin/stdout/stderr and is bound on
  /dev/console. The supervisor's event loop reads the master and copies it to
  ``lxc.console.logfile``, to a small ring buffer, to the ``lxc.console.path`` device if
  one is named, and to an lxc-console client's proxy pty.
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

lxc-console asks the supervisor over the command socket (``{"op": "console", "tty": N,
"replay": bool, "rows": R, "cols": C}``) and gets a pty master back over SCM_RIGHTS, as
LXC's ``lxc_cmd_console`` does: a tty's own master, or for the console a proxy pty whose
other side the supervisor copies to and from the console (so the log stays complete). The
tty stays the client's until its command connection closes. ``tty`` -1 means the first
free tty, else the console (LXC's default); ``replay`` sends the last console output first
(what a script reading the console wants). No thread, no socket of its own.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import termios

from lxcpy import kernel as k
from lxcpy._record import dataclass
from lxcpy.errors import LxcError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    import socket
    from typing import Any

    from lxcpy.config.model import ContainerConfig
    from lxcpy.paths import ContainerPaths
    from lxcpy.rootfs.pathrs import Root
    from lxcpy.runtime.loop import Loop

RING_SIZE = 64 * 1024
PROXY_LIMIT = 256 * 1024  # console output a client has not taken yet; beyond: dropped
DEFAULT_SIZE = (24, 80)


@dataclass
class Terminal:
    """One pty the supervisor holds: the console (number 0) or tty N."""

    number: int
    master: int
    slave: int
    busy: bool = False  # an lxc-console holds it


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

    def __init__(self, mode: str, new_session: bool) -> None:
        self.mode = mode
        self.new_session = new_session
        self.console: Terminal | None = None
        self.ttys: list[Terminal] = []
        self.peer = -1  # an lxc.console.path device
        self.peer_attrs: list[Any] | None = None
        self.log_fd = -1
        self.ring = bytearray()
        self.loop: Loop | None = None
        self.to_console = bytearray()  # input (client, peer) the console has not taken yet
        self.proxy = -1  # our side (the slave) of the console client's proxy pty
        self.to_proxy = bytearray()  # console output the client has not taken yet
        self.master_dead = False

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

    def _open_peer(self, path: str) -> None:
        self.peer = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK)
        if os.isatty(self.peer):
            import tty

            self.peer_attrs = termios.tcgetattr(self.peer)
            tty.setraw(self.peer)  # the container's own terminal does the line editing

    def child_fds(self) -> set[int]:
        """The fds the container's first process must keep across its fd clean-up."""
        return self.pty_fds()

    def pty_fds(self) -> set[int]:
        """The slaves of the ptys we allocated (lxc.idmap gives them to the mapped root)."""
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

    # ---- after the fork (supervisor): part of its event loop ----------------------------
    def attach(self, loop: Loop) -> None:
        """Serve the console in ``loop``: log it, feed the peer device and a client."""
        self.loop = loop
        if self.console is not None:
            os.set_blocking(self.console.master, False)
        self._rewatch()

    def _rewatch(self) -> None:
        """What the loop waits for, from the buffers: one place for every console fd."""
        loop = self.loop
        if loop is None or self.console is None:
            return
        # input is read only while the console takes it: a flood waits in its sender
        taking = not self.to_console
        loop.watch(self.console.master,
                   read=None if self.master_dead else self._from_console,
                   write=self._to_console if self.to_console else None)
        if self.peer >= 0:
            loop.watch(self.peer, read=self._from_peer if taking else None)
        if self.proxy >= 0:
            loop.watch(self.proxy, read=self._from_proxy if taking else None,
                       write=self._flush_proxy if self.to_proxy else None)

    def _from_console(self) -> None:
        assert self.console is not None
        try:
            data = os.read(self.console.master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the slave side is gone
            data = b""
        if not data:
            # nothing holds the slave (cannot happen while we keep it open): do not spin
            self.master_dead = True
            self._rewatch()
            return
        self._output(data)

    def _output(self, data: bytes) -> None:
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
        if self.proxy >= 0:
            # likewise a client that does not read: the container never waits for it
            self.to_proxy += data[:max(0, PROXY_LIMIT - len(self.to_proxy))]
            self._flush_proxy()

    def _flush_proxy(self) -> None:
        while self.to_proxy and self.proxy >= 0:
            try:
                written = os.write(self.proxy, self.to_proxy)
            except BlockingIOError:
                break
            except OSError:
                self.to_proxy.clear()  # the client closed its side
                break
            del self.to_proxy[:written]
        self._rewatch()

    def _from_proxy(self) -> None:
        self._input(self.proxy)

    def _from_peer(self) -> None:
        self._input(self.peer)

    def _input(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            if fd == self.proxy:
                self._close_proxy()  # the client closed its side (EIO): its input is over
            return
        self.to_console += data
        self._to_console()

    def _to_console(self) -> None:
        assert self.console is not None
        while self.to_console:
            try:
                written = os.write(self.console.master, self.to_console)
            except BlockingIOError:
                break  # the pty's input queue is full: wait until it is writable
            except OSError:
                self.to_console.clear()
                break
            del self.to_console[:written]
        self._rewatch()

    # ---- lxc-console's requests ----------------------------------------------------------
    def allocate(self, number: int, rows: int | None = None, cols: int | None = None,
                 replay: bool = False) -> tuple[int, int]:
        """Give tty ``number`` (0: the console, -1: the first free tty, else the console)
        to a client: (its number, a new fd of a pty master for the client to own)."""
        term = self._choose(number)
        size = (rows, cols) if rows and cols else None
        if size:
            set_winsize(term.master, *size)
        if term.number > 0:
            fd = os.dup(term.master)
            term.busy = True
            return term.number, fd
        # the console: a proxy pty, so the supervisor still sees (and logs) everything
        proxy_master, proxy_slave = open_pty(*(size or DEFAULT_SIZE))
        import tty

        tty.setraw(proxy_slave)  # a byte pipe: the client's terminal does the rest
        os.set_blocking(proxy_slave, False)
        self.proxy = proxy_slave
        term.busy = True
        if replay:
            self.to_proxy += self.ring
        self._flush_proxy()
        return 0, proxy_master

    def resize(self, number: int, rows: int, cols: int) -> None:
        """lxc-console's terminal changed size: so does the container's tty."""
        for term in self._terminals():
            if term.number == number:
                set_winsize(term.master, rows, cols)

    def release(self, number: int) -> None:
        """The client holding tty ``number`` went away (its command connection closed)."""
        for term in self._terminals():
            if term.number == number:
                term.busy = False
        if number == 0:
            self._close_proxy()

    def _close_proxy(self) -> None:
        if self.proxy < 0:
            return
        if self.loop is not None:
            self.loop.forget(self.proxy)
        os.close(self.proxy)
        self.proxy = -1
        self.to_proxy.clear()
        self._rewatch()

    def _choose(self, number: int) -> Terminal:
        if number < 0:
            for term in self.ttys:
                if not term.busy:
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
        if term.busy:
            raise LxcError(f"{'the console' if number == 0 else f'tty {number}'} is busy "
                           "(another lxc-console is attached)")
        return term

    # ---- the end -----------------------------------------------------------------------
    def close(self) -> None:
        """Keep the console's last output (after the init is gone), then free it all."""
        if self.console is not None and self.loop is not None and not self.master_dead:
            self._drain_console()
        self._close_proxy()
        loop, self.loop = self.loop, None
        for term in self._terminals():
            for fd in (term.master, term.slave):
                if fd >= 0:
                    if loop is not None:
                        loop.forget(fd)
                    os.close(fd)
            term.master = term.slave = -1
        self.console, self.ttys = None, []
        if self.peer >= 0:
            if loop is not None:
                loop.forget(self.peer)
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

    def _drain_console(self) -> None:
        """The container is gone: keep what it printed last (e.g. its shutdown messages)."""
        assert self.console is not None
        while True:
            try:
                data = os.read(self.console.master, 65536)
            except OSError:
                return
            if not data:
                return
            self._output(data)

    def _terminals(self) -> list[Terminal]:
        return ([self.console] if self.console is not None else []) + self.ttys


def _console_why(mode: str) -> str:
    return {"none": "lxc.console.path = none",
            "terminal": "it was started in the foreground on a terminal",
            "inherit": "it was started in the foreground"}.get(mode, mode)


def prepare_console(cfg: ContainerConfig, mode: str, daemonized: bool) -> Console | None:
    """Decide the console mode and allocate its ptys, before the container is forked.

    ``mode`` is the supervisor's: "start" (the command is PID 1) or "execute" (lxc-execute:
    in the foreground the command keeps the caller's stdio and session, as before).
    """
    if not cfg.needs_console(mode, daemonized):
        return None
    if cfg.console_path == "none":
        console_mode = "none"
    elif cfg.wants_pty(daemonized):
        console_mode = "pty"
    elif _stdin_is_terminal():
        console_mode = "terminal"
    else:
        console_mode = "inherit"
    console = Console(console_mode, mode == "start" or console_mode == "pty")
    console._open(cfg, bool(cfg.rootfs_path or cfg.chroot))
    return console


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def _bind_onto(root: Root, target: str, fd: int) -> None:
    from lxcpy.rootfs.pathrs import fd_path

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


# ---- the client: lxc-console --------------------------------------------------------------
def connect_console(paths: ContainerPaths, tty: int = -1, replay: bool = False,
                    size: tuple[int, int] | None = None) -> tuple[socket.socket, int, int]:
    """Ask the supervisor for a tty: (the command connection, which holds the tty until
    it is closed; the tty's number; a pty master fd that is the caller's to close)."""
    from lxcpy.runtime.commands import open_session

    args: dict[str, Any] = {"tty": tty, "replay": replay}
    if size:
        args["rows"], args["cols"] = size
    sock, reply, fds = open_session(paths, "console", **args)
    if len(fds) != 1:
        sock.close()
        for fd in fds:
            os.close(fd)
        raise LxcError("the supervisor sent no terminal")
    return sock, int(reply["tty"]), fds[0]


def escape_code(letter: str) -> int:
    """LXC's -e: a letter a..z names Ctrl-<letter> (``a`` -> 0x01)."""
    if len(letter) != 1 or not letter.isalpha() or not letter.isascii():
        raise LxcError(f"invalid escape character '{letter}': expected a letter a..z")
    return ord(letter.lower()) - ord("a") + 1


def run_console(paths: ContainerPaths, tty: int = -1, escape: int = 1, stdin: int = 0,
                stdout: int = 1, linger: float = 0.5) -> int:
    """lxc-console: the caller's terminal on a container terminal until ``Ctrl-<e> q``.

    This process copies between its terminal and the pty master it received; the
    supervisor only lends the tty. Without a terminal on stdin (a script): the last
    console output is replayed, stdin is copied in until EOF, then output is copied until
    the container is quiet for ``linger`` seconds (a pty has no end-of-file to wait for).
    """
    import sys

    interactive = os.isatty(stdin)
    size = None
    if interactive:
        try:
            size = os.get_terminal_size(stdin)
        except OSError:
            size = None
    sock, number, master = connect_console(paths, tty, replay=not interactive,
                                           size=(size.lines, size.columns) if size else None)
    try:
        if not interactive:
            return _copy(master, sock.fileno(), stdin, stdout, linger)
        letter = chr(ord("a") + escape - 1)
        sys.stderr.write(f"\nConnected to tty {number}\nType <Ctrl+{letter} q> to exit the "
                         f"console, <Ctrl+{letter} Ctrl+{letter}> to enter Ctrl+{letter} "
                         "itself\n")
        sys.stderr.flush()
        import tty as ttymod

        def resize() -> None:
            """The terminal was resized: so is the container's (LXC does this too)."""
            try:
                size = os.get_terminal_size(stdin)
            except OSError:
                return
            if number == 0:  # ours is a proxy: the supervisor resizes the console itself
                from lxcpy.runtime.commands import send

                send(sock, {"op": "resize", "tty": 0, "rows": size.lines,
                            "cols": size.columns})
            set_winsize(master, size.lines, size.columns)

        import signal

        saved = termios.tcgetattr(stdin)
        wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        old_wake = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        old_winch = signal.signal(signal.SIGWINCH, lambda _s, _f: None)
        try:
            ttymod.setraw(stdin)
            _interact(master, sock.fileno(), stdin, stdout, escape, wake_r, resize)
        finally:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
            signal.signal(signal.SIGWINCH, old_winch)
            signal.set_wakeup_fd(old_wake)
            os.close(wake_r)
            os.close(wake_w)
        sys.stderr.write("\n")
        return 0
    finally:
        os.close(master)
        sock.close()


def _read(fd: int) -> bytes:
    """What is there (select said so); b"" at the end: a pty master whose other side is
    gone reads EIO."""
    try:
        return os.read(fd, 65536)
    except OSError as exc:
        if exc.errno == errno.EIO:
            return b""
        raise


def _drained(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except OSError:
        return False


def _interact(master: int, control: int, stdin: int, stdout: int, escape: int,
              resized: int = -1, resize: Any = None) -> None:
    """Copy keys to ``master`` and its output to ``stdout`` until the escape sequence, the
    tty's end, or the end of the ``control`` connection (the supervisor went away).
    ``resized`` readable (SIGWINCH): call ``resize()``."""
    armed = False  # the escape key was the last key typed
    watched = [master, stdin, control] + ([resized] if resized >= 0 else [])
    while True:
        ready, _, _ = select.select(watched, [], [])
        if control in ready:
            try:
                if not os.read(control, 4096):
                    return  # its EOF: the supervisor went away
            except OSError:
                return
        if resized in ready:
            while _drained(resized):
                pass
            resize()
        if master in ready:
            data = _read(master)
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
                            _write_all(master, out)
                        return
                    out.append(key)
                elif key == escape:
                    armed = True
                else:
                    out.append(key)
            if out:
                _write_all(master, out)


def _copy(master: int, control: int, stdin: int, stdout: int, linger: float) -> int:
    inputs = [master, control, stdin]
    while True:
        ready, _, _ = select.select(inputs, [], [], None if stdin in inputs else linger)
        if not ready or control in ready:
            return 0  # stdin is done and the container has been quiet, or it is gone
        if master in ready:
            data = _read(master)
            if not data:
                return 0
            _write_all(stdout, data)
        if stdin in inputs and stdin in ready:
            data = os.read(stdin, 65536)
            if data:
                _write_all(master, data)
            else:
                inputs.remove(stdin)


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

"""The console in the supervisor's event loop, and lxc-console's side: a pty master over
SCM_RIGHTS. A forked stand-in for the init; the loop runs in a thread of the test."""

from __future__ import annotations

import os
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError, NotRunning
from lxcpy.paths import ContainerPaths
from lxcpy.runtime.commands import listen
from lxcpy.runtime.console import (
    Console,
    _interact,
    connect_console,
    escape_code,
    prepare_console,
    run_console,
)
from lxcpy.runtime.loop import Client, CommandServer, Loop
from lxcpy.runtime.supervisor import COMMANDS


class TmpPaths(ContainerPaths):
    @property
    def socket(self) -> str:
        return os.path.join(self.lxcpath, f"{self.name}.sock")


@pytest.fixture
def paths(tmp_path: Path) -> TmpPaths:
    return TmpPaths("c", str(tmp_path))


def fork_init(console: Console, script: bytes) -> int:
    """A child that does what the container's first process does, then talks on stdio."""
    pid = os.fork()
    if pid == 0:
        try:
            console.child_side(None)
            os.write(1, b"hello from init\n")
            line = os.read(0, 100) if select.select([0], [], [], 3)[0] else b"nothing"
            os.write(1, b"got " + line.strip() + b"\n")
            os.write(1, script)
            time.sleep(0.2)
        finally:
            os._exit(0)
    return pid


class Served:
    """The supervisor's console command and loop, for one Console, in a thread."""

    def __init__(self, console: Console, paths: TmpPaths) -> None:
        self.console = console
        self.loop = Loop()
        fake = SimpleNamespace(console=console, name="c")

        def dispatch(request: dict[str, Any], client: Client) -> Any:
            return COMMANDS[request["op"]](fake, request, client)  # type: ignore[arg-type]

        self.server = CommandServer(self.loop, listen(paths.socket, 8), dispatch)
        console.attach(self.loop)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            self.loop.run_once(0.02)

    def stop(self) -> None:
        """Stop the loop, then close like the supervisor's teardown does."""
        if not self.done.is_set():
            self.done.set()
            self.thread.join()
            self.console.close()
            self.server.close()
            self.loop.close()


@pytest.fixture
def running(paths: TmpPaths, tmp_path: Path) -> Iterator[tuple[Served, int, Path]]:
    log = tmp_path / "console.log"
    cfg = ContainerConfig(console_logfile=str(log), rootfs_path="/nonexistent", tty_max=2)
    console = prepare_console(cfg, "start", daemonized=True)
    assert console is not None and console.mode == "pty"
    pid = fork_init(console, b"bye\n")
    served = Served(console, paths)
    try:
        yield served, pid, log
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        served.stop()


def read_until(fd: int, wanted: bytes, timeout: float = 5.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while wanted not in got and time.monotonic() < deadline:
        if select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            got += os.read(fd, 4096)
    return got


def test_modes(paths: TmpPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    import lxcpy.runtime.console as mod

    def mode(cfg: ContainerConfig, daemonized: bool, run: str = "start",
             tty: bool = False) -> str | None:
        monkeypatch.setattr(mod, "_stdin_is_terminal", lambda: tty)
        console = prepare_console(cfg, run, daemonized)
        if console is None:
            return None
        console.close()
        return console.mode

    assert mode(ContainerConfig(), True) == "pty"
    assert mode(ContainerConfig(), False) == "inherit"
    assert mode(ContainerConfig(), False, tty=True) == "terminal"
    assert mode(ContainerConfig(console_path="none"), True) == "none"
    assert mode(ContainerConfig(console_path="none"), False) == "none"
    assert mode(ContainerConfig(console_path="/dev/null"), False) == "pty"
    # lxc-execute in the foreground keeps the caller's stdio and session
    assert mode(ContainerConfig(), False, run="execute") is None


def test_script_reads_and_writes_the_console(running: tuple[Served, int, Path],
                                             paths: TmpPaths) -> None:
    served, pid, log = running
    r, w = os.pipe()
    os.write(w, b"ping\n")
    os.close(w)
    out_r, out_w = os.pipe()
    assert run_console(paths, 0, stdin=r, stdout=out_w, linger=0.5) == 0
    os.close(out_w)
    output = os.read(out_r, 65536)
    assert b"hello from init" in output  # replayed: it was printed before we came
    assert b"got ping" in output
    os.waitpid(pid, 0)
    served.stop()
    text = log.read_bytes()
    # the log has it all, the client's session too: the client had a proxy, not the master
    assert b"hello from init" in text and b"got ping" in text and b"bye" in text


def test_ttys_and_busy(running: tuple[Served, int, Path], paths: TmpPaths) -> None:
    served, _pid, _log = running
    console = served.console
    first, number, first_fd = connect_console(paths, -1)
    assert number == 1  # LXC's default: the first free tty
    second, number, second_fd = connect_console(paths, -1)
    assert number == 2
    with pytest.raises(LxcError, match="tty 1 is busy"):
        connect_console(paths, 1)
    with pytest.raises(LxcError, match="does not exist"):
        connect_console(paths, 3)
    third, number, third_fd = connect_console(paths, -1)
    assert number == 0  # every tty is taken: the console
    with pytest.raises(LxcError, match="the console is busy"):
        connect_console(paths, 0)
    # a tty's own master: what a process writes to tty 2 reaches its client directly
    os.write(console.ttys[1].slave, b"on tty2\n")
    assert b"on tty2" in read_until(second_fd, b"on tty2")
    # input from the client reaches the tty
    os.write(second_fd, b"typed\n")
    assert b"typed" in read_until(console.ttys[1].slave, b"typed")
    # a client that goes away frees its tty (its connection is what holds it)
    first.close()
    os.close(first_fd)
    deadline = time.monotonic() + 5
    while console.ttys[0].busy and time.monotonic() < deadline:
        time.sleep(0.01)
    again, number, again_fd = connect_console(paths, 1)
    assert number == 1
    for sock, fd in ((second, second_fd), (third, third_fd), (again, again_fd)):
        sock.close()
        os.close(fd)


def test_console_client_that_does_not_read_does_not_stall_the_container(
        running: tuple[Served, int, Path], paths: TmpPaths) -> None:
    served, _pid, log = running
    sock, number, fd = connect_console(paths, 0)
    assert number == 0
    # the init's own first line is in (it writes more only after 3 s without input)
    deadline = time.monotonic() + 10
    while b"hello from init" not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    # the container prints far more than the client takes: the log still gets it all
    flood = b"x" * 1024 * 1024 + b"END\n"
    os.set_blocking(served.console.console.slave, True)
    written = 0
    view = memoryview(flood)
    deadline = time.monotonic() + 10
    while written < len(flood) and time.monotonic() < deadline:
        written += os.write(served.console.console.slave, view[written:written + 65536])
    assert written == len(flood)
    deadline = time.monotonic() + 10
    while b"END\r\n" not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    text = log.read_bytes()
    # every byte of the flood, then END (the pty turns LF into CR LF); on a slow machine the
    # init's later lines may land after it, so no claim about what ends the log
    assert b"END\r\n" in text and text.count(b"x") >= len(flood) - 4
    sock.close()
    os.close(fd)


def test_not_running(paths: TmpPaths) -> None:
    with pytest.raises(NotRunning, match="not running"):
        connect_console(paths, 0)


def test_escape_code() -> None:
    assert escape_code("a") == 1
    assert escape_code("B") == 2
    for bad in ("", "ab", "1", "é"):
        with pytest.raises(LxcError):
            escape_code(bad)


def test_escape_sequence_detaches() -> None:
    ours, theirs = socket.socketpair()  # stands in for the pty master
    control, supervisor = socket.socketpair()
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    # x, Ctrl-a Ctrl-a (a literal Ctrl-a), Ctrl-a y (just y, like LXC), then Ctrl-a q
    os.write(w, b"x\x01\x01\x01y\x01qNOT-SENT")
    _interact(ours.fileno(), control.fileno(), r, out_w, escape=1)
    ours.close()
    assert theirs.recv(100) == b"x\x01y"
    for fd in (r, w, out_r, out_w):
        os.close(fd)
    for sock in (theirs, control, supervisor):
        sock.close()


def test_supervisor_gone_ends_the_session() -> None:
    ours, theirs = socket.socketpair()
    control, supervisor = socket.socketpair()
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    supervisor.close()  # EOF on the command connection
    _interact(ours.fileno(), control.fileno(), r, out_w, escape=1)
    for fd in (r, w, out_r, out_w):
        os.close(fd)
    for sock in (ours, theirs, control):
        sock.close()

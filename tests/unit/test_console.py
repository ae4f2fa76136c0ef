"""The console relay and lxc-console's client side, with a forked stand-in for the init."""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError
from lxcpy.paths import ContainerPaths
from lxcpy.runtime.console import (
    Console,
    _interact,
    connect_console,
    escape_code,
    prepare_console,
    run_console,
)


class TmpPaths(ContainerPaths):
    @property
    def console(self) -> str:
        return os.path.join(self.lxcpath, f"{self.name}.console")


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


@pytest.fixture
def running(paths: TmpPaths, tmp_path: Path) -> Iterator[tuple[Console, int, Path]]:
    log = tmp_path / "console.log"
    cfg = ContainerConfig(console_logfile=str(log), rootfs_path="/nonexistent", tty_max=2)
    console = prepare_console(cfg, paths, "start", daemonized=True)
    assert console is not None and console.mode == "pty"
    pid = fork_init(console, b"bye\n")
    console.start_relay()
    try:
        yield console, pid, log
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        console.close()


def test_modes(paths: TmpPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    import lxcpy.runtime.console as mod

    def mode(cfg: ContainerConfig, daemonized: bool, run: str = "start",
             tty: bool = False) -> str | None:
        monkeypatch.setattr(mod, "_stdin_is_terminal", lambda: tty)
        console = prepare_console(cfg, paths, run, daemonized)
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
    assert not os.path.exists(paths.console)


def test_script_reads_and_writes_the_console(running: tuple[Console, int, Path],
                                             paths: TmpPaths) -> None:
    console, pid, log = running
    r, w = os.pipe()
    os.write(w, b"ping\n")
    os.close(w)
    out_r, out_w = os.pipe()
    assert run_console(paths, 0, stdin=r, stdout=out_w, linger=0.5) == 0
    os.close(out_w)
    output = os.read(out_r, 65536)
    assert b"hello from init" in output
    assert b"got ping" in output
    os.waitpid(pid, 0)
    console.close()
    text = log.read_bytes()
    assert b"hello from init" in text and b"got ping" in text and b"bye" in text
    assert not os.path.exists(paths.console)


def test_ttys_and_busy(running: tuple[Console, int, Path], paths: TmpPaths) -> None:
    console, _pid, _log = running
    first, number = connect_console(paths, -1)
    assert number == 1  # LXC's default: the first free tty
    second, number = connect_console(paths, -1)
    assert number == 2
    with pytest.raises(LxcError, match="tty 1 is busy"):
        connect_console(paths, 1)
    with pytest.raises(LxcError, match="does not exist"):
        connect_console(paths, 3)
    third, number = connect_console(paths, -1)
    assert number == 0  # every tty is taken: the console
    # what a process writes to tty 2 reaches its client
    os.write(console.ttys[1].slave, b"on tty2\n")
    second.settimeout(5)
    assert b"on tty2" in second.recv(100)
    # input from the client reaches the tty
    second.sendall(b"typed\n")
    deadline = time.monotonic() + 5
    got = b""
    os.set_blocking(console.ttys[1].slave, False)
    while b"typed" not in got and time.monotonic() < deadline:
        try:
            got += os.read(console.ttys[1].slave, 100)
        except BlockingIOError:
            time.sleep(0.01)
    assert b"typed" in got
    for sock in (first, second, third):
        sock.close()


def test_not_running(paths: TmpPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    import lxcpy.runtime.commands as commands

    monkeypatch.setattr(commands, "query_state", lambda _p: ("STOPPED", -1))
    with pytest.raises(LxcError, match="not running"):
        connect_console(paths, 0)


def test_escape_code() -> None:
    assert escape_code("a") == 1
    assert escape_code("B") == 2
    for bad in ("", "ab", "1", "é"):
        with pytest.raises(LxcError):
            escape_code(bad)


def test_escape_sequence_detaches() -> None:
    ours, theirs = socket.socketpair()
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    # x, Ctrl-a Ctrl-a (a literal Ctrl-a), Ctrl-a y (just y, like LXC), then Ctrl-a q
    os.write(w, b"x\x01\x01\x01y\x01qNOT-SENT")
    _interact(ours, r, out_w, escape=1)
    ours.close()
    assert theirs.recv(100) == b"x\x01y"
    for fd in (r, w, out_r, out_w):
        os.close(fd)
    theirs.close()

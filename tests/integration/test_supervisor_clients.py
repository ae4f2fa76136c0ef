"""The supervisor's command socket under hostile or slow clients, and lxc-console's pty fd.

One event loop serves every client without blocking: a client that never reads is
dropped and never delays the others or the state; a supervisor that is alive but does not
answer is an error, never STOPPED; a client inside a container is refused; lxc-console
gets the pty master over SCM_RIGHTS and the supervisor has no thread.

The containers run on the probe rootfs (busybox), except the attacker that is rootfs-less on
purpose (the host's run directory is what it would reach) and runs this Python.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lxcpy.paths import ContainerPaths, Lock, ensure_rundir
from tests.integration.helpers import (
    HOST_DIR,
    PtyReader,
    bind_host,
    lxc,
    rootfs_keys,
    tool,
    unique,
    wait_until,
)

pytestmark = pytest.mark.root


def define(lxcpath: Path, tmp_path: Path, extra: str = "", rootfs: Path | None = None) -> str:
    """A container on ``rootfs`` (the probe rootfs), or in the host's tree (None)."""
    name = unique("sc")
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"lxc.uts.name = {name}\n{rootfs_keys(rootfs) if rootfs else ''}{extra}")
    lxc("create", "-n", name, "-f", str(conf), lxcpath=lxcpath, check=True)
    return name


def run_daemon(lxcpath: Path, tmp_path: Path, rootfs: Path) -> str:
    """A daemonised container on the probe rootfs, running `sleep`."""
    name = define(lxcpath, tmp_path, rootfs=rootfs)
    r = lxc("start", "-n", name, "-d", "--", "sleep", "1000", lxcpath=lxcpath, timeout=30)
    assert r.returncode == 0, r.stderr
    return name


def state(lxcpath: Path, name: str) -> str:
    return lxc("state", "-n", name, lxcpath=lxcpath, timeout=20).stdout.strip()


def supervisor_pid(lxcpath: Path, name: str) -> int:
    from lxcpy.container import Container

    return int(Container(name, str(lxcpath)).info()["supervisor"])


def connect(lxcpath: Path, name: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(ContainerPaths(name, str(lxcpath)).socket)
    return sock


def flood(sock: socket.socket, data: bytes) -> None:
    """Send what the supervisor takes, without blocking; never read."""
    sock.setblocking(False)
    view = memoryview(data)
    try:
        while view:
            view = view[sock.send(view):]
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass


def test_clients_that_never_read_stall_nothing(lxcpath: Path, tmp_path: Path,
                                               probe_rootfs: Path) -> None:
    name = run_daemon(lxcpath, tmp_path, probe_rootfs)
    # one asks for a reply far bigger than any socket buffer and never reads it
    huge = connect(lxcpath, name)
    huge.settimeout(10)
    try:
        huge.sendall(b'{"op": "' + b"x" * (1 << 20) + b'"}\n')
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused half way: too long
    # another sends request after request and never reads a reply
    stuck = connect(lxcpath, name)
    flood(stuck, b'{"op": "state"}\n' * 100000)  # its replies fill its socket, then ours
    # meanwhile every other client is answered at once, with the true state
    for _ in range(3):
        start = time.monotonic()
        assert state(lxcpath, name) == "RUNNING"
        r = lxc("info", "-n", name, "-s", lxcpath=lxcpath, timeout=20)
        assert r.stdout.split() == ["State:", "RUNNING"], r.stderr
        assert time.monotonic() - start < 2.0
    # the stuck clients are dropped (SEND_TIMEOUT) without our reading anything: the
    # supervisor's end closes (POLLRDHUP/POLLHUP here, whatever waits unread)
    for sock in (huge, stuck):
        watch = select.poll()
        watch.register(sock, select.POLLRDHUP)
        start = time.monotonic()
        events = watch.poll(20_000)
        assert events and events[0][1] & (select.POLLRDHUP | select.POLLHUP), events
        assert time.monotonic() - start < 15
    huge.close()
    stuck.close()
    assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30).returncode == 0
    assert state(lxcpath, name) == "STOPPED"


def test_alive_but_silent_supervisor_is_not_stopped(lxcpath: Path, tmp_path: Path,
                                                    probe_rootfs: Path) -> None:
    """A connect that succeeds but is never answered: an error, not STOPPED."""
    name = define(lxcpath, tmp_path, rootfs=probe_rootfs)
    paths = ContainerPaths(name, str(lxcpath))
    ensure_rundir(str(lxcpath))
    lock = Lock(paths.lock)
    assert lock.acquire(blocking=False)  # as a live supervisor holds it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(paths.socket)
        listener.listen(8)  # connects succeed (the backlog); nothing ever answers
        for cmd in (("state",), ("info", "-s"), ("info",)):
            r = lxc(cmd[0], "-n", name, *cmd[1:], lxcpath=lxcpath, timeout=30)
            assert r.returncode != 0, r.stdout
            assert "STOPPED" not in r.stdout
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert "did not answer" in r.stderr
        assert os.path.exists(paths.socket)  # and nothing "recovered" a live container
    finally:
        listener.close()
        os.unlink(paths.socket)
        lock.release()


def test_client_in_another_pid_namespace_is_refused(lxcpath: Path, tmp_path: Path,
                                                    probe_rootfs: Path) -> None:
    name = run_daemon(lxcpath, tmp_path, probe_rootfs)
    for cmd in ("stop", "state", "freeze"):
        r = subprocess.run(["unshare", "--pid", "--fork", tool(f"lxc-{cmd}"), "-P",
                            str(lxcpath), "-n", name], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, r.stdout + r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "inside a container" in lines[0], r.stderr
    assert state(lxcpath, name) == "RUNNING"
    assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30).returncode == 0


ATTACK = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print("unreachable", exc)
    sys.exit(0)
s.sendall(json.dumps({"op": "stop", "kill": True, "wait": False}).encode() + b"\\n")
print("reply", s.recv(4096).decode().strip())
"""


def test_container_without_rootfs_cannot_stop_another(lxcpath: Path, tmp_path: Path,
                                                       probe_rootfs: Path) -> None:
    """uid 0 in a rootfs-less container (kill and sys_admin dropped) sends B a stop."""
    victim = run_daemon(lxcpath, tmp_path, probe_rootfs)
    attacker = define(lxcpath, tmp_path, "lxc.cap.drop = sys_admin kill\n")
    target = ContainerPaths(victim, str(lxcpath)).socket
    r = lxc("execute", "-n", attacker, "--", sys.executable, "-c", ATTACK, target,
            lxcpath=lxcpath, timeout=30)
    assert r.returncode == 0, r.stderr
    # the run directory is masked inside a rootfs-less container (an empty tmpfs over it):
    # the socket is not even there to connect to
    outcome = r.stdout.strip()
    assert outcome.startswith("unreachable [Errno 2] No such file or directory"), outcome
    assert state(lxcpath, victim) == "RUNNING"
    assert lxc("stop", "-n", victim, "-k", lxcpath=lxcpath, timeout=30).returncode == 0


def test_state_and_stop_are_answered_while_starting(lxcpath: Path, tmp_path: Path,
                                                    probe_rootfs: Path) -> None:
    """The start waits in the same loop that serves commands: STARTING, not a timeout;
    lxc-stop then aborts the start, which cleans up (LXC's stop of a starting one)."""
    gate = tmp_path / "gate"  # the start hook runs inside: it sees the gate through /host
    name = define(lxcpath, tmp_path,
                  f"{bind_host(tmp_path)}lxc.hook.start = /bin/sh -c "
                  f"'while [ ! -e {HOST_DIR}/gate ]; do sleep 0.05; done'\n", probe_rootfs)

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([tool("lxc-start"), "-P", str(lxcpath), "-n", name, "-F",
                                 "--", "sleep", "1000"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    proc = start()
    try:
        assert wait_until(lambda: state(lxcpath, name) == "STARTING", 15)
        assert lxc("kill", "-n", name, "KILL", lxcpath=lxcpath).returncode == 1  # not yet
        r = lxc("stop", "-n", name, lxcpath=lxcpath, timeout=20)
        assert r.returncode == 0, r.stderr  # it returns once the aborted start cleaned up
        assert state(lxcpath, name) == "STOPPED"
        _out, err = proc.communicate(timeout=20)
        assert proc.returncode == 1 and "stopped (lxc-stop) while starting" in err, err
        # and with the gate open it starts
        gate.touch()
        proc = start()
        assert wait_until(lambda: state(lxcpath, name) == "RUNNING", 15)
        assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30).returncode == 0
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")
def test_interactive_console_gets_the_pty(lxcpath: Path, tmp_path: Path) -> None:
    """lxc-start -d, then lxc-console on a terminal: type, see, Ctrl-a q; one thread."""
    log = tmp_path / "console.log"
    name = unique("sc")
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"lxc.console.logfile = {log}\nlxc.tty.max = 1\n")
    lxc("create", "-n", name, "-t", "busybox", "-f", str(conf), lxcpath=lxcpath, check=True)
    r = lxc("start", "-n", name, "-d", lxcpath=lxcpath, timeout=30)
    assert r.returncode == 0, r.stderr
    sup = supervisor_pid(lxcpath, name)
    master, slave = pty.openpty()
    proc = subprocess.Popen([tool("lxc-console"), "-P", str(lxcpath), "-n", name, "-t", "0"],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    reader = PtyReader(master)
    wait_for = reader.wait_for

    try:
        assert wait_for(b"Connected to tty 0")
        # the console shell may still be starting (and flush what was typed ahead): ask
        # until it answers
        deadline = time.monotonic() + 20
        while b"hi-3" not in reader.seen and time.monotonic() < deadline:
            os.write(master, b"echo hi-$((1+2))\r")
            wait_for(b"hi-3", 1)
        assert b"hi-3" in reader.seen, reader.seen[-500:]
        # its terminal is resized (SIGWINCH): so is the container's console
        import fcntl
        import signal
        import struct
        import termios

        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 41, 101, 0, 0))
        proc.send_signal(signal.SIGWINCH)
        deadline = time.monotonic() + 10
        while b"41 101" not in reader.seen and time.monotonic() < deadline:
            os.write(master, b"stty size\r")
            wait_for(b"41 101", 1)
        assert b"41 101" in reader.seen, reader.seen[-300:]
        # one thread: the console is served by the supervisor's event loop
        assert os.listdir(f"/proc/{sup}/task") == [str(sup)]
        # a second lxc-console gets a clear refusal while this one holds it
        r = lxc("console", "-n", name, "-t", "0", lxcpath=lxcpath, timeout=15)
        assert r.returncode == 1 and "busy" in r.stderr, r.stderr
        os.write(master, b"\x01q")
        assert proc.wait(15) == 0
        # it is free again once the first one left
        r = lxc("console", "-n", name, "-t", "0", lxcpath=lxcpath, input="echo again-$((2*3))\n",
                timeout=15)
        assert r.returncode == 0 and "again-6" in r.stdout, r.stdout + r.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30).returncode == 0
    assert b"hi-3" in log.read_bytes()  # the session went through the supervisor's log

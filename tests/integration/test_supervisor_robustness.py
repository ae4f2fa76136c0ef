"""The supervisor's start against signals and a failing set-up, with faults injected at
points of the start (environment variables read only by the fault points), never a sleep.

- A signal to a foreground supervisor while it starts does not abort the start: as LXC
  (which blocks them until its mainloop forwards them), it reaches the init once that
  runs, and no message of the init is lost to it.
- Every failure of the container's set-up ends the start promptly with its one line: an
  exception, a death without a word (also with the supervisor's message to it unread), a
  death while a fork of it still holds the sync channel open.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import cgroup_leftovers, lxc, make, tool

pytestmark = pytest.mark.root


def execute(lxcpath: Path, name: str, env: dict[str, str],
            *command: str) -> subprocess.CompletedProcess[str]:
    """A foreground lxc-execute with ``env`` added; 30 s is a hang (a start takes <1 s)."""
    return subprocess.run([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                           *command], env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)


def assert_stopped_clean(lxcpath: Path, name: str) -> None:
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
    assert cgroup_leftovers(name) == []


# (supervisor phase, signal): mounts sends it once the init's RUNNING is queued, so the
# message and the signal are read in one turn of the loop (the message was lost there)
@pytest.mark.parametrize(("phase", "sig"), [("mounts", signal.SIGUSR1),
                                            ("cgroup", signal.SIGTERM),
                                            ("clone", signal.SIGINT)])
def test_a_signal_while_starting_reaches_the_command_once_it_runs(
        lxcpath: Path, probe_rootfs: Path, phase: str, sig: int) -> None:
    name = make(lxcpath, prefix="sr", rootfs=probe_rootfs)
    r = execute(lxcpath, name, {"LXCPY_TEST_SIGNAL_AT": f"{phase}:{int(sig)}"},
                "sleep", "100")
    # the command (PID 2 under lxc-execute's init) died of the signal, forwarded
    assert r.returncode == 128 + sig, r.stderr
    assert "interrupted" not in r.stderr and "while starting" not in r.stderr, r.stderr
    assert_stopped_clean(lxcpath, name)


# LXCPY_TEST_FAIL_AT in the container's first process: the line the start must end with
FAILURES = [
    ("early", "fault injected at early"),  # before GO: the supervisor's send may fail
    ("go", "fault injected at go"),  # GO queued unread: the supervisor's read is reset
    ("namespaces", "fault injected at namespaces"),
    ("network", "fault injected at network"),
    ("mounted", "fault injected at mounted"),
    ("running", "fault injected at running"),  # the command runs already
    ("early:exit", "init died during setup"),
    ("go:exit", "init died during setup"),
    ("mounted:exit", "init died during setup"),
    ("running:exit", "init died during setup"),
]


@pytest.mark.parametrize(("fault", "line"), FAILURES)
def test_a_failing_setup_ends_the_start_at_once_with_its_line(
        lxcpath: Path, probe_rootfs: Path, fault: str, line: str) -> None:
    name = make(lxcpath, prefix="sf", rootfs=probe_rootfs)
    for _ in range(3):  # (the unread-GO reset hung 1 start in 3 before the fix)
        r = execute(lxcpath, name, {"LXCPY_TEST_FAIL_AT": fault}, "sleep", "100")
        assert r.returncode == 1, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and line in lines[0], r.stderr
        assert lines[0].startswith(f"lxc-execute: {name}: "), r.stderr
        assert_stopped_clean(lxcpath, name)
    # and it starts without the fault
    r = execute(lxcpath, name, {}, "true")
    assert r.returncode == 0, r.stderr


def test_an_init_that_dies_while_a_fork_holds_the_channel(
        lxcpath: Path, probe_rootfs: Path) -> None:
    """No PID namespace of its own: the init's death does not end its fork, which holds
    the sync channel open (no EOF); its pidfd says it died. The fork dies with the cgroup."""
    name = make(lxcpath, "lxc.namespace.keep = pid\n", prefix="so", rootfs=probe_rootfs)
    r = execute(lxcpath, name, {"LXCPY_TEST_FAIL_AT": "mounted:orphan"}, "sleep", "100")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [f"lxc-execute: {name}: the container's init "
                                             "died during setup"], r.stderr
    assert_stopped_clean(lxcpath, name)


def test_a_caller_that_ignores_sigchld_still_gets_the_commands_status(
        lxcpath: Path, probe_rootfs: Path) -> None:
    """An ignored SIGCHLD survives exec: the kernel would reap the init itself, and the
    foreground supervisor waited for an exit it could no longer see (even SIGTERM could
    not end it: the init it forwards to was gone)."""
    name = make(lxcpath, prefix="sc", rootfs=probe_rootfs)
    r = subprocess.run([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", "sh", "-c",
                        "exit 5"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30,
                       preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
    assert r.returncode == 5, r.stderr
    assert r.stderr == ""
    assert_stopped_clean(lxcpath, name)

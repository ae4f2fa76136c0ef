"""lxc-stop -k ends every process of a container, whatever state and namespaces it has.

The supervisor SIGKILLs the init and lets its end (and teardown's cgroup kill) take the
rest; a frozen container is frozen-killed-thawed at once, since a task frozen by the v1
freezer takes no SIGKILL until thawed.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.integration.helpers import lxc, make, wait_until

pytestmark = pytest.mark.root


def _marked(marker: str) -> list[int]:
    """PIDs of ``sleep MARKER`` (not the supervisor's or init's command line, which hold
    it too)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read() == f"sleep\0{marker}\0".encode():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def _start_pair(lxcpath: Path, extra: str = "") -> tuple[str, str]:
    """A daemonised container whose command leaves a second process beside itself."""
    name = make(lxcpath, extra, prefix="sk")
    marker = f"{1000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6:06d}"
    r = lxc("execute", "-n", name, "-d", "--", "sh", "-c",
            f"sleep {marker} & exec sleep {marker}", lxcpath=lxcpath, timeout=60)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: len(_marked(marker)) == 2), _marked(marker)  # sh forks first
    return name, marker


def _stop_kill(lxcpath: Path, name: str, marker: str) -> None:
    r = lxc("stop", "-k", "-n", name, lxcpath=lxcpath, timeout=60)
    assert r.returncode == 0, r.stderr
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout.strip() == "STOPPED"
    assert _marked(marker) == []


def test_stop_kill_ends_a_frozen_container(lxcpath: Path) -> None:
    name, marker = _start_pair(lxcpath)
    try:
        assert lxc("freeze", "-n", name, lxcpath=lxcpath).returncode == 0
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout.strip() == "FROZEN"
        _stop_kill(lxcpath, name, marker)
    finally:
        lxc("stop", "-k", "-n", name, lxcpath=lxcpath)


def test_stop_kill_ends_processes_outside_a_pid_namespace_of_its_own(lxcpath: Path) -> None:
    # the host's PID namespace: the init's death takes nothing with it; the cgroup must
    name, marker = _start_pair(lxcpath, "lxc.namespace.keep = pid\n")
    try:
        _stop_kill(lxcpath, name, marker)
    finally:
        lxc("stop", "-k", "-n", name, lxcpath=lxcpath)

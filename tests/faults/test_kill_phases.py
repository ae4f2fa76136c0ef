"""SIGKILL the supervisor at every phase of a start; the next command must clean up.

Also SIGINT and SIGTERM to a foreground lxc-execute at each point of a start the test can
see happen (a monitor line, the cgroup made, the init cloned): the test waits for the event,
never for a length of time. Every case runs with a veth network (needs lxcpy.net) and
without any network (no network namespace at all).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.faults._helpers import descendants, kill_tree, network
from tests.faults.hostnet import links
from tests.integration._monitor_helpers import Monitor, states
from tests.integration.helpers import (
    cgroup_key,
    cgroup_leftovers,
    lxc,
    make,
    tool,
    wait_until,
)

pytestmark = pytest.mark.root

PHASES = ["cgroup", "clone", "devices", "mounts", "running", "stopping"]
NETS = ["none", "veth"]


def mounts_mentioning(text: str) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if text in line]


LIMITS = (f"{cgroup_key('pids.max')} = 100\n"  # v1 or v2 keys, from the host's layout
          f"{cgroup_key('memory.limit_in_bytes', 'memory.max')} = 64M\n")


def assert_clean(lxcpath: Path, name: str, links_before: set[str]) -> None:
    r = lxc("state", "-n", name, lxcpath=lxcpath, timeout=10)
    assert r.stdout == "STOPPED\n", r.stderr
    assert cgroup_leftovers(name) == []
    assert wait_until(lambda: links() == links_before, 5), links() ^ links_before
    assert mounts_mentioning(str(lxcpath)) == []
    from lxcpy.paths import ContainerPaths

    paths = ContainerPaths(name, str(lxcpath))
    for leftover in (paths.socket, paths.resources, paths.lock):
        assert not os.path.exists(leftover), leftover


# the devices phase exists only with a network namespace
@pytest.mark.parametrize(("phase", "net"), [(p, n) for p in PHASES for n in NETS
                                            if (p, n) != ("devices", "none")])
def test_sigkill_supervisor_at_phase(lxcpath: Path, probe_rootfs: Path, tmp_path: Path, phase: str,
                                     net: str) -> None:
    with network(net) as keys:
        name = make(lxcpath, keys + LIMITS, prefix="kp", rootfs=probe_rootfs)
        before = links()
        env = {**os.environ, "LXCPY_TEST_KILL_AT": phase}
        argv = [tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", "sh", "-c",
                "sleep 100 & exec sleep 100"]
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            if phase == "stopping":
                assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                                  == "RUNNING\n", 15)
                # the supervisor runs with the kill point armed: stopping it hits it
                lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=20)
            status = proc.wait(30)
        finally:
            kill_tree(proc)
        assert status == -signal.SIGKILL
        # the container's processes died with their supervisor (PDEATHSIG on the init)
        assert wait_until(lambda: cgroup_leftovers(name) == [] or lxc(
            "state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n", 10)
        assert_clean(lxcpath, name, before)
        # and the container works again
        r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath, timeout=30)
        assert r.returncode == 0, r.stderr
        assert_clean(lxcpath, name, before)


def traceback_from_lxcpy(stderr: bytes) -> bool:
    """A traceback through lxcpy's code or launchers. One that only runs through the
    interpreter's own start-up (site, the editable install's .pth finder), before any
    lxcpy code ran, is Python's doing, as a C tool interrupted in its loader would be."""
    if b"Traceback" not in stderr:
        return False
    files = re.findall(rb'File "([^"]+)"', stderr)
    return not files or any(b"/lxcpy/" in f or b"/bin/lxc-" in f for f in files)


def _foreground_signals() -> None:
    # as from an interactive shell: a suite started in the background (`cmd &` in a
    # script) inherits SIGINT ignored, and a process that starts with it ignored keeps it so
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# points of a start the test can see from outside, in the order a start passes them:
# launch: at once (the interpreter is still starting); starting: lxc-monitor has printed
# STARTING; cgroup: the container's cgroup exists; clone: the supervisor has a child (the
# init); running: lxc-monitor has printed RUNNING
POINTS = ["launch", "starting", "cgroup", "clone", "running"]


def reached(point: str, name: str, lxcpath: Path, proc: subprocess.Popen[bytes],
            mon: Monitor | None, sig: int) -> bool:
    """Wait until the start of ``name`` (run by ``proc``) has passed ``point``."""
    if point == "launch":
        return True
    if point == "starting":
        assert mon is not None
        return mon.wait_line(states(name, "STARTING")[0], 15)
    if point == "running":
        # the init installs its forwarders before it announces RUNNING: a signal right
        # after the line must reach the command (it was lost once, 1 run in 6)
        assert mon is not None
        return mon.wait_line(states(name, "RUNNING")[0], 15)
    if point == "cgroup":
        return wait_until(lambda: any("/lxc.payload." in p for p in cgroup_leftovers(name)),
                          15, 0.001)
    return wait_until(lambda: descendants(proc.pid) != [], 15, 0.001)


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("point", POINTS)
def test_signal_to_foreground_execute(lxcpath: Path, probe_rootfs: Path, tmp_path: Path, sig: int,
                                      point: str, net: str) -> None:
    """Ctrl-C / SIGTERM once the start has reached a point: it ends and leaves nothing."""
    with network(net) as keys:
        name = make(lxcpath, keys + LIMITS, prefix="kp", rootfs=probe_rootfs)
        before = links()
        mon = Monitor(lxcpath, delay=False) if point in ("starting", "running") else None
        try:
            proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name,
                                     "--", "sleep", "100"], stdin=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, preexec_fn=_foreground_signals)
            try:
                assert reached(point, name, lxcpath, proc, mon, sig), f"never reached {point}"
                proc.send_signal(sig)
                proc.wait(30)
            finally:
                kill_tree(proc)
        finally:
            if mon is not None:
                mon.stop()
        err = proc.stderr.read()  # type: ignore[union-attr]
        assert not traceback_from_lxcpy(err), err.decode(errors="replace")
        assert_clean(lxcpath, name, before)

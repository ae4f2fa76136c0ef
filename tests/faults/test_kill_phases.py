"""SIGKILL the supervisor at every phase of a start; the next command must clean up.

Also SIGINT and SIGTERM to a foreground lxc-execute at each phase. Every case runs with a
veth network (needs lxcpy.net) and without any network (no network namespace at all).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults._helpers import kill_tree, network
from tests.faults.hostnet import links
from tests.integration.helpers import cgroup_leftovers, lxc, tool, unique, wait_until

pytestmark = pytest.mark.root

PHASES = ["cgroup", "clone", "devices", "mounts", "running", "stopping"]
NETS = ["none", "veth"]


def mounts_mentioning(text: str) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if text in line]


def make(lxcpath: Path, tmp_path: Path, net_keys: str) -> str:
    name = unique("kp")
    conf = tmp_path / "c.conf"
    conf.write_text(f"lxc.uts.name = {name}\n"
                    f"{net_keys}"
                    "lxc.cgroup.pids.max = 100\n"
                    "lxc.cgroup.memory.limit_in_bytes = 64M\n")
    lxc("create", "-n", name, "-f", str(conf), lxcpath=lxcpath, check=True)
    return name


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
def test_sigkill_supervisor_at_phase(lxcpath: Path, tmp_path: Path, phase: str,
                                     net: str) -> None:
    with network(net) as keys:
        name = make(lxcpath, tmp_path, keys)
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


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 1.0])
def test_signal_to_foreground_execute(lxcpath: Path, tmp_path: Path, sig: int,
                                      delay: float, net: str) -> None:
    """Ctrl-C / SIGTERM at some moment of the start: it ends and leaves nothing."""
    with network(net) as keys:
        name = make(lxcpath, tmp_path, keys)
        before = links()
        proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                                 "sleep", "100"], stdin=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, preexec_fn=_foreground_signals)
        time.sleep(delay)
        proc.send_signal(sig)
        try:
            proc.wait(30)
        finally:
            kill_tree(proc)
        err = proc.stderr.read()  # type: ignore[union-attr]
        assert not traceback_from_lxcpy(err), err.decode(errors="replace")
        assert_clean(lxcpath, name, before)

"""SIGKILL the supervisor at every phase of a start; the next command must clean up.

Also SIGINT and SIGTERM to a foreground lxc-execute at each phase.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.hostnet import bridge, links
from tests.integration.helpers import cgroup_leftovers, lxc, tool, unique, wait_until

pytestmark = pytest.mark.root

PHASES = ["cgroup", "clone", "devices", "mounts", "running", "stopping"]


def mounts_mentioning(text: str) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if text in line]


def make(lxcpath: Path, tmp_path: Path, br: str) -> str:
    name = unique("kp")
    conf = tmp_path / "c.conf"
    conf.write_text(f"lxc.uts.name = {name}\n"
                    "lxc.net.0.type = veth\n"
                    f"lxc.net.0.link = {br}\n"
                    "lxc.net.0.flags = up\n"
                    "lxc.net.0.ipv4.address = 10.210.0.2/24\n"
                    "lxc.cgroup.pids.max = 100\n"
                    "lxc.cgroup.memory.limit_in_bytes = 64M\n")
    lxc("create", "-n", name, "-f", str(conf), lxcpath=lxcpath, check=True)
    return name


def assert_clean(lxcpath: Path, name: str, links_before: set[str]) -> None:
    r = lxc("state", "-n", name, lxcpath=lxcpath)
    assert r.stdout == "STOPPED\n", r.stderr
    assert cgroup_leftovers(name) == []
    assert wait_until(lambda: links() == links_before, 5), links() ^ links_before
    assert mounts_mentioning(str(lxcpath)) == []
    from lxcpy.paths import ContainerPaths

    paths = ContainerPaths(name, str(lxcpath))
    for leftover in (paths.socket, paths.resources, paths.lock):
        assert not os.path.exists(leftover), leftover


@pytest.mark.parametrize("phase", PHASES)
def test_sigkill_supervisor_at_phase(lxcpath: Path, tmp_path: Path, phase: str) -> None:
    with bridge() as br:
        name = make(lxcpath, tmp_path, br)
        before = links()
        env = {**os.environ, "LXCPY_TEST_KILL_AT": phase}
        argv = [tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", "sh", "-c",
                "sleep 100 & exec sleep 100"]
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        if phase == "stopping":
            assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                              == "RUNNING\n", 15)
            # the supervisor runs with the kill point armed: stopping the container hits it
            lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
        status = proc.wait(30)
        assert status == -signal.SIGKILL
        assert_clean(lxcpath, name, before)
        # and the container works again
        r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath)
        assert r.returncode == 0, r.stderr
        assert_clean(lxcpath, name, before)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 1.0])
def test_signal_to_foreground_execute(lxcpath: Path, tmp_path: Path, sig: int,
                                      delay: float) -> None:
    """Ctrl-C / SIGTERM at some moment of the start: it ends and leaves nothing."""
    with bridge() as br:
        name = make(lxcpath, tmp_path, br)
        before = links()
        proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                                 "sleep", "100"], stdin=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(sig)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert b"Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
        assert_clean(lxcpath, name, before)

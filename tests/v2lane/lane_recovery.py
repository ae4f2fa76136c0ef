"""A SIGKILLed supervisor on a pure v2 host: the next command removes the container's
cgroup (limits and controllers enabled), and the container starts again."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import cgroup_leftovers, tool, unique, wait_until
from tests.v2lane._lane import SLOW, cgroup, define, flat, run

pytestmark = pytest.mark.root


@pytest.mark.parametrize("phase", ["cgroup", "running"])
def test_sigkilled_supervisor_leaves_no_cgroup(lxcpath: Path, phase: str) -> None:
    name = unique("kp")
    define(lxcpath, name, "lxc.cgroup2.pids.max = 100", "lxc.cgroup2.memory.max = 64M")
    env = {**os.environ, "LXCPY_TEST_KILL_AT": phase}
    argv = [tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
            "sh", "-c", "sleep 1000 & exec sleep 1000"]
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        status = proc.wait(SLOW)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert status == -signal.SIGKILL
    # nothing but the dead supervisor removed anything: its cgroup is still there, and
    # empties (the init dies of PDEATHSIG, the pid namespace with it)
    directory = cgroup(name)
    assert directory.is_dir()
    assert (directory / "memory.max").read_text() == f"{64 << 20}\n"
    assert wait_until(lambda: flat(directory / "cgroup.events")["populated"] == "0", 60)
    # the next command recovers: STOPPED, and the cgroup is gone
    assert run("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
    assert cgroup_leftovers(name) == []
    # and the container starts again with the same limits
    r = run("execute", "-n", name, "--", "cat",
            f"/sys/fs/cgroup/lxc.payload.{name}/pids.max", lxcpath=lxcpath)
    assert (r.returncode, r.stdout) == (0, "100\n"), r.stderr
    assert cgroup_leftovers(name) == []

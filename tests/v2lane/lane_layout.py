"""LXC's cgroup layout on a pure v2 host: the supervisor in ``lxc.monitor.NAME``, the
controllers a config needs (and only those) enabled top-down in the levels above the
container, an ``lxc.cgroup.dir.container.inner`` leaf under the limits, and nothing left
when the container stops."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import cgroup_leftovers, tool, unique, wait_until
from tests.v2lane._lane import ROOT, SLOW, define, read, run

pytestmark = pytest.mark.root


def cgroup_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text().strip().removeprefix("0::")


@pytest.fixture
def tag() -> Iterator[str]:
    name = unique("lay")
    try:
        yield name
    finally:
        top = ROOT / name
        if top.is_dir():
            for path in sorted((p for p in [top, *top.rglob("*")] if p.is_dir()),
                               key=lambda p: len(p.parts), reverse=True):
                try:
                    os.rmdir(path)
                except OSError:
                    pass


def test_monitor_cgroup_and_delegation_of_only_the_needed_controllers(
        lxcpath: Path, tag: str) -> None:
    name = unique("lm")
    define(lxcpath, name, f"lxc.cgroup.dir = {tag}/sub", "lxc.cgroup2.pids.max = 50")
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "1000"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: run("state", "-n", name, lxcpath=lxcpath).stdout
                          == "RUNNING\n", SLOW, 1.0)
        sub = ROOT / tag / "sub"
        assert cgroup_of(proc.pid) == f"/{tag}/sub/lxc.monitor.{name}"
        payload = sub / f"lxc.payload.{name}"
        assert read(payload / "pids.max") == "50"
        # pids (the only controller a key needs) top-down, nothing else; the levels that
        # delegate hold no process: the supervisor sits in its monitor cgroup beside
        for level in (ROOT / tag, sub):
            assert read(level / "cgroup.subtree_control") == "pids", level
            assert read(level / "cgroup.procs") == ""
        assert read(payload / "cgroup.subtree_control") == ""
    finally:
        run("stop", "-n", name, "-k", lxcpath=lxcpath)
        proc.wait(SLOW)
    assert cgroup_leftovers(name, under=f"{tag}/sub") == []
    assert not (ROOT / tag).exists()  # the levels of lxc.cgroup.dir it made, and no pivot


def test_inner_leaf_under_the_limits_is_the_containers_cgroup_namespace(
        lxcpath: Path, tag: str) -> None:
    name = unique("li")
    define(lxcpath, name, f"lxc.cgroup.dir.container = {tag}/c",
           "lxc.cgroup.dir.container.inner = ns", f"lxc.cgroup.dir.monitor = {tag}/m",
           "lxc.cgroup2.memory.max = 64M")
    run("execute", "-n", name, "-d", "--", "sleep", "1000", lxcpath=lxcpath, check=True)
    try:
        limit, leaf = ROOT / tag / "c", ROOT / tag / "c" / "ns"
        pid = int(run("info", "-n", name, "-pH", lxcpath=lxcpath).stdout)
        assert cgroup_of(pid) == f"/{tag}/c/ns"
        # the limit sits above the container's own cgroup, out of its reach
        assert read(limit / "memory.max") == str(64 << 20)
        assert not (leaf / "memory.max").exists()  # memory is not enabled below the limit
        assert read(ROOT / tag / "cgroup.subtree_control") == "memory"
        # the cgroup namespace is rooted at the leaf, and lxc-attach joins the leaf
        r = run("attach", "-n", name, "--", "cat", "/proc/self/cgroup", lxcpath=lxcpath)
        assert (r.returncode, r.stdout) == (0, "0::/\n"), r.stderr
    finally:
        run("stop", "-n", name, "-k", lxcpath=lxcpath)
    assert not (ROOT / tag / "c").exists() and not (ROOT / tag / "m").exists()

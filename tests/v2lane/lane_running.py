"""One running container on a pure v2 host, checked through the commands a user types and
on the host's cgroup files: limits read back, lxc-cgroup get/set, lxc-info usage lines,
lxc-attach joining the cgroup, freeze/thaw through cgroup.freeze, kill through cgroup.kill.

The tests share one container (a start costs ~25 s under emulation) and run in file order;
the last one kills it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.helpers import (
    cgroup_leftovers,
    pid_alive,
    tool,
    unique,
    wait_until,
)
from tests.v2lane._lane import SLOW, cgroup, clean, define, flat, one_line, read, run

pytestmark = pytest.mark.root

SETTINGS = {  # key -> what the kernel reads back
    "cpu.max": ("50000 100000", "50000 100000"),
    "cpu.weight": ("50", "50"),
    "cpuset.cpus": ("0", "0"),
    "io.weight": ("200", "default 200"),
    "memory.high": ("100M", str(100 << 20)),
    "pids.max": ("50", "50"),
}


@dataclass
class Box:
    name: str
    lxcpath: Path
    dir: Path


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    base = tmp_path_factory.mktemp("running")
    lxcpath = base / "lxc"
    lxcpath.mkdir()
    name = unique("run")
    define(lxcpath, name, *(f"lxc.cgroup2.{k} = {v}" for k, (v, _) in SETTINGS.items()))
    try:
        run("execute", "-n", name, "-d", "--", "sh", "-c",
            "sleep 1000 & sleep 1000 & exec sleep 1000", lxcpath=lxcpath, check=True)
        box = Box(name, lxcpath, cgroup(name))
        # the shell may not have forked its sleeps yet when -d returns
        assert wait_until(lambda: len(procs(box)) == 4, 60), procs(box)
        yield box
    finally:
        clean(lxcpath)
    assert cgroup_leftovers(name) == []


def procs(box: Box) -> list[int]:
    return [int(p) for p in read(box.dir / "cgroup.procs").split()]


def test_limits_read_back_from_the_containers_cgroup(box: Box) -> None:
    for key, (_, want) in SETTINGS.items():
        assert read(box.dir / key) == want, key
    # controllers were enabled top-down for what the config needs
    enabled = set(read(box.dir.parent / "cgroup.subtree_control").split())
    assert {"cpu", "cpuset", "io", "memory", "pids"} <= enabled
    assert read(box.dir / "cpuset.cpus.effective") == "0"
    # init, the shell's two sleeps and the exec'd sleep: all in the one cgroup
    assert len(procs(box)) == 4, procs(box)
    for pid in procs(box):
        assert Path(f"/proc/{pid}/cgroup").read_text() == f"0::/lxc.payload.{box.name}\n"


def test_lxc_cgroup_get_and_set(box: Box) -> None:
    r = run("cgroup", "-n", box.name, "cpu.max", lxcpath=box.lxcpath)
    assert r.stdout == "50000 100000\n", r.stderr
    assert run("cgroup", "-n", box.name, "cpu.max", "20000 100000",
               lxcpath=box.lxcpath).returncode == 0
    assert read(box.dir / "cpu.max") == "20000 100000"
    assert run("cgroup", "-n", box.name, "pids.max", "40", lxcpath=box.lxcpath).returncode == 0
    assert read(box.dir / "pids.max") == "40"
    # a controller the config did not need is not enabled: one clear line
    r = run("cgroup", "-n", box.name, "hugetlb.2MB.max", lxcpath=box.lxcpath)
    assert r.returncode != 0 and one_line(r.stderr), r.stderr
    assert "hugetlb" in r.stderr and "not enabled" in r.stderr
    r = run("cgroup", "-n", box.name, "pids.max", "lots", lxcpath=box.lxcpath)
    assert r.returncode != 0 and one_line(r.stderr), r.stderr
    assert read(box.dir / "pids.max") == "40"


def test_lxc_info_usage_lines(box: Box) -> None:
    r = run("info", "-n", box.name, lxcpath=box.lxcpath)
    assert r.returncode == 0, r.stderr
    info = dict(line.split(":", 1) for line in r.stdout.splitlines())
    assert info["State"].strip() == "RUNNING"
    for label in ("CPU use", "Memory use", "BlkIO use"):
        assert label in info, r.stdout
    # what lxc-info reports is this cgroup's memory.current (MiB, as LXC prints it)
    value, unit = info["Memory use"].split()
    assert unit in ("KiB", "MiB") and float(value) > 0
    assert int(info["PID"]) in procs(box)


def test_lxc_attach_joins_the_cgroup(box: Box) -> None:
    before = set(procs(box))
    argv = [tool("lxc-attach"), "-P", str(box.lxcpath), "-n", box.name, "--", "sh", "-c",
            "cat /proc/self/cgroup; nproc; exec sleep 1000"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        # inside: the cgroup namespace's root is the container's cgroup; cpuset.cpus = 0
        assert proc.stdout.readline() == "0::/\n"
        assert proc.stdout.readline() == "1\n"
        # host side: the attached program is in the container's cgroup
        assert wait_until(lambda: any(_cmdline(p) == "sleep 1000 " and p not in before
                                      for p in procs(box)), 30)
        joined = [p for p in procs(box) if p not in before]
        assert joined and all(
            Path(f"/proc/{p}/cgroup").read_text() == f"0::/lxc.payload.{box.name}\n"
            for p in joined)
        for pid in joined:
            if _cmdline(pid) == "sleep 1000 ":
                os.kill(pid, signal.SIGKILL)
        proc.wait(SLOW)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_until(lambda: set(procs(box)) == before, 30)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def test_freeze_and_thaw_through_cgroup_freeze(box: Box) -> None:
    assert run("freeze", "-n", box.name, lxcpath=box.lxcpath).returncode == 0
    assert read(box.dir / "cgroup.freeze") == "1"
    assert flat(box.dir / "cgroup.events")["frozen"] == "1"
    assert run("state", "-n", box.name, lxcpath=box.lxcpath).stdout == "FROZEN\n"
    assert run("unfreeze", "-n", box.name, lxcpath=box.lxcpath).returncode == 0
    assert read(box.dir / "cgroup.freeze") == "0"
    assert flat(box.dir / "cgroup.events")["frozen"] == "0"
    assert run("state", "-n", box.name, lxcpath=box.lxcpath).stdout == "RUNNING\n"


def test_freeze_thaw_timing(box: Box) -> None:
    """Issue 13 item 4: freeze + thaw on the v2 driver (the library, no process start),
    as lxcpy's own phases; guest.sh copies the V2LANE-BENCH line into the lane summary."""
    from lxcpy.cgroups import manager_for

    mgr = manager_for(box.name)
    assert mgr.version == 2
    times = []
    for _ in range(5):
        start = time.perf_counter()
        mgr.freeze()
        mid = time.perf_counter()
        mgr.thaw()
        times.append((mid - start, time.perf_counter() - mid))
    freeze = sorted(t[0] for t in times)[2] * 1000
    thaw = sorted(t[1] for t in times)[2] * 1000
    print(f"\nV2LANE-BENCH freeze {freeze:.1f} ms, thaw {thaw:.1f} ms (median of 5, TCG)")
    assert flat(box.dir / "cgroup.events")["frozen"] == "0"


def test_stop_kills_everything_through_cgroup_kill(box: Box) -> None:
    pids = procs(box)
    assert len(pids) == 4
    r = run("stop", "-n", box.name, "-k", lxcpath=box.lxcpath)
    assert r.returncode == 0, r.stderr
    assert not any(pid_alive(p) for p in pids)
    assert run("state", "-n", box.name, lxcpath=box.lxcpath).stdout == "STOPPED\n"
    assert not box.dir.exists()

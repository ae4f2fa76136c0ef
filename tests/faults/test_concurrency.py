"""Races on one name: parallel starts and creates, destroy during a start, dead lock holders."""

from __future__ import annotations

import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults._helpers import (
    assert_one_line_error,
    descendants,
    kill_pids,
    kill_tree,
    tree,
)
from tests.integration.helpers import (
    cgroup_key,
    cgroup_leftovers,
    lxc,
    make,
    tool,
    unique,
    wait_until,
)

pytestmark = pytest.mark.root

N = 10


def state(lxcpath: Path, name: str) -> str:
    return lxc("state", "-n", name, lxcpath=lxcpath, timeout=10).stdout.strip()


def test_parallel_execute_of_one_name(lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    """Ten lxc-execute of one name: exactly one runs, the others say it is already running."""
    name = make(lxcpath, prefix="px", rootfs=probe_rootfs)
    argv = [tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", "sleep", "5"]
    procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(N)]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=30)
            results.append((proc.returncode, err))
    finally:
        for proc in procs:
            kill_tree(proc)
    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    assert len(winners) == 1, results
    for _code, err in losers:
        assert "is already running" in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert state(lxcpath, name) == "STOPPED"
    assert cgroup_leftovers(name) == []


def test_losers_do_not_disturb_the_running_one(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    """A refused start must not tear down (cgroup, socket) what the running one uses."""
    name = make(lxcpath, prefix="pd", rootfs=probe_rootfs)
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "30"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: state(lxcpath, name) == "RUNNING", 15)
        cgroups = cgroup_leftovers(name)
        with ThreadPoolExecutor(N) as pool:
            rs = list(pool.map(lambda _: lxc("execute", "-n", name, "--", "true",
                                             lxcpath=lxcpath, timeout=30), range(N)))
        for r in rs:
            assert "is already running" in assert_one_line_error(r)
        assert state(lxcpath, name) == "RUNNING"
        assert cgroup_leftovers(name) == cgroups
        assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=20).returncode == 0
        assert proc.wait(20) != 0
    finally:
        kill_tree(proc)
    assert cgroup_leftovers(name) == []


def test_parallel_create_of_one_name(lxcpath: Path, tmp_path: Path) -> None:
    name = unique("pc")
    confs = []
    for i in range(N):
        conf = tmp_path / f"c{i}.conf"
        conf.write_text(f"lxc.uts.name = host{i}\n")
        confs.append(conf)
    argv = [[tool("lxc-create"), "-P", str(lxcpath), "-n", name, "-f", str(c)] for c in confs]
    procs = [subprocess.Popen(a, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for a in argv]
    results = []
    try:
        for proc in procs:
            _out, err = proc.communicate(timeout=30)
            results.append((proc.returncode, err))
    finally:
        for proc in procs:
            kill_tree(proc)
    winners = [i for i, r in enumerate(results) if r[0] == 0]
    assert len(winners) == 1, results
    for code, err in results:
        if code != 0:
            assert "already exists" in err, err
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    # the stored config is the winner's, whole
    assert (lxcpath / name / "config").read_text() == f"lxc.uts.name = host{winners[0]}\n"
    assert tree(lxcpath) == [f"d {name}", f"f {name}/config"]


def test_destroy_during_a_start_is_refused(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    """A pre-start hook holds the start in STARTING: lxc-destroy must refuse, not remove
    (nor wait for the start: the hook holds it until the test releases it)."""
    gate, release = tmp_path / "gate", tmp_path / "release"
    hook = f"touch {gate}; while [ ! -e {release} ]; do sleep 0.05; done"
    name = make(lxcpath, f"lxc.hook.pre-start = sh -c '{hook}'\n", prefix="ds", rootfs=probe_rootfs)
    listing = tree(lxcpath)
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "1"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until(gate.exists, 15)
        # the start is held in STARTING for as long as this takes: a destroy that waited
        # for it would never return (the run's timeout)
        r = lxc("destroy", "-n", name, lxcpath=lxcpath, timeout=20)
        line = assert_one_line_error(r, "destroy during start")
        assert "running" in line, line
        assert tree(lxcpath) == listing
        release.touch()
        assert proc.wait(30) == 0, proc.stderr.read()  # type: ignore[union-attr]
    finally:
        release.touch()  # the hook's loop ends (it is no child we could kill by PID here)
        kill_tree(proc)
    # once stopped it can go
    assert lxc("destroy", "-n", name, lxcpath=lxcpath, timeout=10).returncode == 0
    assert tree(lxcpath) == []


def test_destroy_while_running_is_refused_and_force_works(lxcpath: Path, probe_rootfs: Path,
                                                         tmp_path: Path) -> None:
    name = make(lxcpath, prefix="dr", rootfs=probe_rootfs)
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "60"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: state(lxcpath, name) == "RUNNING", 15)
        r = lxc("destroy", "-n", name, lxcpath=lxcpath, timeout=10)
        assert "running" in assert_one_line_error(r)
        assert (lxcpath / name / "config").exists()
        r = lxc("destroy", "-n", name, "-f", lxcpath=lxcpath, timeout=30)
        assert r.returncode == 0, r.stderr
        assert proc.wait(20) != 0
    finally:
        kill_tree(proc)
    assert not (lxcpath / name).exists()
    assert cgroup_leftovers(name) == []


# every command, after its container's supervisor was SIGKILLed: answers within seconds
AFTER_DEATH = [
    ("state",), ("info",), ("stop",), ("stop", "-k"), ("freeze",), ("unfreeze",),
    ("kill", "TERM"), ("cgroup", "pids.max"), ("attach", "--", "true"),
    ("wait", "-s", "STOPPED", "-t", "5"), ("ls",), ("ps",), ("console",),
    ("execute", "--", "true"), ("create",), ("destroy",),
]


@pytest.mark.parametrize("moment", ["starting", "running"])
def test_no_command_hangs_after_the_holder_died(lxcpath: Path, probe_rootfs: Path, tmp_path: Path,
                                                moment: str) -> None:
    gate = tmp_path / "gate"
    # the hook holds only the first start in STARTING
    hook = (f"lxc.hook.pre-start = sh -c 'test -e {gate} || {{ touch {gate}; sleep 60; }}'\n"
            if moment == "starting" else "")
    name = make(lxcpath, hook + f"{cgroup_key('pids.max')} = 20\n", prefix="hd",
                rootfs=probe_rootfs)
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "100"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    hook_pids: list[int] = []
    try:
        if moment == "starting":
            assert wait_until(gate.exists, 15)
        else:
            assert wait_until(lambda: state(lxcpath, name) == "RUNNING", 15)
        # a host hook (children of the supervisor) outlives it: ours to end, by PID
        hook_pids = descendants(proc.pid) if moment == "starting" else []
        os.kill(proc.pid, signal.SIGKILL)  # the supervisor is the lxc-execute process
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        kill_tree(proc)
    kill_pids(hook_pids)
    for args in AFTER_DEATH:
        cmd, *rest = args
        extra = ["-f", str(tmp_path / f"{name}.conf")] if cmd == "create" else []
        # a command that waited for the dead holder would hang: the run's timeout ends it
        r = lxc(cmd, "-n", name, *extra, *rest, lxcpath=lxcpath, timeout=20)
        assert "Traceback" not in r.stderr, (args, r.stderr)
        if cmd in ("state",):
            assert r.stdout == "STOPPED\n"
        elif cmd in ("info", "ls", "ps", "wait", "execute", "destroy"):
            assert r.returncode == 0, (args, r.stderr)
        elif cmd == "unfreeze":  # of a stopped container: 0 and silent, as C LXC 5.0.2
            assert (r.returncode, r.stderr) == (0, ""), (args, r.stderr)
        else:
            assert_one_line_error(r, " ".join(args))
    assert cgroup_leftovers(name) == []

"""Cgroup names are unique per container, not per name: two lxcpaths may hold containers
of the same name, and the recovery after one's supervisor was SIGKILLed acts only on the
cgroups its own record names — never on the other container's (issue 12).

Like LXC, a start whose ``lxc.payload.NAME`` already exists (another container's, or a
dead supervisor's leftover its owner has not recovered yet) takes ``lxc.payload.NAME-1``,
``-2``, ... and records the path it made.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lxcpy.cgroups.fs import tree_pids
from lxcpy.paths import ContainerPaths
from lxcpy.runtime.resources import Resources
from tests.integration.helpers import (
    cgroup_key,
    cgroup_leftovers,
    cleanup_lxcpath,
    init_pid,
    lxc,
    make,
    tool,
    unique,
    wait_until,
)

pytestmark = pytest.mark.root
PIDS_50 = f"{cgroup_key('pids.max')} = 50\n"  # v1 or v2 key, from the host's layout


@pytest.fixture
def two_lxcpaths(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    try:
        yield first, second
    finally:
        cleanup_lxcpath(first)
        cleanup_lxcpath(second)


def recorded_paths(lxcpath: Path, name: str) -> list[str]:
    res = Resources.load(ContainerPaths(name, str(lxcpath)))
    assert res is not None
    return res.cgroup_paths


def start_foreground(lxcpath: Path, name: str,
                     env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``lxc-execute`` in the foreground: that process is the supervisor."""
    return subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "1000"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def leaf_names(paths: list[str]) -> set[str]:
    return {os.path.basename(p) for p in paths}


def test_recovery_after_a_killed_supervisor_spares_a_namesake_started_later(
        two_lxcpaths: tuple[Path, Path], probe_rootfs: Path) -> None:
    first, second = two_lxcpaths
    name = unique("cn")
    make(first, PIDS_50, name=name, rootfs=probe_rootfs)
    make(second, PIDS_50, name=name, rootfs=probe_rootfs)
    victim = start_foreground(first, name, {**os.environ, "LXCPY_TEST_KILL_AT": "running"})
    assert victim.wait(30) == -signal.SIGKILL
    dead = recorded_paths(first, name)
    assert dead
    # its init died with the supervisor (PDEATHSIG); its cgroups stay until recovered
    assert wait_until(lambda: tree_pids(dead) == [], 10)
    assert all(os.path.isdir(p) for p in dead)

    lxc("execute", "-n", name, "-d", "--", "sleep", "1000", lxcpath=second, check=True)
    survivor = init_pid(second, name)
    procs = tree_pids(recorded_paths(second, name))
    assert survivor in procs
    assert leaf_names(recorded_paths(second, name)) == {f"lxc.payload.{name}-1"}

    # a plain lxc-info on the dead one recovers it ...
    r = lxc("info", "-n", name, lxcpath=first)
    assert r.returncode == 0 and "STOPPED" in r.stdout, r.stderr
    assert not any(os.path.exists(p) for p in dead)
    # ... and never touches its namesake
    assert lxc("state", "-n", name, lxcpath=second).stdout == "RUNNING\n"
    assert all(os.path.exists(f"/proc/{pid}") for pid in procs)
    assert tree_pids(recorded_paths(second, name)) == procs

    lxc("stop", "-n", name, "-k", lxcpath=second, check=True)
    assert cgroup_leftovers(name) == []


def test_namesakes_run_side_by_side_and_a_killed_one_is_recovered_alone(
        two_lxcpaths: tuple[Path, Path], probe_rootfs: Path) -> None:
    first, second = two_lxcpaths
    name = unique("cn")
    make(first, PIDS_50, name=name, rootfs=probe_rootfs)
    make(second, PIDS_50, name=name, rootfs=probe_rootfs)
    one = start_foreground(first, name)
    try:
        assert wait_until(lambda: lxc("state", "-n", name, lxcpath=first).stdout
                          == "RUNNING\n", 15)
        lxc("execute", "-n", name, "-d", "--", "sleep", "1000", lxcpath=second, check=True)
        assert lxc("state", "-n", name, lxcpath=second).stdout == "RUNNING\n"
        mine, theirs = recorded_paths(first, name), recorded_paths(second, name)
        assert leaf_names(mine) == {f"lxc.payload.{name}"}
        assert leaf_names(theirs) == {f"lxc.payload.{name}-1"}
        procs = tree_pids(theirs)
        assert procs
        one.kill()  # SIGKILL the first supervisor (we started it)
        assert one.wait(10) == -signal.SIGKILL
    finally:
        if one.poll() is None:
            one.kill()
            one.wait(10)
    assert lxc("info", "-n", name, "-s", lxcpath=first).stdout.split()[-1] == "STOPPED"
    assert not any(os.path.exists(p) for p in mine)
    assert lxc("state", "-n", name, lxcpath=second).stdout == "RUNNING\n"
    assert tree_pids(theirs) == procs

    # the second's own stop removes only its own cgroup; the first starts again unsuffixed
    lxc("stop", "-n", name, "-k", lxcpath=second, check=True)
    assert cgroup_leftovers(name) == []
    r = lxc("execute", "-n", name, "--", "true", lxcpath=first)
    assert r.returncode == 0, r.stderr
    assert cgroup_leftovers(name) == []


def test_recovery_leaves_a_recorded_path_that_became_another_containers(
        tmp_path: Path) -> None:
    """The record keeps each cgroup's inode: if the dead container's cgroup was removed by
    someone else and a namesake then got the free name, recovery leaves that one alone."""
    from lxcpy.cgroups import manager_for
    from lxcpy.paths import ensure_rundir
    from lxcpy.runtime.resources import release
    from tests.integration.helpers import remove_rundir

    name = unique("cn")
    lxcpath = tmp_path / "lxc"
    lxcpath.mkdir()
    ensure_rundir(str(lxcpath))
    paths = ContainerPaths(name, str(lxcpath))
    dead = manager_for(name)
    later = manager_for(name)
    sleeper = None
    try:
        dead.create()
        Resources(cgroup_paths=dead.paths()).save(paths)
        for path in reversed(dead.paths()):  # an admin's rmdir, not the owner's recovery
            os.rmdir(path)
        later.create()
        assert later.paths() == dead.paths()  # the free name again, a new directory
        sleeper = subprocess.Popen(["sleep", "1000"], preexec_fn=lambda: later.attach(
            os.getpid()))
        assert later.procs() == [sleeper.pid]
        release(paths, Resources.load(paths))
        assert sleeper.poll() is None and later.procs() == [sleeper.pid]
        assert not os.path.exists(paths.resources)
    finally:
        later.destroy()
        dead.destroy()
        if sleeper is not None:
            sleeper.kill()
            sleeper.wait(10)
        remove_rundir(lxcpath)
    assert cgroup_leftovers(name) == []

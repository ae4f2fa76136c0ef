"""LXC's cgroup layout (cgfsng.c), on the real kernel, in every mounted hierarchy:

* the supervisor moves into ``lxc.monitor.NAME`` before the container's
  ``lxc.payload.NAME`` is made, and leaves it (removed) when it ends; a SIGKILLed
  supervisor's monitor cgroup goes with the recovery;
* ``lxc.cgroup.dir`` prefixes both; ``lxc.cgroup.dir.container`` / ``.monitor`` name them
  exactly (never suffixed: a second start on a taken path is refused), ``.container.inner``
  is the init's leaf below the limits; ``lxc.cgroup.dir.monitor.pivot`` is where the
  supervisor goes at its end;
* ``lxc.cgroup.relative`` puts everything below the cgroup lxcpy was started in.

Keys are the host driver's (``cgroup_key``), so this runs on v1/hybrid and on v2 hosts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lxcpy.paths import ContainerPaths
from lxcpy.runtime.resources import Resources
from tests.integration.helpers import (
    cgroup_key,
    cgroup_leftovers,
    cgroup_mounts,
    cgroup_version,
    cleanup_lxcpath,
    init_pid,
    lxc,
    make,
    tool,
    unique,
    wait_until,
)

pytestmark = pytest.mark.root
PIDS = cgroup_key("pids.max")


def cgroup_lines(pid: int) -> dict[str, str]:
    """/proc/PID/cgroup as hierarchy -> path (cgroup2's under "")."""
    found = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        found[controllers] = path
    return found


def hierarchies() -> list[str]:
    """The hierarchies of this host as /proc/self/cgroup names them (lines that have a
    mounted hierarchy: a v1 line whose controllers are mounted, and cgroup2's)."""
    mounted = {p.name for p in cgroup_mounts()}
    names = []
    for controllers in cgroup_lines(os.getpid()):
        if controllers == "":
            names.append(controllers)
        elif any(c.removeprefix("name=") in mounted for c in controllers.split(",")):
            names.append(controllers)
    return names


def in_every_hierarchy(pid: int, path: str) -> bool:
    lines = cgroup_lines(pid)
    return all(lines.get(h) == path for h in hierarchies())


def start_foreground(lxcpath: Path, name: str, env: dict[str, str] | None = None,
                     preexec: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    """``lxc-execute`` in the foreground: that process is the supervisor."""
    return subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "1000"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=preexec)


def running(lxcpath: Path, name: str) -> bool:
    return lxc("state", "-n", name, lxcpath=lxcpath).stdout == "RUNNING\n"


def stop(lxcpath: Path, name: str, proc: subprocess.Popen[bytes]) -> None:
    r = lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        # (seen once under load: say what lxc-stop said and where the supervisor waits)
        tasks = Path(f"/proc/{proc.pid}/task")
        where = {t.name: (t / "wchan").read_text() for t in tasks.iterdir()} \
            if tasks.exists() else {}
        state = lxc("state", "-n", name, lxcpath=lxcpath)
        proc.kill()
        proc.wait()
        raise AssertionError(f"lxc-execute did not end after lxc-stop -k (exit "
                             f"{r.returncode}, {r.stderr!r}); state {state.stdout!r} "
                             f"{state.stderr!r}; its threads wait in {where}") from None


def paths_below(tag: str) -> list[str]:
    """Every cgroup directory at or below ``tag`` in any hierarchy."""
    found = []
    for mount in cgroup_mounts():
        top = mount / tag
        if top.is_dir():
            found += [str(top)] + sorted(str(p) for p in top.rglob("*") if p.is_dir())
    return found


@pytest.fixture
def tag() -> Iterator[str]:
    """A top-level cgroup name for one test; whatever is left below it is removed after
    (deepest first; by then empty), so a failing test leaves nothing either."""
    name = unique("h14lay")
    try:
        yield name
    finally:
        for path in sorted(paths_below(name), key=lambda p: p.count("/"), reverse=True):
            try:
                os.rmdir(path)
            except OSError:
                pass


def test_the_supervisor_sits_in_its_monitor_cgroup_and_removes_it(
        lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, f"{PIDS} = 50\n", prefix="lay", rootfs=probe_rootfs)
    before = cgroup_lines(os.getpid())
    proc = start_foreground(lxcpath, name)
    try:
        assert wait_until(lambda: running(lxcpath, name), 30), proc.stderr
        # LXC's layout: the monitor apart from the payload, both at the top
        assert in_every_hierarchy(proc.pid, f"/lxc.monitor.{name}")
        assert in_every_hierarchy(init_pid(lxcpath, name), f"/lxc.payload.{name}")
        res = Resources.load(ContainerPaths(name, str(lxcpath)))
        assert res is not None and [os.path.basename(p) for p in res.monitor_paths] \
            == [f"lxc.monitor.{name}"] * len(hierarchies())
        assert all(res.cgroup_ids and p in res.cgroup_ids for p in res.monitor_paths)
    finally:
        stop(lxcpath, name, proc)
    assert cgroup_leftovers(name) == []
    assert cgroup_lines(os.getpid()) == before


def test_a_killed_supervisors_monitor_cgroup_goes_with_the_recovery(
        lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, f"{PIDS} = 50\n", prefix="lay", rootfs=probe_rootfs)
    victim = start_foreground(lxcpath, name, {**os.environ, "LXCPY_TEST_KILL_AT": "running"})
    assert victim.wait(30) == -signal.SIGKILL
    res = Resources.load(ContainerPaths(name, str(lxcpath)))
    assert res is not None and res.monitor_paths
    assert all(os.path.isdir(p) for p in res.monitor_paths)  # left by the SIGKILL
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"  # recovers
    assert cgroup_leftovers(name) == []


def test_cgroup_dir_prefixes_payload_and_monitor_and_nothing_stays(
        lxcpath: Path, probe_rootfs: Path, tag: str) -> None:
    name = make(lxcpath, f"lxc.cgroup.dir = {tag}/sub\n{PIDS} = 50\n", prefix="lay",
                rootfs=probe_rootfs)
    proc = start_foreground(lxcpath, name)
    try:
        assert wait_until(lambda: running(lxcpath, name), 30), proc.stderr
        assert in_every_hierarchy(proc.pid, f"/{tag}/sub/lxc.monitor.{name}")
        assert in_every_hierarchy(init_pid(lxcpath, name), f"/{tag}/sub/lxc.payload.{name}")
    finally:
        stop(lxcpath, name, proc)
    # the supervisor went back where it came from: no lxc.pivot, no level of the prefix
    assert paths_below(tag) == []


def test_exact_container_and_monitor_dirs_with_an_inner_leaf(
        lxcpath: Path, probe_rootfs: Path, tag: str) -> None:
    keys = (f"lxc.cgroup.dir.container = {tag}/c\nlxc.cgroup.dir.container.inner = ns\n"
            f"lxc.cgroup.dir.monitor = {tag}/m\n{PIDS} = 7\n")
    name = make(lxcpath, keys, prefix="lay", rootfs=probe_rootfs)
    proc = start_foreground(lxcpath, name)
    try:
        assert wait_until(lambda: running(lxcpath, name), 30), proc.stderr
        assert in_every_hierarchy(proc.pid, f"/{tag}/m")
        assert in_every_hierarchy(init_pid(lxcpath, name), f"/{tag}/c/ns")
        # the limit is on the cgroup above the init's leaf, out of the container's reach
        pids_root = next(m for m in cgroup_mounts()
                         if (m / tag / "c" / "pids.max").exists())
        assert (pids_root / tag / "c" / "pids.max").read_text() == "7\n"
        inner = pids_root / tag / "c" / "ns" / "pids.max"
        if cgroup_version() == 1:  # v1: every cgroup of the hierarchy has the file
            assert inner.read_text() == "max\n"
        else:  # v2: pids is not enabled below c
            assert not inner.exists()

        # the path is used as written: a second container there is refused, one line
        other = make(lxcpath, keys, prefix="lay", rootfs=probe_rootfs)
        r = lxc("execute", "-n", other, "--", "true", lxcpath=lxcpath)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert f"{tag}/" in r.stderr and "exists already" in r.stderr
        assert running(lxcpath, name)
        assert in_every_hierarchy(init_pid(lxcpath, name), f"/{tag}/c/ns")
        # the init's cgroup namespace is rooted at its leaf: inside, every line reads "/"
        r = lxc("attach", "-n", name, "--", "cat", "/proc/self/cgroup", lxcpath=lxcpath)
        assert r.returncode == 0 and r.stdout, r.stderr
        assert {line.split(":", 2)[2] for line in r.stdout.splitlines()} == {"/"}, r.stdout
    finally:
        stop(lxcpath, name, proc)
    assert paths_below(tag) == []  # the levels the starts made went with them


def test_an_unprivileged_containers_root_gets_its_leaf_never_the_limits(tag: str) -> None:
    """lxc.idmap with an inner leaf: the mapped root owns the leaf and the files that move
    processes and delegate controllers there (LXC's chown_cgroup_wrapper, the kernel's
    /sys/kernel/cgroup/delegate list), while the limit cgroup above it, and the
    supervisor's monitor cgroup, stay the host root's."""
    host_root = 100000
    base = Path(tempfile.mkdtemp(prefix="lxcpy-layout-", dir="/tmp"))  # walkable by 100000
    base.chmod(0o711)
    lxcpath = base / "lxc"
    lxcpath.mkdir(mode=0o711)
    keys = ("lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n"
            f"lxc.cgroup.dir.container = {tag}/c\nlxc.cgroup.dir.container.inner = ns\n"
            f"lxc.cgroup.dir.monitor = {tag}/m\n{PIDS} = 30\n")
    try:
        name = make(lxcpath, keys, template="busybox", prefix="lay")
        lxc("start", "-n", name, "-d", lxcpath=lxcpath, check=True)
        lxc("wait", "-n", name, "-s", "RUNNING", "-t", "20", lxcpath=lxcpath, check=True)
        assert in_every_hierarchy(init_pid(lxcpath, name), f"/{tag}/c/ns")
        delegate = Path("/sys/kernel/cgroup/delegate")
        files = {"cgroup.procs", *(delegate.read_text().split() if delegate.exists() else [])}
        for mount in cgroup_mounts():
            leaf, limit, monitor = mount / tag / "c" / "ns", mount / tag / "c", mount / tag / "m"
            assert leaf.stat().st_uid == host_root, leaf
            for name_ in files:
                if (leaf / name_).exists():
                    assert (leaf / name_).stat().st_uid == host_root, leaf / name_
            for path in (limit, monitor, *limit.glob("pids.*"), limit / "cgroup.procs"):
                if path.exists():
                    assert path.stat().st_uid == 0, path  # out of the container's reach
    finally:
        cleanup_lxcpath(lxcpath)
        shutil.rmtree(base, ignore_errors=True)
    assert paths_below(tag) == []


def test_the_pivot_key_is_where_the_supervisor_goes_at_its_end(lxcpath: Path, probe_rootfs: Path,
                                                               tag: str) -> None:
    keys = (f"lxc.cgroup.dir.container = {tag}/c\nlxc.cgroup.dir.monitor = {tag}/m\n"
            f"lxc.cgroup.dir.monitor.pivot = {tag}/p\n")
    name = make(lxcpath, keys, prefix="lay", rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    left = {os.path.relpath(p, m) for m in map(str, cgroup_mounts())
            for p in paths_below(tag) if p.startswith(m + "/")}
    assert left == {tag, f"{tag}/p", f"{tag}/p/lxc.pivot"}  # LXC's pivot, and only it


@pytest.mark.parametrize("keys, key", [
    ("lxc.cgroup.dir = d\nlxc.cgroup.dir.container = c\nlxc.cgroup.dir.monitor = m\n",
     "lxc.cgroup.dir.container"),
    ("lxc.cgroup.dir.container = c\n", "lxc.cgroup.dir.container"),
])
def test_conflicting_dir_keys_are_refused_before_anything_is_made(
        lxcpath: Path, probe_rootfs: Path, keys: str, key: str) -> None:
    name = make(lxcpath, keys, prefix="lay", rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "config:" in r.stderr and key in r.stderr
    assert cgroup_leftovers(name) == []


def test_relative_puts_every_cgroup_below_the_callers_own(
        lxcpath: Path, probe_rootfs: Path, tag: str) -> None:
    # the caller (the supervisor-to-be) starts in TAG in every hierarchy
    made = []
    for mount in cgroup_mounts():
        made.append(mount / tag)
        (mount / tag).mkdir()
        for name in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset takes no task without
            if (mount / name).exists() and (mount / tag / name).exists():
                (mount / tag / name).write_text((mount / name).read_text())

    def enter() -> None:
        for directory in made:
            (directory / "cgroup.procs").write_text("0")

    name = make(lxcpath, f"lxc.cgroup.relative = 1\n{PIDS} = 50\n", prefix="lay",
                rootfs=probe_rootfs)
    proc = start_foreground(lxcpath, name, preexec=enter)
    try:
        assert wait_until(lambda: running(lxcpath, name), 30), proc.stderr
        assert in_every_hierarchy(proc.pid, f"/{tag}/lxc.monitor.{name}")
        assert in_every_hierarchy(init_pid(lxcpath, name), f"/{tag}/lxc.payload.{name}")
        assert cgroup_leftovers(name) == []  # nothing at the top
        assert cgroup_leftovers(name, under=tag)
    finally:
        stop(lxcpath, name, proc)
    assert cgroup_leftovers(name, under=tag) == []
    assert sorted(paths_below(tag)) == sorted(map(str, made))  # back in TAG, now empty


def test_the_host_driver_is_the_layout_the_keys_are_picked_for() -> None:
    # the helper the driver-neutral tests use agrees with lxcpy's own detection
    from lxcpy.cgroups import detect

    assert cgroup_version() == (2 if detect().kind == "unified" else 1) \
        or os.environ.get("LXCPY_CGROUP_DRIVER") in ("v1", "v2")

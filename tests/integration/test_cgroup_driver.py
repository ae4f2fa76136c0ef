"""The cgroup drivers against the real kernel (root; no mocks).

Both drivers run on this host: "v1" and, forced, "v2" (on a hybrid host the cgroup2
mount has no controllers, so only freeze/kill/attach/procs are tested there). Every test
uses a fresh ``lxcpytest-<random>`` name, and the ``cgroups`` fixture destroys whatever
a test made and then checks that nothing of that name is left in any hierarchy.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from lxcpy.cgroups import CgroupManager, detect, manager_for, remove_paths
from lxcpy.config.model import CgroupSetting, Origin
from lxcpy.errors import CgroupError

pytestmark = pytest.mark.root

LAYOUT = detect()
HAS_V1 = any(not c.startswith("name=") for cs in LAYOUT.v1 for c in cs)
HAS_V2 = LAYOUT.v2_mount is not None
DRIVERS = [
    pytest.param("v1", marks=pytest.mark.skipif(not HAS_V1, reason="no cgroup v1 here")),
    pytest.param("v2", marks=pytest.mark.skipif(not HAS_V2, reason="no cgroup2 here")),
]
needs_v1 = pytest.mark.skipif(not HAS_V1, reason="no cgroup v1 controllers on this host")


def leftovers(name: str) -> list[str]:
    """Every directory that mentions ``name`` in any cgroup hierarchy of this host."""
    mounts = [*LAYOUT.v1.values(), *([LAYOUT.v2_mount] if LAYOUT.v2_mount else [])]
    found = []
    for mount in mounts:
        for dirpath, dirnames, _files in os.walk(mount):
            found += [os.path.join(dirpath, d) for d in dirnames if name in d]
    return found


class Cgroups:
    """Makes managers and processes for one test and undoes all of it afterwards."""

    def __init__(self) -> None:
        self.tag = f"lxcpytest-{uuid.uuid4().hex[:10]}"
        self.managers: list[CgroupManager] = []
        self.procs: list[subprocess.Popen[str]] = []

    def manager(self, driver: str, suffix: str = "", cgroup_dir: str | None = None,
                create: bool = True) -> CgroupManager:
        mgr = manager_for(self.tag + suffix, driver, cgroup_dir)
        self.managers.append(mgr)
        if create:
            mgr.create()
        return mgr

    def spawn(self, argv: list[str], mgr: CgroupManager | None = None,
              **kwargs: object) -> subprocess.Popen[str]:
        """Start ``argv``; with ``mgr`` it is inside the cgroup before it execs, so
        nothing it forks can be outside."""
        preexec: Callable[[], None] | None = None
        if mgr is not None:
            def preexec() -> None:
                mgr.attach(os.getpid())
        proc = subprocess.Popen(argv, preexec_fn=preexec, text=True, **kwargs)  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        errors = []
        for mgr in self.managers:
            try:
                mgr.destroy()
            except CgroupError as exc:  # report after everything else was tried
                errors.append(exc)
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        assert not errors, errors
        assert leftovers(self.tag) == []


@pytest.fixture
def cgroups() -> Iterator[Cgroups]:
    cg = Cgroups()
    try:
        yield cg
    finally:
        cg.cleanup()


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` (clock ticks) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def shell() -> list[str]:
    """busybox sh when there (it says "can't fork"), else /bin/sh."""
    return ["busybox", "sh"] if shutil.which("busybox") else ["sh"]


# -- both drivers ---------------------------------------------------------------------

@pytest.mark.parametrize("driver", DRIVERS)
def test_create_attach_procs(cgroups: Cgroups, driver: str) -> None:
    mgr = cgroups.manager(driver)
    assert mgr.version == int(driver[1])
    assert mgr.exists()
    paths = mgr.paths()
    assert paths and all(os.path.isdir(p) for p in paths)
    assert all(os.path.basename(p) == f"lxc.payload.{cgroups.tag}" for p in paths)
    if driver == "v1":  # every v1 hierarchy (name=systemd too) plus the unified one
        assert len(paths) == len(LAYOUT.v1) + HAS_V2
    sleeper = cgroups.spawn(["sleep", "1000"])
    mgr.attach(sleeper.pid)
    for path in paths:
        assert read(os.path.join(path, "cgroup.procs")).split() == [str(sleeper.pid)]
    child = cgroups.spawn(["sleep", "1000"], mgr)
    assert mgr.procs() == sorted([sleeper.pid, child.pid])

    # a sub-cgroup made by the container counts too, and destroy removes it
    sub = os.path.join(paths[-1], "inner")
    os.mkdir(sub)
    with open(os.path.join(sub, "cgroup.procs"), "w") as f:
        f.write(str(child.pid))
    assert mgr.procs() == sorted([sleeper.pid, child.pid])
    mgr.signal_all(signal.SIGTERM)
    assert sleeper.wait(5) == -signal.SIGTERM and child.wait(5) == -signal.SIGTERM
    assert mgr.procs() == []
    mgr.destroy()
    assert not mgr.exists() and leftovers(cgroups.tag) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_freeze_stops_a_busy_loop(cgroups: Cgroups, driver: str) -> None:
    mgr = cgroups.manager(driver)
    busy = cgroups.spawn(["sh", "-c", "while :; do :; done"], mgr)
    wait_for(lambda: cpu_ticks(busy.pid) > 0)
    mgr.freeze()
    assert mgr.is_frozen()
    mgr.freeze()  # again: no-op
    frozen_at = cpu_ticks(busy.pid)
    time.sleep(0.3)  # a window to show no progress in (not a wait for an event)
    assert cpu_ticks(busy.pid) == frozen_at
    mgr.thaw()
    assert not mgr.is_frozen()
    wait_for(lambda: cpu_ticks(busy.pid) > frozen_at)  # it runs again
    mgr.destroy()
    assert busy.wait(5) == -signal.SIGKILL
    assert leftovers(cgroups.tag) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_kill_all_kills_a_double_forked_process(cgroups: Cgroups, driver: str) -> None:
    mgr = cgroups.manager(driver)
    parent = cgroups.spawn(["sh", "-c", "(sleep 1000 &) ; sleep 1000"], mgr)

    def escaped() -> list[int]:  # in the cgroup, but no longer a descendant of parent
        out = []
        for pid in mgr.procs():
            try:
                with open(f"/proc/{pid}/status") as f:
                    ppid = next(int(line.split()[1]) for line in f if line.startswith("PPid:"))
            except (FileNotFoundError, ProcessLookupError):
                continue  # the subshell, gone since the listing (or while being read)
            if pid != parent.pid and ppid != parent.pid:
                out.append(pid)
        return out

    wait_for(escaped)
    orphan = escaped()[0]
    mgr.kill_all()
    assert mgr.procs() == []
    assert not alive(orphan)
    assert parent.wait(5) == -signal.SIGKILL
    mgr.destroy()
    mgr.destroy()  # idempotent
    assert not mgr.exists() and leftovers(cgroups.tag) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_kill_all_with_another_signal(cgroups: Cgroups, driver: str) -> None:
    mgr = cgroups.manager(driver)
    sleeper = cgroups.spawn(["sleep", "1000"], mgr)
    mgr.kill_all(signal.SIGTERM)
    assert sleeper.wait(5) == -signal.SIGTERM and mgr.procs() == []
    # a shell that ignores SIGTERM survives: kill_all gives up after its timeout
    stubborn = cgroups.spawn(["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"], mgr)
    wait_for(lambda: len(mgr.procs()) >= 2)  # a sleep runs: the trap is set
    with pytest.raises(CgroupError, match="processes still alive after 0.3 s"):
        mgr.kill_all(signal.SIGTERM, timeout=0.3)
    assert not mgr.is_frozen()  # never left frozen
    mgr.kill_all()
    assert stubborn.wait(5) == -signal.SIGKILL and mgr.procs() == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_destroy_kills_and_leaves_nothing(cgroups: Cgroups, driver: str) -> None:
    mgr = cgroups.manager(driver, cgroup_dir=f"{cgroups.tag}-dir/nested")
    assert all(f"/{cgroups.tag}-dir/nested/lxc.payload." in p for p in mgr.paths())
    proc = cgroups.spawn(["sleep", "1000"], mgr)
    mgr.freeze()  # a frozen container is destroyable too
    mgr.destroy()
    assert proc.wait(5) == -signal.SIGKILL
    assert not mgr.exists() and mgr.paths() == []
    assert leftovers(cgroups.tag) == []  # the cgroup_dir levels it made are gone too


@pytest.mark.parametrize("driver", DRIVERS)
def test_create_takes_a_suffix_when_the_name_is_taken(cgroups: Cgroups, driver: str) -> None:
    """A namesake's cgroup (another lxcpath), busy or empty, is never reused nor removed:
    create() takes lxc.payload.NAME-1, -2, ... as LXC does."""
    first = cgroups.manager(driver)
    proc = cgroups.spawn(["sleep", "1000"], first)
    second = cgroups.manager(driver, create=False)
    assert second.paths() == []
    second.destroy()  # never created: touches nothing, not the namesake's cgroup
    second.kill_all()
    second.signal_all(signal.SIGTERM)
    assert proc.poll() is None and first.procs() == [proc.pid]
    second.create()
    base = f"lxc.payload.{cgroups.tag}"
    assert {os.path.basename(p) for p in second.paths()} == {f"{base}-1"}
    assert second.relpath == f"{base}-1" and second.procs() == []
    mover = cgroups.spawn(["sleep", "1000"], second)
    assert second.procs() == [mover.pid] and first.procs() == [proc.pid]
    if driver == "v1":
        second.freeze()
        assert second.is_frozen() and not first.is_frozen()
        second.thaw()

    first.kill_all()
    proc.wait(5)
    first.freeze()  # an empty, frozen leftover of a dead run: still not reused
    third = cgroups.manager(driver)
    assert {os.path.basename(p) for p in third.paths()} == {f"{base}-2"}
    assert not third.is_frozen()
    second.destroy()
    assert proc.poll() is not None and first.exists() and third.exists()
    assert mover.wait(5) == -signal.SIGKILL
    # a free name is taken again: the lowest one
    fourth = cgroups.manager(driver)
    assert {os.path.basename(p) for p in fourth.paths()} == {f"{base}-1"}


@pytest.mark.skipif(not (HAS_V1 and HAS_V2), reason="needs v1 and cgroup2")
def test_a_name_taken_in_one_hierarchy_only_moves_every_hierarchy_to_a_suffix(
        cgroups: Cgroups) -> None:
    """A v2-driver namesake has lxc.payload.NAME in the cgroup2 mount only: the v1 driver
    (every v1 hierarchy plus cgroup2) takes -1 everywhere and leaves nothing half-made."""
    v2 = cgroups.manager("v2")
    v1 = cgroups.manager("v1")
    base = f"lxc.payload.{cgroups.tag}"
    assert {os.path.basename(p) for p in v1.paths()} == {f"{base}-1"}
    assert len(v1.paths()) == len(LAYOUT.v1) + 1
    for mount in LAYOUT.v1.values():  # the first try was rolled back in every v1 hierarchy
        assert not os.path.exists(os.path.join(mount, base))
    assert v2.exists()


@pytest.mark.parametrize("driver", DRIVERS)
def test_remove_paths_recovers_a_crashed_container(cgroups: Cgroups, driver: str) -> None:
    mgr = cgroups.manager(driver)
    parent = cgroups.spawn(["sh", "-c", "(sleep 1000 &) ; sleep 1000"], mgr)
    wait_for(lambda: len(mgr.procs()) >= 2)
    pids = mgr.procs()
    recorded = mgr.paths()
    remove_paths(recorded)
    assert not any(alive(p) for p in pids if p != parent.pid)
    assert parent.wait(5) == -signal.SIGKILL
    assert not any(os.path.exists(p) for p in recorded)
    remove_paths(recorded)  # missing paths are fine
    with pytest.raises(CgroupError, match="refusing"):
        remove_paths([os.path.dirname(recorded[0])])  # a hierarchy root: never


@pytest.mark.parametrize("driver", DRIVERS)
def test_keys_of_the_other_version_are_skipped(cgroups: Cgroups, driver: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """As LXC: lxc.cgroup2.* lines are skipped by the v1 driver, lxc.cgroup.* lines by the
    v2 driver (debug line), so one config serves both; a device policy only for the other
    version is a warning, never silent."""
    mgr = cgroups.manager(driver)
    own = 2 if driver == "v2" else 1
    other = CgroupSetting(3 - own, "cgroup.max.depth" if own == 1 else "memory.bogus", "3",
                          Origin("/x/config", 4))
    device = CgroupSetting(3 - own, "devices.deny", "a")
    with caplog.at_level(logging.DEBUG, logger="lxcpy"):
        mgr.apply([other])
        mgr.apply([device])
    assert f"/x/config:4: {other.config_key}: skipped: the cgroup driver is v{own}" in (
        caplog.text)
    assert "no device policy is enforced" in caplog.text
    if HAS_V2:
        assert read(os.path.join(LAYOUT.v2_mount or "", f"lxc.payload.{cgroups.tag}",
                                 "cgroup.max.depth")) == "max"
    if driver == "v2" and HAS_V2:
        mgr.apply([CgroupSetting(2, "cgroup.max.depth", "3")])
        assert mgr.get("cgroup.max.depth") == "3"


# -- v2 forced on this host -----------------------------------------------------------

@pytest.mark.skipif(not HAS_V2, reason="no cgroup2 hierarchy")
def test_v2_refuses_missing_controllers(cgroups: Cgroups) -> None:
    mgr = cgroups.manager("v2")
    if "memory" not in LAYOUT.v2_controllers:
        with pytest.raises(CgroupError, match=r"^lxc\.cgroup2\.memory\.max: no 'memory' "
                                              r"controller"):
            mgr.apply([CgroupSetting(2, "memory.max", "32M")])
        with pytest.raises(CgroupError, match=r"^memory\.max: no 'memory' controller"):
            mgr.set("memory.max", "32M")
    with pytest.raises(CgroupError, match=r"^lxc\.cgroup2\.cgroup\.bogus: no such cgroup "
                                          r"file 'cgroup\.bogus'$"):
        mgr.apply([CgroupSetting(2, "cgroup.bogus", "1")])
    assert mgr.stats().cpu_ns is not None  # cpu.stat is a core file


# -- v1 only --------------------------------------------------------------------------

@needs_v1
def test_v1_memory_limit_applied(cgroups: Cgroups) -> None:
    mgr = cgroups.manager("v1")
    mgr.apply([CgroupSetting(1, "memory.limit_in_bytes", "64M")])
    memory = LAYOUT.v1_mount("memory")
    assert memory is not None
    path = os.path.join(memory, f"lxc.payload.{cgroups.tag}", "memory.limit_in_bytes")
    assert read(path) == str(64 << 20)
    cpuset = LAYOUT.v1_mount("cpuset")
    if cpuset:  # copied from the parent so that tasks can join
        leaf = os.path.join(cpuset, f"lxc.payload.{cgroups.tag}")
        assert read(os.path.join(leaf, "cpuset.cpus")) == read(
            os.path.join(cpuset, "cpuset.cpus"))


@needs_v1
def test_v1_pids_max_refuses_forks(cgroups: Cgroups) -> None:
    mgr = cgroups.manager("v1")
    mgr.apply([CgroupSetting(1, "pids.max", "3")])
    proc = cgroups.spawn(
        [*shell(), "-c", "for i in 1 2 3 4 5; do sleep 30 >/dev/null 2>&1 & done; wait"],
        mgr, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        mgr.kill_all()  # the sleeps that did start: the shell waits for them
        _out, err = proc.communicate(timeout=5)
    assert any(s in err for s in ("can't fork", "Cannot fork",
                                  "Resource temporarily unavailable")), err
    mgr.kill_all()
    assert mgr.procs() == []


@needs_v1
def test_v1_memory_hog_is_oom_killed(cgroups: Cgroups) -> None:
    mgr = cgroups.manager("v1")
    settings = [CgroupSetting(1, "memory.limit_in_bytes", "32M")]
    memory = LAYOUT.v1_mount("memory") or ""
    if os.path.exists(os.path.join(memory, "memory.memsw.limit_in_bytes")):
        settings.append(CgroupSetting(1, "memory.memsw.limit_in_bytes", "32M"))  # no swap out
    mgr.apply(settings)
    hog = cgroups.spawn([sys.executable, "-c",
                         "x = []\n"
                         "for _ in range(20):\n"
                         "    x.append(b'x' * (10 << 20))\n"
                         "print('survived')\n"], mgr, stdout=subprocess.PIPE)
    out, _ = hog.communicate(timeout=30)
    assert hog.returncode == -signal.SIGKILL and "survived" not in out
    oom = read(os.path.join(memory, f"lxc.payload.{cgroups.tag}", "memory.oom_control"))
    assert "oom_kill 1" in oom
    assert os.getpid() and mgr.procs() == []  # only the hog died


@needs_v1
def test_v1_apply_errors_name_the_key(cgroups: Cgroups) -> None:
    mgr = cgroups.manager("v1")
    cases = [
        (CgroupSetting(1, "bogus.file", "1"),
         "lxc.cgroup.bogus.file: no 'bogus' controller on this host"),
        (CgroupSetting(1, "memory.bogus", "1"),
         "lxc.cgroup.memory.bogus: no such cgroup file 'memory.bogus'"),
        (CgroupSetting(1, "memory.limit_in_bytes", "12abc"),
         "lxc.cgroup.memory.limit_in_bytes: cannot set '12abc': Invalid argument"),
        (CgroupSetting(1, "memory.limit_in_bytes", "12abc", Origin("/x/config", 7)),
         "/x/config:7: lxc.cgroup.memory.limit_in_bytes: cannot set '12abc': Invalid argument"),
        (CgroupSetting(1, "cgroup.procs", "1"),
         "lxc.cgroup.cgroup.procs: 'cgroup.procs' moves processes and cannot be read or "
         "set here"),
    ]
    for setting, message in cases:
        with pytest.raises(CgroupError) as info:
            mgr.apply([setting])
        assert str(info.value) == message


@needs_v1
def test_v1_stats_are_sane(cgroups: Cgroups) -> None:
    mgr = cgroups.manager("v1")
    proc = cgroups.spawn([sys.executable, "-c",
                          "import time\n"
                          "x = b'x' * (20 << 20)\n"
                          # CPU time, not wall time: a busy host cannot shorten it
                          "end = time.process_time() + 0.2\n"
                          "while time.process_time() < end: pass\n"
                          "print('ready', flush=True)\n"
                          "time.sleep(1000)\n"], mgr, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    stats = mgr.stats()
    assert stats.cpu_ns is not None and 0.1e9 < stats.cpu_ns < 60e9
    assert stats.memory_bytes is not None and 20 << 20 < stats.memory_bytes < 1 << 30
    assert stats.kmem_bytes is None or 0 <= stats.kmem_bytes < stats.memory_bytes
    assert stats.swap_bytes is None or stats.swap_bytes >= 0
    assert stats.blkio_bytes is None or stats.blkio_bytes >= 0


@needs_v1
def test_v1_get_set_round_trip(cgroups: Cgroups) -> None:
    mgr = cgroups.manager("v1")
    mgr.set("memory.limit_in_bytes", "64M")
    assert mgr.get("memory.limit_in_bytes") == str(64 << 20)
    assert mgr.get("pids.max") == "max"
    mgr.set("pids.max", "50")
    assert mgr.get("pids.max") == "50"
    with pytest.raises(CgroupError, match=r"^bogus\.file: no 'bogus' controller on this host$"):
        mgr.get("bogus.file")
    with pytest.raises(CgroupError, match=r"^memory\.limit_in_bytes: cannot set 'abc': "
                                          r"Invalid argument$"):
        mgr.set("memory.limit_in_bytes", "abc")
    for key in ("cgroup.procs", "tasks", "../x"):
        with pytest.raises(CgroupError):
            mgr.get(key)
        with pytest.raises(CgroupError):
            mgr.set(key, "1")


# -- choosing a driver ----------------------------------------------------------------

def test_driver_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LXCPY_CGROUP_DRIVER", raising=False)
    auto = manager_for("lxcpytest-choice")
    assert auto.version == (2 if LAYOUT.kind == "unified" else 1)
    assert not auto.exists() and auto.paths() == []  # making a manager touches nothing
    with pytest.raises(CgroupError, match="unknown cgroup driver 'v3'"):
        manager_for("lxcpytest-choice", "v3")
    with pytest.raises(CgroupError, match="invalid container name"):
        manager_for("../etc", "auto")
    if HAS_V2 and HAS_V1:
        monkeypatch.setenv("LXCPY_CGROUP_DRIVER", "v2")
        assert manager_for("lxcpytest-choice").version == 2
        assert manager_for("lxcpytest-choice", "v1").version == 1  # explicit beats env
    monkeypatch.setenv("LXCPY_CGROUP_DRIVER", "bogus")
    with pytest.raises(CgroupError, match="LXCPY_CGROUP_DRIVER=bogus"):
        manager_for("lxcpytest-choice")

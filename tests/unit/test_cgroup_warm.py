"""lxcpy.cgroups.warm: the thread that keeps the kernel's cgroup move lock warm during a
start moves nobody anywhere, ends when told (and only in the process that started it)."""

from __future__ import annotations

import os

import pytest

from lxcpy.cgroups import warm

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or warm._own_procs_file() is None,
                                reason="root on a host with a cgroup2 hierarchy")


def own_cgroups() -> str:
    with open("/proc/self/cgroup") as f:
        return f.read()


def test_start_stop_changes_no_membership() -> None:
    before = own_cgroups()
    warm.start()
    try:
        assert warm._running and warm._running[0][0] == os.getpid()
        warm.start()  # one thread at most
        assert len(warm._running) == 1
    finally:
        assert warm.stop() is True
    assert not warm._running
    assert warm.stop() is False
    assert own_cgroups() == before


def test_a_forked_child_does_not_stop_its_parents_thread() -> None:
    warm.start()
    try:
        pid = os.fork()
        if pid == 0:  # the thread is not here: stop() must not wait for it
            os._exit(0 if warm.stop() is False else 1)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert warm._running  # still the parent's
    finally:
        assert warm.stop() is True


def test_the_thread_writes_where_the_process_is(tmp_path: object) -> None:
    """What it writes: its own PID into the cgroup2 cgroup it is in (a no-op move)."""
    procs = warm._own_procs_file()
    assert procs is not None
    with open(procs) as f:
        assert str(os.getpid()) in f.read().split()
    assert procs.endswith("/cgroup.procs")
    with open(os.path.join(os.path.dirname(procs), "cgroup.controllers")):
        pass  # a cgroup2 directory


def test_a_move_after_stop_stays() -> None:
    """The rule the cgroup manager follows: stop() before the process moves itself, or the
    thread moves it back. A move made after stop() is still there after a while."""
    procs = warm._own_procs_file()
    assert procs is not None
    parent = os.path.dirname(procs)
    child = os.path.join(parent, f"lxcpy-warm-test-{os.getpid()}")
    os.mkdir(child)
    try:
        warm.start()
        assert warm.stop()
        with open(os.path.join(child, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        line = next(line for line in own_cgroups().splitlines() if line.startswith("0::"))
        assert line.endswith(os.path.basename(child))
    finally:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
        os.rmdir(child)

"""Pay the kernel's wait before a cgroup move while a start is still importing.

Every write to a ``cgroup.procs`` file takes the kernel's one cgroup_threadgroup_rwsem for
writing. When no process has moved for a grace period, that first waits for an RCU grace
period (rcu_sync_enter: 10-15 ms here, strace), and a start makes its first move (the
supervisor into lxc.monitor.NAME) only after its imports and the config parse. C LXC,
started back to back, mostly finds the lock warm from its previous run's last move; a
Python start, ~25 ms of interpreter and imports after that, finds it cold.

``start()`` (the command line, before its imports) runs a thread that writes the process's
own PID into the cgroup2 cgroup it is in at that moment (the kernel moves nothing: the
same cgroup), once at once and then every few milliseconds: the first pays the grace
period while the main thread imports, the next ones keep the lock warm until ``stop()``,
or the thread gives up by itself after ``LIFETIME``. The process must ``stop()`` it before
it moves itself (the thread would move it back) and may ``start()`` it again after: the
cgroup manager does so around the supervisor's own moves (cgroups.base), and ends it once
the init is in its cgroup. Only root, only on a cgroup2 hierarchy (hybrid or unified
hosts); anything unusual: no thread, and the start pays the wait as before. The thread's
open ``cgroup.procs`` (close-on-exec) is copied into the container's first process when the
supervisor forks it meanwhile, which closes every descriptor it was not given first thing
(runtime.child), as it does the supervisor's others.
"""

from __future__ import annotations

import _thread
import posix

INTERVAL = 0.005  # s between writes: well inside one grace period (~10 ms and more)
LIFETIME = 1.0  # s: a start that has not stopped it by then pays its waits itself
MOUNTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")  # hybrid's cgroup2, unified's

# (pid, stop, done): the process that started the thread (a fork's copy is no owner)
_running: list[tuple[int, _thread.LockType, _thread.LockType]] = []


def _own_procs_file() -> str | None:
    """``cgroup.procs`` of the cgroup2 cgroup this process is in, if it is there to write."""
    try:
        fd = posix.open("/proc/self/cgroup", posix.O_RDONLY | posix.O_CLOEXEC)
        try:
            text = posix.read(fd, 65536).decode("utf-8", "replace")
        finally:
            posix.close(fd)
    except OSError:
        return None
    path = next((line[3:] for line in text.splitlines() if line.startswith("0::")), None)
    if path is None or not path.startswith("/") or "/../" in path or path.endswith("/.."):
        return None  # outside our cgroup namespace's view
    for mount in MOUNTS:
        procs = f"{mount}{path.rstrip('/')}/cgroup.procs"
        try:
            posix.stat(f"{mount}/cgroup.controllers")  # a cgroup2 mount
            posix.stat(procs)
        except OSError:
            continue
        return procs
    return None


def _kick(procs: str, pid: bytes, stop: _thread.LockType, done: _thread.LockType,
          rounds: int) -> None:
    fd = -1
    try:
        # one open file for every write: each system call hands the GIL back and forth
        # with the main thread, which is importing meanwhile
        fd = posix.open(procs, posix.O_WRONLY | posix.O_CLOEXEC)
        for _ in range(rounds):
            posix.write(fd, pid)
            if stop.acquire(True, INTERVAL):
                return
    except OSError:
        return  # not ours to write after all (EACCES, EBUSY ...): no harm done
    finally:
        if fd >= 0:
            posix.close(fd)
        done.release()


def start(procs: str | None = None) -> None:
    """Start keeping the cgroup move lock warm (root only; at most one thread).
    ``procs``: the ``cgroup.procs`` of the cgroup2 cgroup this process is in, when the
    caller knows it (the cgroup manager, after its own move): /proc is not read then."""
    if _running or posix.geteuid() != 0:
        return
    if procs is None:
        procs = _own_procs_file()
    if procs is None:
        return
    stop, done = _thread.allocate_lock(), _thread.allocate_lock()
    stop.acquire()
    done.acquire()
    try:
        _thread.start_new_thread(_kick, (procs, str(posix.getpid()).encode(), stop, done,
                                         int(LIFETIME / INTERVAL)))
    except RuntimeError:
        return  # no thread to be had: the start pays the wait itself
    _running.append((posix.getpid(), stop, done))


def stop() -> bool:
    """End the thread and wait for it; whether one was running in this process. Call it
    before the process moves itself: the thread would move it back where it was."""
    if not _running:
        return False
    owner, stop_lock, done = _running.pop()
    if owner != posix.getpid():
        return False  # a forked child: the thread is its parent's, which stops it
    stop_lock.release()
    done.acquire()
    return True

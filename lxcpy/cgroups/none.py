"""Cgroups for a non-root caller (LXC's unprivileged rules).

A user may only make cgroups where they were delegated a subtree: on cgroup2, the cgroup
they run in is theirs to write (a systemd user slice, or one an admin chowned). Then the
container's cgroups go below it (the v2 driver, relative placement). Anywhere else (v1
hierarchies, a root-owned cgroup) there is nothing to make: the container runs in the
caller's cgroups with no limits, and the user is told once; a config that asks for
limits is refused, never silently run without them.
"""

from __future__ import annotations

import os
import signal

from lxcpy.cgroups.base import CgroupManager, CgroupStats, Placement, own_cgroups, setting_label
from lxcpy.cgroups.detect import HostLayout, detect
from lxcpy.errors import CgroupError, LxcError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lxcpy.config.model import ContainerConfig

NO_CGROUP_WARNING = ("no delegated cgroup2 subtree to create the container's cgroup in: "
                     "running without cgroup limits, freeze or cgroup accounting")


def delegated_base(layout: HostLayout) -> str | None:
    """The caller's cgroup2 cgroup when the caller may make cgroups in it and move
    processes there (its directory and cgroup.procs writable), else None."""
    if layout.v2_mount is None:
        return None
    try:
        with open("/proc/self/cgroup") as f:
            own = own_cgroups(f.read()).get("")
    except OSError:
        return None
    if own is None or "/../" in own:
        return None
    base = os.path.normpath(os.path.join(layout.v2_mount, own.lstrip("/")))
    if not os.path.isdir(base):
        return None
    if not (os.access(base, os.W_OK | os.X_OK)
            and os.access(os.path.join(base, "cgroup.procs"), os.W_OK)):
        return None
    return base


def for_user(name: str, cfg: ContainerConfig, placement: Placement) -> tuple[object, bool]:
    """The manager of a non-root caller's container and whether it is a real cgroup.
    Without delegation, cgroup keys are refused (one line naming the first)."""
    layout = detect()
    if delegated_base(layout) is not None:
        from lxcpy.cgroups.v2 import V2Manager

        mine = Placement(dir=placement.dir, container=placement.container, inner=placement.inner,
                         monitor=placement.monitor, pivot=placement.pivot, relative=True)
        return V2Manager(name, layout, None, mine), True  # below the caller's cgroup
    if cfg.cgroup_settings:
        raise LxcError(f"{setting_label(cfg.cgroup_settings[0])}: a cgroup limit, but this "
                       "user has no delegated cgroup2 subtree to apply it in (run from a "
                       "cgroup you own, e.g. a systemd user slice)")
    return NoCgroup(name), False


class NoCgroup:
    """The container without a cgroup of its own: its processes are its PID namespace's.
    Killing PID 1 of that namespace kills them all, which is all stop needs."""

    version = 0

    def __init__(self, name: str) -> None:
        self.name = name
        self.init_pid: int | None = None

    # the layout calls of a start: nothing to make, record or move
    def create_monitor(self) -> None: ...

    def monitor_paths(self) -> list[str]:
        return []

    def enter_monitor(self, pid: int) -> None: ...

    def leave_monitor(self, pid: int) -> None: ...

    def create(self) -> None: ...

    def paths(self) -> list[str]:
        return []

    def attach_paths(self) -> list[str]:
        return []

    def dirs(self) -> list[str]:
        return []

    def exists(self) -> bool:
        return False

    def apply(self, settings: list[object]) -> None:
        assert not settings  # for_user refused them

    def attach(self, pid: int) -> None:
        if self.init_pid is None:
            self.init_pid = pid  # the first one attached is the container's init

    def chown(self, uid: int, gid: int) -> None: ...

    def destroy(self) -> None: ...

    def procs(self) -> list[int]:
        """The init and its descendants, from /proc's children lists."""
        if self.init_pid is None:
            return []
        found, todo = [], [self.init_pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo.extend(int(p) for p in f.read().split())
            except OSError:
                continue
            found.append(pid)
        return sorted(found)

    def signal_all(self, sig: int) -> None:
        for pid in self.procs():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def kill_all(self, sig: int = signal.SIGKILL, timeout: float = 10.0) -> None:
        # SIGKILL to PID 1 of the namespace: the kernel kills every other process in it
        if self.init_pid is not None:
            try:
                os.kill(self.init_pid, sig)
            except ProcessLookupError:
                pass

    def _refuse(self, what: str) -> CgroupError:
        return CgroupError(f"{what}: the container has no cgroup ({NO_CGROUP_WARNING})")

    def freeze(self, timeout: float = 10.0) -> None:
        raise self._refuse("cannot freeze")

    def thaw(self, timeout: float = 10.0) -> None:
        return None  # never frozen

    def is_frozen(self) -> bool:
        return False

    def get(self, key: str) -> str:
        raise self._refuse(f"cannot read {key}")

    def set(self, key: str, value: str) -> None:
        raise self._refuse(f"cannot set {key}")

    def stats(self) -> CgroupStats:
        return CgroupStats()


__all__ = ["CgroupManager", "NoCgroup", "delegated_base", "for_user"]

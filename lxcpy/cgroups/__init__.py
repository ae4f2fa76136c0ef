"""Cgroups: one manager interface, a v1 driver and a v2 driver (as runc's libcontainer).

    mgr = manager_for(name, cfg.cgroup_driver, cfg.cgroup_dir)
    mgr.create(); mgr.apply(cfg.cgroup_settings); mgr.attach(pid)
    ... mgr.freeze(); mgr.thaw(); mgr.stats(); mgr.kill_all(); mgr.destroy()

Callers never ask which version they are on. The driver is picked from the host
(``detect()``): v1 on legacy and hybrid hosts, v2 on unified ones; ``lxc.cgroup.driver``
or the environment variable ``LXCPY_CGROUP_DRIVER`` (auto/v1/v2) can force one.
The drivers are imported only when a manager is made.

A driver applies the keys of its own version (``lxc.cgroup.*`` for v1, ``lxc.cgroup2.*``
for v2) and skips the others with a debug line, as LXC does, so one config (LXC's
common.conf) serves both. The device policy is the v1 ``devices`` controller's files, or
on v2 a BPF device program compiled from the same rules (``devices.py``).

create() makes ``lxc.payload.<name>``, or ``-1``, ``-2``, ... when that exists (a
namesake in another lxcpath, or a dead supervisor's leftover): every later action, and
crash recovery (``remove_paths`` on the recorded ``paths()``), is on what it made only.

The layout is LXC's (cgfsng.c): the supervisor moves into ``lxc.monitor.<name>``
(create_monitor/enter_monitor; at its end to ``lxc.pivot``, leave_monitor), so the
cgroups that delegate controllers hold no process; ``lxc.cgroup.dir`` prefixes both,
``lxc.cgroup.dir.container``/``.monitor`` name them exactly (``.container.inner``: the
init's leaf below the limits, the root of its cgroup namespace), all below the
hierarchy's root — or, with ``lxc.cgroup.relative`` or where the root is not ours to
write (a delegated systemd scope), below the cgroup lxcpy was started in.
"""

from __future__ import annotations

import os

from lxcpy.cgroups.detect import HostLayout, detect, parse_mountinfo
from lxcpy.errors import CgroupError

TYPE_CHECKING = False  # no typing at run time
if TYPE_CHECKING:
    from lxcpy.cgroups.base import CgroupManager, CgroupStats, Placement
    from lxcpy.config.model import ContainerConfig

_FROM_BASE = ("CgroupManager", "CgroupStats", "Placement")


def __getattr__(name: str) -> object:
    """The manager's names, from base.py when first asked for: a caller that needs only
    fs.py (lxcpy-oci's delete) does not pay for the manager's module."""
    if name in _FROM_BASE:
        from lxcpy.cgroups import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DRIVERS", "CgroupError", "CgroupManager", "CgroupStats", "HostLayout", "Placement",
    "detect", "manager_for", "placement_of", "parse_mountinfo", "remove_paths",
]

DRIVERS = ("auto", "v1", "v2")
ENV_DRIVER = "LXCPY_CGROUP_DRIVER"


def placement_of(cfg: ContainerConfig) -> Placement:
    """The lxc.cgroup.dir* and lxc.cgroup.relative keys of a config."""
    from lxcpy.cgroups.base import Placement

    return Placement(dir=cfg.cgroup_dir, container=cfg.cgroup_dir_container,
                     inner=cfg.cgroup_dir_container_inner, monitor=cfg.cgroup_dir_monitor,
                     pivot=cfg.cgroup_dir_monitor_pivot, relative=cfg.cgroup_relative)


def manager_for(name: str, driver: str = "auto", cgroup_dir: str | None = None,
                layout: HostLayout | None = None,
                placement: Placement | None = None) -> CgroupManager:
    """The cgroup manager of container ``name``: ``[cgroup_dir/]lxc.payload.<name>``
    (``-N`` appended by create() when taken; ``paths()`` then says what it made), or
    where ``placement`` (the config's lxc.cgroup.dir* keys) puts it.

    ``layout`` saves a second read of mountinfo when the caller already has one."""
    if driver == "auto":
        driver = os.environ.get(ENV_DRIVER) or "auto"
        if driver not in DRIVERS:
            raise CgroupError(f"{ENV_DRIVER}={driver}: unknown cgroup driver "
                              f"(use {', '.join(DRIVERS)})")
    elif driver not in DRIVERS:
        raise CgroupError(f"unknown cgroup driver '{driver}' (use {', '.join(DRIVERS)})")
    layout = layout or detect()
    if driver == "auto":
        if not layout.v1 and layout.v2_mount is None:
            raise CgroupError("no cgroup hierarchy is mounted on this host")
        driver = "v2" if layout.kind == "unified" else "v1"
    if driver == "v1":
        from lxcpy.cgroups.v1 import V1Manager

        return V1Manager(name, layout, cgroup_dir, placement)
    from lxcpy.cgroups.v2 import V2Manager

    return V2Manager(name, layout, cgroup_dir, placement)


def remove_paths(paths: list[str], timeout: float = 10.0,
                 ids: dict[str, int] | None = None) -> None:
    """Crash recovery: kill whatever is still in ``paths`` (recorded ``paths()`` of a dead
    supervisor), then remove them deepest first. Missing paths are fine.

    Only cgroups strictly below a hierarchy's mount point are touched: a damaged record
    must never make us kill a whole hierarchy. With ``ids`` (path -> inode recorded when
    the cgroup was made) a path is touched only while it is still that directory: once
    removed by someone else, its name may belong to another container now.
    """
    from lxcpy.cgroups import fs
    from lxcpy.cgroups.base import SIGKILL, kill_loop
    from lxcpy.cgroups.v1 import freeze_dir, thaw_dir
    from lxcpy.cgroups.v2 import kill_dir
    from lxcpy.log import log

    layout = detect()
    mounts = [*layout.v1.values(), *([layout.v2_mount] if layout.v2_mount else [])]
    for path in paths:
        real = os.path.normpath(path)
        if not any(real.startswith(m.rstrip("/") + "/") for m in mounts) or "/../" in path:
            raise CgroupError(f"refusing to remove {path}: not a cgroup below a hierarchy root")
    existing = []
    for path in paths:
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            continue
        if ids is not None and ids.get(path) != inode:
            log.warning("recovery: %s is not the cgroup this container made: left alone", path)
            continue
        existing.append(path)
    if not existing:
        return
    for path in existing:  # cgroup.kill: everything inside at once, no fork race
        if os.path.exists(os.path.join(path, "cgroup.kill")):
            kill_dir(path, timeout)
    freezers = [p for p in existing if os.path.exists(os.path.join(p, "freezer.state"))]

    def freeze(budget: float) -> bool:
        try:
            for path in freezers:
                freeze_dir(path, budget)
        except CgroupError:
            thaw()
            return False
        return bool(freezers)

    def thaw() -> None:
        for path in freezers:
            thaw_dir(path, timeout)

    kill_loop(lambda: fs.tree_pids(existing), freeze, thaw, SIGKILL, timeout,
              "cgroup recovery")
    for path in sorted(existing, key=lambda p: p.count("/"), reverse=True):
        fs.rmdir_tree(path)

"""The cgroup v1 driver: the container's cgroup in every mounted v1 hierarchy
(named ones such as name=systemd included) plus, on a hybrid host, the unified one, so
``lxc.cgroup2.*`` keys and cgroup2 features keep working (what LXC does too)."""

from __future__ import annotations

import os

from lxcpy.cgroups import fs
from lxcpy.cgroups.base import (
    SIGKILL,
    CgroupManager,
    CgroupStats,
    kill_loop,
    own_settings,
    read_int,
    setting_label,
)
from lxcpy.cgroups.v2 import V2Manager
from lxcpy.errors import CgroupError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from lxcpy.cgroups.base import Placement
    from lxcpy.cgroups.detect import HostLayout
    from lxcpy.config.model import CgroupSetting


def freeze_dir(directory: str, timeout: float) -> None:
    """Write FROZEN and return once freezer.state reads FROZEN (every task frozen).

    The kernel reports FREEZING until the last task stops; poll with a short
    exponential backoff. On timeout, thaw again so no half-frozen container is left.
    """
    fs.set_key(directory, "freezer.state", "FROZEN", "freeze")
    backoff = fs.Backoff(timeout)
    while True:
        current = fs.get_key(directory, "freezer.state", "freeze").strip()
        if current == "FROZEN":
            return
        if backoff.expired():
            fs.set_key(directory, "freezer.state", "THAWED", "thaw")
            raise CgroupError(f"cgroup {directory} did not freeze within {timeout:g} s "
                              f"(still {current})")
        backoff.sleep()


def thaw_dir(directory: str, timeout: float) -> None:
    fs.set_key(directory, "freezer.state", "THAWED", "thaw")
    backoff = fs.Backoff(timeout)
    while (current := fs.get_key(directory, "freezer.state", "thaw").strip()) != "THAWED":
        if backoff.expired():
            raise CgroupError(f"cgroup {directory} did not thaw within {timeout:g} s "
                              f"(still {current})")
        backoff.sleep()


class V1Manager(CgroupManager):
    version = 1

    def __init__(self, name: str, layout: HostLayout, cgroup_dir: str | None = None,
                 placement: Placement | None = None) -> None:
        if not layout.v1:
            raise CgroupError("cgroup v1 driver: no cgroup v1 hierarchy is mounted on this host")
        super().__init__(name, layout, cgroup_dir, placement)
        # the same bases (base_dirs covers the cgroup2 mount too): not a second pass
        self.unified = (V2Manager(name, layout, cgroup_dir, self.placement, self.bases)
                        if layout.v2_mount else None)
        self._cpuset = layout.v1_mount("cpuset")
        self._cpuset_values: dict[str, list[tuple[str, str]]] = {}  # parent -> cpus, mems
        self._freezer = self._dir("freezer")

    def roots(self) -> list[str]:
        roots = list(self.layout.v1.values())
        if self.unified is not None:
            roots.append(self.unified.root)
        return roots

    def _rename(self, relpath: str) -> None:
        super()._rename(relpath)
        if self.unified is not None:
            self.unified._rename(relpath)
        self._freezer = self._dir("freezer")

    def _init_dir(self, root: str, path: str) -> None:
        # A new cpuset cgroup starts with no cpus and no mems, and no task can join it:
        # it gets its parent's. Not read first: with the parent's cgroup.clone_children
        # it has them already, and the kernel takes an unchanged value as a no-op. The
        # parent's values are read once per parent (the monitor's and the payload's)
        if root != self._cpuset:
            return
        parent = os.path.dirname(path)
        values = self._cpuset_values.get(parent)
        if values is None:
            names = ("cpuset.cpus", "cpuset.mems")
            if not os.path.exists(os.path.join(parent, names[0])):
                names = ("cpus", "mems")  # a cpuset hierarchy mounted with noprefix
            values = [(n, fs.read_file(os.path.join(parent, n)).strip()) for n in names]
            self._cpuset_values[parent] = values
        for name, value in values:
            fs.set_key(path, name, value, f"cgroup {path}")

    def _dir(self, controller: str) -> str | None:
        mount = self.layout.v1_mount(controller)
        return os.path.join(self.base(mount), self.relpath) if mount else None

    def _locate(self, key: str, label: str) -> str:
        """The cgroup directory holding control file ``key`` (by its controller prefix)."""
        fs.check_key(key, label)
        controller = key.split(".", 1)[0]
        directory = self._dir(controller)
        if directory is not None:
            return directory
        # not a v1 controller: the unified cgroup may have it (cgroup.max.depth, ...)
        if self.unified is not None and os.path.exists(os.path.join(self.unified.dir, key)):
            return self.unified.dir
        raise CgroupError(f"{label}: no '{controller}' controller on this host")

    # -- limits -----------------------------------------------------------------------
    def apply(self, settings: list[CgroupSetting]) -> None:
        for setting in own_settings(settings, 1):
            label = setting_label(setting)
            fs.check_key(setting.key, label)
            directory = self._dir(setting.controller)
            if directory is None:
                raise CgroupError(f"{label}: no '{setting.controller}' controller on this host")
            fs.set_key(directory, setting.key, setting.value, label)

    def get(self, key: str) -> str:
        return fs.get_key(self._locate(key, key), key, key)

    def set(self, key: str, value: str) -> None:
        fs.set_key(self._locate(key, key), key, value, key)

    # -- freezer ----------------------------------------------------------------------
    def freeze(self, timeout: float = 10.0) -> None:
        if self._freezer is not None:
            freeze_dir(self._freezer, timeout)
        elif self.unified is not None:  # no v1 freezer: the unified cgroup can freeze too
            self.unified.freeze(timeout)
        else:
            raise CgroupError("no freezer controller on this host")

    def thaw(self, timeout: float = 10.0) -> None:
        if self._freezer is not None:
            thaw_dir(self._freezer, timeout)
        elif self.unified is not None:
            self.unified.thaw(timeout)
        else:
            raise CgroupError("no freezer controller on this host")

    def is_frozen(self) -> bool:
        if self._freezer is None:
            return self.unified is not None and self.unified.is_frozen()
        state = fs.read_optional(os.path.join(self._freezer, "freezer.state"))
        return state is not None and state.strip() == "FROZEN"

    # -- killing ----------------------------------------------------------------------
    def kill_all(self, sig: int = SIGKILL, timeout: float = 10.0) -> None:
        """Freeze, signal every pid, thaw, until empty: a double-forked child cannot
        escape between listing and signalling."""
        kill_loop(self.procs, self._try_freeze, self.thaw, sig, timeout,
                  f"cgroup {self.relpath}")

    # -- accounting -------------------------------------------------------------------
    def stats(self) -> CgroupStats:
        def path(controller: str, name: str) -> str | None:
            directory = self._dir(controller)
            return os.path.join(directory, name) if directory else None

        def number(controller: str, name: str) -> int | None:
            file = path(controller, name)
            return read_int(file) if file else None

        cpu = number("cpuacct", "cpuacct.usage")
        user = system = None
        acct = path("cpuacct", "cpuacct.stat")
        text = fs.read_optional(acct) if acct else None
        if text is not None:  # "user N" / "system N" in USER_HZ ticks (what lxc-top reads)
            ticks = fs.parse_flat_keyed(text)
            tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
            user = int(ticks["user"]) * tick_ns if "user" in ticks else None
            system = int(ticks["system"]) * tick_ns if "system" in ticks else None
        if cpu is None and self.unified is not None:  # no cpuacct: cgroup2's cpu.stat is core
            core = self.unified.stats()
            cpu, user, system = core.cpu_ns, core.cpu_user_ns, core.cpu_sys_ns
        memory = number("memory", "memory.usage_in_bytes")
        memsw = number("memory", "memory.memsw.usage_in_bytes")
        total, read, write = self._blkio_sums("io_service_bytes")
        ios = self._blkio_sums("io_serviced")[0]
        return CgroupStats(
            cpu_ns=cpu,
            memory_bytes=memory,
            kmem_bytes=number("memory", "memory.kmem.usage_in_bytes"),
            swap_bytes=max(0, memsw - memory) if memsw is not None and memory is not None
            else None,
            blkio_bytes=total,
            cpu_user_ns=user,
            cpu_sys_ns=system,
            blkio_read_bytes=read,
            blkio_write_bytes=write,
            blkio_ios=ios,
        )

    def _blkio_sums(self, what: str) -> tuple[int | None, int | None, int | None]:
        """(total, read, write) of blkio.throttle.``what`` (io_service_bytes: bytes,
        io_serviced: operations); None each without a blkio file."""
        directory = self._dir("blkio")
        if directory is None:
            return None, None, None
        # the _recursive file counts sub-cgroups too; per-device lines are
        # "MAJ:MIN Read|Write|...|Total N", the last line "Total N" is their sum (not
        # added again)
        for name in (f"blkio.throttle.{what}_recursive", f"blkio.throttle.{what}"):
            text = fs.read_optional(os.path.join(directory, name))
            if text is not None:
                sums = {"Total": 0, "Read": 0, "Write": 0}
                for f in (line.split() for line in text.splitlines()):
                    if len(f) == 3 and f[1] in sums:
                        sums[f[1]] += int(f[2])
                return sums["Total"], sums["Read"], sums["Write"]
        return None, None, None

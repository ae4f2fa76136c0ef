"""The one cgroup manager interface; ``v1.py`` and ``v2.py`` implement it.

Callers never ask which version they are on: they create, apply, attach, freeze, kill
and destroy. The parts that do not depend on the version (naming, creating and
removing the directories, listing and signalling processes) live here.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod

from lxcpy._record import dataclass
from lxcpy.cgroups import fs, warm
from lxcpy.errors import CgroupError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:  # type-only: keep the import cost of every container start small
    from collections.abc import Callable, Iterable

    from lxcpy.cgroups.detect import HostLayout
    from lxcpy.config.model import CgroupSetting

SIGKILL = 9  # signal.SIGKILL; importing signal would build its enums on every start
PREFIX = "lxc.payload."
MONITOR_PREFIX = "lxc.monitor."  # the supervisor's own cgroup (LXC's monitor cgroup)
PIVOT = "lxc.pivot"  # where a leaving supervisor goes so its monitor cgroup can go (LXC)
MAX_SUFFIX = 1000  # lxc.payload.NAME-1 .. -1000 when lxc.payload.NAME is taken (LXC: 1000)


@dataclass
class CgroupStats:
    """Usage counters; a field is None when this host/driver has no file for it."""

    cpu_ns: int | None = None
    memory_bytes: int | None = None
    kmem_bytes: int | None = None
    swap_bytes: int | None = None
    blkio_bytes: int | None = None
    # lxc-top's split columns: CPU time in user and kernel mode, bytes read and written
    cpu_user_ns: int | None = None
    cpu_sys_ns: int | None = None
    blkio_read_bytes: int | None = None
    blkio_write_bytes: int | None = None
    blkio_ios: int | None = None  # I/O operations (lxc-top --batch's blkio_iops)


def setting_label(setting: CgroupSetting) -> str:
    """How an error names a setting: ``file:line: lxc.cgroup.key`` (no origin: the key)."""
    if setting.origin is not None:
        return f"{setting.origin}: {setting.config_key}"
    return setting.config_key


@dataclass
class Placement:
    """Where the cgroups go: LXC's ``lxc.cgroup.dir`` (a prefix for ``lxc.payload.NAME``
    and ``lxc.monitor.NAME``), or ``lxc.cgroup.dir.container`` / ``.monitor`` (exact
    paths, with ``.container.inner`` the leaf the init lives in below the limits),
    ``lxc.cgroup.dir.monitor.pivot`` (where the supervisor goes when it leaves), all below
    the base: the hierarchy's root, or with ``lxc.cgroup.relative`` the caller's cgroup."""

    dir: str | None = None
    container: str | None = None
    inner: str | None = None
    monitor: str | None = None
    pivot: str | None = None
    relative: bool = False


def dir_parts(value: str | None, key: str) -> list[str]:
    """The levels of a relative cgroup path, refusing anything that could climb out."""
    parts = [p for p in (value or "").split("/") if p]
    if any(p in (".", "..") or "\0" in p or "\n" in p for p in parts):
        raise CgroupError(f"{key}: invalid cgroup directory {value!r}")
    return parts


def relative_path(name: str, cgroup_dir: str | None, prefix: str = PREFIX) -> str:
    """``[cgroup_dir/]lxc.payload.<name>``, refusing anything that could leave the hierarchy."""
    if not name or name in (".", "..") or any(c in name for c in "/\0\n"):
        raise CgroupError(f"invalid container name for a cgroup: {name!r}")
    return "/".join([*dir_parts(cgroup_dir, "lxc.cgroup.dir"), prefix + name])


def exact_path(value: str, key: str) -> str:
    """An ``lxc.cgroup.dir.container``/``.monitor`` path: used as written, never suffixed."""
    parts = dir_parts(value, key)
    if not parts:
        raise CgroupError(f"{key}: empty cgroup path")
    return "/".join(parts)


def own_cgroups(text: str) -> dict[str, str]:
    """``/proc/PID/cgroup`` as controller -> path; the cgroup2 line under ``""``
    (named v1 hierarchies as ``name=systemd``)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        for controller in fields[1].split(",") if fields[1] else [""]:
            found[controller] = fields[2]
    return found


def base_dirs(layout: HostLayout, relative: bool) -> dict[str, str]:
    """The cgroup every path is relative to, per hierarchy mount: its root (LXC as root
    escapes to init's cgroup), or the cgroup this process was started in — always with
    ``lxc.cgroup.relative``, and where the root is not writable to us (a delegated
    systemd scope, a container's read-only cgroupfs): as LXC, work inside what we got."""
    from lxcpy.log import log

    mounts: dict[str, frozenset[str]] = {m: c for c, m in layout.v1.items()}
    if layout.v2_mount:
        mounts[layout.v2_mount] = frozenset({""})
    own: dict[str, str] | None = None
    bases: dict[str, str] = {}
    for mount, controllers in mounts.items():
        writable = os.access(os.path.join(mount, "cgroup.procs"), os.W_OK)
        if not relative and writable:
            bases[mount] = mount
            continue
        if own is None:
            with open("/proc/self/cgroup") as f:
                own = own_cgroups(f.read())
        path = next((own[c] for c in controllers if c in own), "/")
        base = os.path.normpath(os.path.join(mount, path.lstrip("/")))
        if "/../" in path or not os.path.isdir(base):
            base = mount  # a cgroup outside our view (another cgroup namespace's)
        if not relative:
            log.info("%s is not writable: working inside the cgroup lxcpy was started in, "
                     "%s", mount, base)
        bases[mount] = base
    return bases


DEVICE_FILES = ("devices.allow", "devices.deny")


def own_settings(settings: list[CgroupSetting], version: int) -> list[CgroupSetting]:
    """The settings of this driver's cgroup version; the others are skipped, as LXC does,
    so one config (LXC's common.conf) serves v1 and v2 hosts.

    A device policy given only for the other version is not enforced: said as a warning,
    never silently."""
    from lxcpy.log import log

    own: list[CgroupSetting] = []
    skipped_devices: CgroupSetting | None = None
    for setting in settings:
        if setting.version == version:
            own.append(setting)
            continue
        log.debug("%s: skipped: the cgroup driver is v%d", setting_label(setting), version)
        if setting.key in DEVICE_FILES and skipped_devices is None:
            skipped_devices = setting
    if skipped_devices is not None and not any(s.key in DEVICE_FILES for s in own):
        log.warning("%s: no device policy is enforced: the cgroup driver is v%d and the "
                    "config has no %s.devices.* lines for it",
                    setting_label(skipped_devices), version,
                    "lxc.cgroup" if version == 1 else "lxc.cgroup2")
    return own


def read_int(path: str) -> int | None:
    text = fs.read_optional(path)
    return int(text.split()[0]) if text and text.strip() else None


def kill_loop(list_pids: Callable[[], list[int]], freeze: Callable[[float], bool],
              thaw: Callable[[], None], sig: int, timeout: float, what: str) -> None:
    """Signal every process until none is left.

    Each round freezes first (when it can), so a process forking right now cannot slip
    a child past the list; the signal lands while frozen and acts on thaw. Rounds repeat
    until the cgroups are empty, or raise CgroupError after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = list_pids()
        if not pids:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            shown = " ".join(map(str, pids[:10])) + (" ..." if len(pids) > 10 else "")
            raise CgroupError(f"{what}: processes still alive after {timeout:g} s: {shown}")
        frozen = freeze(min(remaining, 1.0))
        try:
            fs.signal_pids(list_pids() if frozen else pids, sig)
        finally:
            if frozen:
                thaw()
        backoff = fs.Backoff(min(remaining, 0.1))
        while list_pids() and not backoff.expired():
            backoff.sleep()


class CgroupManager(ABC):
    """The cgroup of one container, ``[cgroup_dir/]lxc.payload.<name>`` in every hierarchy
    the driver uses — or, as in LXC, ``lxc.payload.<name>-1``, ``-2``, ... when that one
    exists already: the name is unique per lxcpath, not per host."""

    version: int

    def __init__(self, name: str, layout: HostLayout, cgroup_dir: str | None = None,
                 placement: Placement | None = None,
                 bases: dict[str, str] | None = None) -> None:
        self.name = name
        self.layout = layout
        place = placement or Placement(dir=cgroup_dir)
        self.placement = place
        # mount -> the cgroup paths start at (``bases``: a v1 manager's, for its cgroup2 one)
        self.bases = bases if bases is not None else base_dirs(layout, place.relative)
        # lxc.cgroup.dir.container is used as written (LXC: no -N suffix, must be new)
        self.exact = bool(place.container)
        self.base_relpath = (exact_path(place.container, "lxc.cgroup.dir.container")
                             if place.container else relative_path(name, place.dir))
        self.relpath = self.base_relpath  # create() may add a suffix
        self.inner: str | None = None  # lxc.cgroup.dir.container.inner: the init's leaf
        if place.inner:
            inner = dir_parts(place.inner, "lxc.cgroup.dir.container.inner")
            if len(inner) != 1:
                raise CgroupError(f"lxc.cgroup.dir.container.inner: {place.inner!r} must be "
                                  "a single directory name")
            self.inner = inner[0]
        self.monitor_base = (exact_path(place.monitor, "lxc.cgroup.dir.monitor")
                             if place.monitor else relative_path(name, place.dir, MONITOR_PREFIX))
        self.monitor_relpath = self.monitor_base
        self._made: list[str] = []  # leaf cgroups create() made (what paths() reports)
        self._made_parents: list[str] = []  # cgroup_dir levels create() had to make
        self._monitor: list[str] = []  # the monitor cgroups create_monitor() made
        self._monitor_parents: list[str] = []
        self._origin: dict[str, str] = {}  # mount -> the supervisor's cgroup before
        self._mover = -1  # the PID enter_monitor() moved

    def _hierarchy(self, mount: str) -> frozenset[str]:
        """The controllers of the hierarchy mounted at ``mount`` (cgroup2: ``{""}``)."""
        for controllers, point in self.layout.v1.items():
            if point == mount:
                return controllers
        return frozenset({""})

    def base(self, mount: str) -> str:
        """The cgroup of hierarchy ``mount`` every relative path starts at."""
        return self.bases.get(mount, mount)

    # -- what a driver provides -------------------------------------------------------
    @abstractmethod
    def roots(self) -> list[str]:
        """Mount points of every hierarchy this driver puts the container in."""

    def _rename(self, relpath: str) -> None:
        """Point the manager at ``relpath`` (create() picked a suffix); drivers that keep
        directories of their own recompute them."""
        self.relpath = relpath

    def _init_dir(self, root: str, path: str) -> None:
        """Prepare a directory create() just made (v1 cpuset needs cpus and mems)."""
        return None  # most hierarchies need nothing

    @abstractmethod
    def apply(self, settings: list[CgroupSetting]) -> None: ...

    @abstractmethod
    def freeze(self, timeout: float = 10.0) -> None: ...

    @abstractmethod
    def thaw(self, timeout: float = 10.0) -> None: ...

    @abstractmethod
    def is_frozen(self) -> bool: ...

    @abstractmethod
    def kill_all(self, sig: int = SIGKILL, timeout: float = 10.0) -> None: ...

    def _try_freeze(self, timeout: float) -> bool:
        """kill_all's freeze: without a freezer, or with a task that would not freeze,
        the processes get signalled anyway."""
        try:
            self.freeze(timeout)
        except CgroupError:
            return False
        return True

    @abstractmethod
    def stats(self) -> CgroupStats: ...

    @abstractmethod
    def get(self, key: str) -> str: ...

    @abstractmethod
    def set(self, key: str, value: str) -> None: ...

    # -- shared -----------------------------------------------------------------------
    def dirs(self) -> list[str]:
        """The container's cgroup in every hierarchy, once create() made it: before (or
        after destroy()) none, so nothing can act on a namesake's cgroup."""
        return list(self._made)

    def attach_paths(self) -> list[str]:
        """Where the container's processes live: the cgroups create() made, or their
        ``lxc.cgroup.dir.container.inner`` leaf (limits stay on the cgroup above it)."""
        if self.inner:
            return [os.path.join(path, self.inner) for path in self._made]
        return list(self._made)

    def paths(self) -> list[str]:
        """Every cgroup create() made: what crash recovery must remove (``remove_paths``).

        Empty before create(), so a failed create never records another container's cgroup.
        """
        return list(self._made)

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.dirs())

    def procs(self) -> list[int]:
        """Every pid in the container's cgroups (sub-cgroups included), sorted."""
        return fs.tree_pids(self.dirs())

    def create(self) -> None:
        """Make a new cgroup in every hierarchy: ``lxc.payload.<name>``, or the first free
        ``-N`` suffix. An existing directory is never reused nor removed: it belongs to
        another container, or to a dead supervisor whose own recovery removes it (its
        record names it), and making it ours would let that recovery kill us.

        ``lxc.cgroup.dir.container`` is taken as written: if it exists, the start fails (LXC)."""
        if self.exact:
            made = self._create_at(self.base_relpath)
            if made is None:
                raise CgroupError(f"lxc.cgroup.dir.container: cgroup {self.base_relpath} "
                                  "exists already (the path is used as written, never shared)")
        else:
            made = self._first_free(self.base_relpath)
        self._rename(made[0])
        self._made, self._made_parents = made[1], made[2]

    def _first_free(self, base: str) -> tuple[str, list[str], list[str]]:
        for attempt in range(MAX_SUFFIX + 1):
            relpath = base + (f"-{attempt}" if attempt else "")
            made = self._create_at(relpath)
            if made is not None:
                return made
        raise CgroupError(f"cgroup {base}: no free name up to -{MAX_SUFFIX}")

    def _create_at(self, relpath: str) -> tuple[str, list[str], list[str]] | None:
        """Make ``relpath`` exclusively in every hierarchy:
        (relpath, the cgroups, the parent levels made); None (nothing left behind) if it
        exists in one of them already."""
        made: list[str] = []
        parents: list[str] = []
        try:
            for root in self.roots():
                top = self.base(root)
                path = os.path.join(top, relpath)
                new = fs.mkdirs(os.path.dirname(path), top)  # cgroup_dir levels
                parents.extend(new)
                for directory in new:
                    self._init_dir(root, directory)
                try:
                    os.mkdir(path)
                except FileExistsError:
                    _rmdir_quietly([*reversed(made), *reversed(parents)])
                    return None
                except OSError as exc:
                    raise CgroupError(f"cannot create cgroup {path}: {exc.strerror}") from None
                made.append(path)
                self._init_dir(root, path)
        except BaseException:
            _rmdir_quietly([*reversed(made), *reversed(parents)])  # keep the first error
            raise
        return relpath, made, parents

    def _make_inner(self) -> None:
        """The ``lxc.cgroup.dir.container.inner`` leaves, made once the limits are set:
        a v1 devices cgroup with a child refuses ``devices.deny = a``. Idempotent."""
        if not self.inner or not self._made:
            return
        for root, path in zip(self.roots(), self._made, strict=True):
            leaf = os.path.join(path, self.inner)
            try:
                os.mkdir(leaf)
            except FileExistsError:
                continue  # made by an earlier call: the limit cgroup above is ours alone
            except OSError as exc:
                raise CgroupError(f"cannot create cgroup {leaf}: {exc.strerror}") from None
            self._init_dir(root, leaf)

    # -- the monitor cgroup: the supervisor's own (LXC's lxc.monitor.NAME) ---------------
    def create_monitor(self) -> None:
        """Make ``[dir/]lxc.monitor.<name>[-N]`` (or ``lxc.cgroup.dir.monitor`` as written)
        in every hierarchy, for the supervisor to move into: it is then counted apart from
        the container, and never sits in a cgroup whose controllers are delegated."""
        if self.placement.monitor:
            made = self._create_at(self.monitor_base)
            if made is None:
                raise CgroupError(f"lxc.cgroup.dir.monitor: cgroup {self.monitor_base} "
                                  "exists already (the path is used as written, never shared)")
        else:
            made = self._first_free(self.monitor_base)
        self.monitor_relpath, self._monitor, self._monitor_parents = made

    def monitor_paths(self) -> list[str]:
        """The monitor cgroups create_monitor() made (crash recovery removes them too)."""
        return list(self._monitor)

    def enter_monitor(self, pid: int) -> None:
        """Move the supervisor ``pid`` into its monitor cgroups, noting where it was."""
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                own = own_cgroups(f.read())
        except OSError:
            own = {}
        self._origin = {}
        for root in self.roots():
            controllers = self._hierarchy(root)
            path = next((own[c] for c in controllers if c in own), None)
            if path is not None and "/../" not in path:
                self._origin[root] = os.path.normpath(os.path.join(root, path.lstrip("/")))
        warming = warm.stop()  # (its thread would move us back: lxcpy.cgroups.warm)
        for path in self._monitor:
            try:
                fs.write_file(os.path.join(path, "cgroup.procs"), str(pid))
            except OSError as exc:
                raise CgroupError(f"cannot move the supervisor {pid} into its monitor cgroup "
                                  f"{path}: {exc.strerror}") from None
        self._mover = pid  # (destroy(): whether this process is the one to leave it)
        if warming and pid == os.getpid():
            warm.start(self._monitor_procs())  # again, for the init's move (attach)

    def _monitor_procs(self) -> str | None:
        """``cgroup.procs`` of the cgroup2 monitor cgroup (where enter_monitor() put the
        supervisor), for the warm thread; None without a cgroup2 hierarchy."""
        v2 = self.layout.v2_mount
        for root, path in zip(self.roots(), self._monitor, strict=False):
            if root == v2:
                return os.path.join(path, "cgroup.procs")
        return None

    def leave_monitor(self, pid: int) -> None:
        """Move ``pid`` out and remove the monitor cgroups. With
        ``lxc.cgroup.dir.monitor.pivot`` it goes to ``PIVOT/lxc.pivot`` (LXC); otherwise
        back to the cgroup it came from, so nothing stays behind — LXC's
        ``[lxc.cgroup.dir/]lxc.pivot`` only where that cgroup is gone or takes no process
        (a v2 cgroup that delegates controllers). Idempotent; a pivot stays (shared)."""
        if not self._monitor:
            return
        warm.stop()  # started by destroy(): it would move us back (lxcpy.cgroups.warm)
        place = self.placement
        pivot = "/".join([*dir_parts(place.pivot or place.dir, "lxc.cgroup.dir.monitor.pivot"),
                          PIVOT])
        for root in self.roots():
            back = self._origin.get(root)
            if not place.pivot and back is not None:
                try:
                    fs.write_file(os.path.join(back, "cgroup.procs"), str(pid))
                    continue
                except OSError:
                    pass  # gone (ENOENT), EBUSY and the like: LXC's pivot below
            top = self.base(root)
            path = os.path.join(top, pivot)
            for directory in fs.mkdirs(path, top):
                self._init_dir(root, directory)
            try:
                fs.write_file(os.path.join(path, "cgroup.procs"), str(pid))
            except OSError:
                continue  # not in the monitor cgroup (or gone): its removal says so below
        # emptied (the supervisor was the one process in them): rmdir(2) each at once, as
        # destroy() does; only one the kernel refuses (a sub-cgroup) gets the tree walk
        if not fs.rmdir_if_empty(self._monitor, made=True):
            for path in self._monitor:
                fs.rmdir_tree(path)
        _rmdir_quietly(reversed(self._monitor_parents))
        self._monitor, self._monitor_parents = [], []

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into the cgroup in every hierarchy."""
        self._make_inner()
        try:
            for path in self.attach_paths():
                try:
                    fs.write_file(os.path.join(path, "cgroup.procs"), str(pid))
                except OSError as exc:
                    raise CgroupError(f"cannot attach pid {pid} to {path}: "
                                      f"{exc.strerror}") from None
        finally:
            warm.stop()  # the start's moves are done (lxcpy.cgroups.warm)

    # what LXC's chown_cgroup_wrapper gives the mapped root: the directory, and the files
    # that move processes and delegate controllers (so a cgroup:rw mount inside works)
    DELEGATED = ("cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads",
                 "cgroup.clone_children")

    def chown(self, uid: int, gid: int) -> None:
        """Give the container's cgroups to its mapped root (lxc.idmap); never to follow a
        link: these are the directories create() made (with an inner leaf: that one,
        as LXC, so the limits above stay out of the container's reach). The files are
        LXC's: the kernel's own list in /sys/kernel/cgroup/delegate where it has one."""
        listed = (fs.read_optional("/sys/kernel/cgroup/delegate") or "").split()
        files = dict.fromkeys([*self.DELEGATED, *listed])
        self._make_inner()
        for path in self.attach_paths():
            for target in (path, *(os.path.join(path, f) for f in files)):
                try:
                    os.chown(target, uid, gid, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # a file of the other cgroup version
                except OSError as exc:
                    raise CgroupError(f"cannot chown {target} to {uid}:{gid}: "
                                      f"{exc.strerror}") from None

    def signal_all(self, sig: int) -> None:
        """Send ``sig`` to every process of the container; do not wait."""
        fs.signal_pids(self.procs(), sig)

    def destroy(self) -> None:
        """Kill everything inside what create() made, then remove it children first;
        idempotent. A manager whose create() failed or never ran touches nothing: the
        directory its name points at may be another container's."""
        if self._monitor and self._mover == os.getpid():
            # the supervisor's move out of its monitor cgroup comes next (leave_monitor,
            # which stops it first): the kernel's wait for it runs meanwhile
            warm.stop()
            warm.start(self._monitor_procs())
        if (any(os.path.isdir(d) for d in self._made)
                and not fs.rmdir_if_empty(self._made, made=True)):
            self.kill_all()
            for path in self._made:
                fs.rmdir_tree(path)
        # levels of cgroup_dir we made go too, unless another container now uses them
        _rmdir_quietly(reversed(self._made_parents))
        self._made, self._made_parents = [], []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.relpath}>"


def _rmdir_quietly(paths: Iterable[str]) -> None:
    for path in paths:
        try:
            os.rmdir(path)
        except OSError:
            pass

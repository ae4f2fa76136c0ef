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
from lxcpy.cgroups import fs
from lxcpy.errors import CgroupError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:  # type-only: keep the import cost of every container start small
    from collections.abc import Callable, Iterable

    from lxcpy.cgroups.detect import HostLayout
    from lxcpy.config.model import CgroupSetting

SIGKILL = 9  # signal.SIGKILL; importing signal would build its enums on every start
PREFIX = "lxc.payload."
MAX_SUFFIX = 1000  # lxc.payload.NAME-1 .. -1000 when lxc.payload.NAME is taken (LXC: 1000)


@dataclass
class CgroupStats:
    """Usage counters; a field is None when this host/driver has no file for it."""

    cpu_ns: int | None = None
    memory_bytes: int | None = None
    kmem_bytes: int | None = None
    swap_bytes: int | None = None
    blkio_bytes: int | None = None


def setting_label(setting: CgroupSetting) -> str:
    """How an error names a setting: ``file:line: lxc.cgroup.key`` (no origin: the key)."""
    if setting.origin is not None:
        return f"{setting.origin}: {setting.config_key}"
    return setting.config_key


def relative_path(name: str, cgroup_dir: str | None) -> str:
    """``[cgroup_dir/]lxc.payload.<name>``, refusing anything that could leave the hierarchy."""
    if not name or name in (".", "..") or any(c in name for c in "/\0\n"):
        raise CgroupError(f"invalid container name for a cgroup: {name!r}")
    parts = []
    if cgroup_dir:
        parts = [p for p in cgroup_dir.split("/") if p]
        if any(p in (".", "..") or "\0" in p or "\n" in p for p in parts):
            raise CgroupError(f"lxc.cgroup.dir: invalid cgroup directory {cgroup_dir!r}")
    return "/".join([*parts, PREFIX + name])


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

    def __init__(self, name: str, layout: HostLayout, cgroup_dir: str | None = None) -> None:
        self.name = name
        self.layout = layout
        self.base_relpath = relative_path(name, cgroup_dir)
        self.relpath = self.base_relpath  # create() may add a suffix
        self._made: list[str] = []  # leaf cgroups create() made (what paths() reports)
        self._made_parents: list[str] = []  # cgroup_dir levels create() had to make

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
        record names it), and making it ours would let that recovery kill us."""
        for attempt in range(MAX_SUFFIX + 1):
            relpath = self.base_relpath + (f"-{attempt}" if attempt else "")
            if self._create_at(relpath):
                return
        raise CgroupError(f"cgroup {self.base_relpath}: no free name up to -{MAX_SUFFIX}")

    def _create_at(self, relpath: str) -> bool:
        """Make ``relpath`` exclusively in every hierarchy; False (nothing left behind) if it
        exists in one of them already."""
        roots = self.roots()
        made: list[str] = []
        parents: list[str] = []
        try:
            for root in roots:
                path = os.path.join(root, relpath)
                new = fs.mkdirs(os.path.dirname(path), root)  # cgroup_dir levels
                parents.extend(new)
                for directory in new:
                    self._init_dir(root, directory)
                try:
                    os.mkdir(path)
                except FileExistsError:
                    _rmdir_quietly([*reversed(made), *reversed(parents)])
                    return False
                except OSError as exc:
                    raise CgroupError(f"cannot create cgroup {path}: {exc.strerror}") from None
                made.append(path)
                self._init_dir(root, path)
        except BaseException:
            _rmdir_quietly([*reversed(made), *reversed(parents)])  # keep the first error
            raise
        self._rename(relpath)
        self._made, self._made_parents = made, parents
        return True

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into the cgroup in every hierarchy."""
        for path in self.dirs():
            try:
                fs.write_file(os.path.join(path, "cgroup.procs"), str(pid))
            except OSError as exc:
                raise CgroupError(f"cannot attach pid {pid} to {path}: {exc.strerror}") from None

    # what LXC's chown_cgroup_wrapper gives the mapped root: the directory, and the files
    # that move processes and delegate controllers (so a cgroup:rw mount inside works)
    DELEGATED = ("cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads",
                 "cgroup.clone_children")

    def chown(self, uid: int, gid: int) -> None:
        """Give the container's cgroups to its mapped root (lxc.idmap); never to follow a
        link: these are the directories create() made."""
        for path in self.dirs():
            for target in (path, *(os.path.join(path, f) for f in self.DELEGATED)):
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
        if any(os.path.isdir(d) for d in self._made):
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

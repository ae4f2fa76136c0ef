"""What a supervisor has made on the host, written down before it is made.

If the supervisor dies (SIGKILL), the container's processes die with it (PDEATHSIG on the
init, so its whole PID namespace goes), but cgroups, host-side network devices and the
socket file stay. The next command that touches the container finds this record with no
lock holder and undoes what it lists (:func:`recover`).
"""

from __future__ import annotations

import errno
import os

from lxcpy import jsonlite as json  # json.dumps/loads without importing json (re)
from lxcpy._record import dataclass, field
from lxcpy.paths import ContainerPaths, Lock, write_atomic

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Any


@dataclass
class Resources:
    """The record itself (a docstring also spares dataclass an inspect.signature call)."""

    supervisor_pid: int = 0
    init_pid: int = 0
    cgroup_paths: list[str] = field(default_factory=list)
    monitor_paths: list[str] = field(default_factory=list)  # the supervisor's lxc.monitor.NAME
    # path -> inode of the cgroup directory when first recorded: recovery acts on a path
    # only while it is still that directory (None: a record from before they were kept)
    cgroup_ids: dict[str, int] | None = field(default_factory=dict)
    net: list[dict[str, Any]] = field(default_factory=list)
    socket: str = ""
    # (not fields: no annotation) the record file kept open for in-place rewrites, its
    # length on disk, and what recovery acts on as last written
    _fd = -1
    _size = 0
    _written = None  # type: object

    def save(self, paths: ContainerPaths) -> None:
        """Write the record down. A change recovery does not act on (``init_pid``: the
        init dies with its supervisor, PDEATHSIG) writes nothing by itself."""
        if self.cgroup_ids is not None:
            for path in (*self.cgroup_paths, *self.monitor_paths):
                if path not in self.cgroup_ids:
                    try:
                        self.cgroup_ids[path] = os.stat(path).st_ino
                    except OSError:
                        pass  # not there: never made by us, so recovery leaves it alone
        acted_on = (list(self.cgroup_paths), list(self.monitor_paths),
                    dict(self.cgroup_ids or {}), [dict(r) for r in self.net], self.socket)
        if acted_on == self._written:
            return
        # the fields as they are (plain lists and dicts): no deep copy by asdict first
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        _write(self, paths.resources, json.dumps(fields).encode())
        self._written = acted_on

    def discard(self, paths: ContainerPaths) -> None:
        """Forget the record: everything it lists is undone (or about to be by the caller)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.unlink(paths.resources)
        except FileNotFoundError:
            pass
        self._written = None

    @classmethod
    def load(cls, paths: ContainerPaths) -> Resources | None:
        try:
            with open(paths.resources) as f:
                data = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return cls()
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields.setdefault("cgroup_ids", None)
        return cls(**fields)


PAGE = 4096  # a write(2) within one page lands whole or not at all for a killed writer


def _write(res: Resources, path: str, data: bytes) -> None:
    """The record on disk: made once with O_EXCL (the lock holder's; a stale one was
    released first), then rewritten in place, padded with blanks (JSON's whitespace) to
    its longest length, so it never shrinks and every version is one page-sized
    ``pwrite``: a killed supervisor leaves a whole record, old or new. Not a new file
    renamed over the old one: on ext4 (/run here) each such rename makes the kernel flush
    the new file first, 0.1-0.3 ms idle and up to 4-24 ms under disk load, per save.

    No fsync: the record is for recovery after a killed supervisor (the page cache
    survives that); after a machine crash its cgroups and devices are gone anyway. A
    record larger than a page, or a name taken by something else: replaced by rename."""
    if res._fd < 0 and not res._size and len(data) <= PAGE:
        try:
            res._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                              | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            pass
    if res._fd >= 0 and len(data) <= PAGE:
        data = data.ljust(res._size)
        if os.pwrite(res._fd, data, 0) != len(data):
            raise OSError(errno.ENOSPC, "short write", path)
    else:
        if res._fd >= 0:  # the open file is about to be an unlinked one: rename from now on
            os.close(res._fd)
            res._fd = -1
        write_atomic(path, data, 0o600, durable=False)
    res._size = max(res._size, len(data))


def release(paths: ContainerPaths, res: Resources | None) -> None:
    """Undo everything listed in ``res`` (best effort, idempotent) and forget it."""
    from lxcpy.log import log

    if res is not None:
        if res.net:
            try:
                from lxcpy.net import recover as net_recover

                net_recover(res.net)
            except Exception as exc:  # keep going: cgroups and files still need removing
                log.warning("recovery: network devices: %s", exc)
        if res.cgroup_paths or res.monitor_paths:
            try:
                from lxcpy.cgroups import remove_paths

                # the container's cgroups and the dead supervisor's monitor cgroup
                remove_paths([*res.cgroup_paths, *res.monitor_paths], ids=res.cgroup_ids)
            except Exception as exc:
                log.warning("recovery: cgroups: %s", exc)
    for path in (paths.socket, paths.resources, paths.seccomp):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def recover_if_stale(paths: ContainerPaths) -> bool:
    """Clean up after a dead supervisor. True if something was cleaned.

    Cheap when there is nothing to do (one stat), so every command can call it.
    """
    if not os.path.exists(paths.resources) and not os.path.exists(paths.socket):
        return False
    lock = Lock(paths.lock)
    if not lock.acquire(blocking=False):
        return False  # a live supervisor (or another recovery) holds it
    try:
        release(paths, Resources.load(paths))
    finally:
        lock.release()
    return True

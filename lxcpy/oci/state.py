"""The state store: one directory per container under --root (default /run/lxcpy-oci).

``ROOT/ID/state.json`` is written once by ``create`` (atomically) and read by every other
command; ``ROOT/ID/exec.fifo`` is the start gate (present while "created"). Every command
that changes a container holds an flock on its directory, so concurrent calls (podman's
cleanup racing a ``delete``, two ``start``s) are serialised. The status is never stored:
it is read from the kernel (runc's way), so a stale file cannot lie:

* the init is gone (or its PID now belongs to a process with another start time): stopped
* the gate FIFO is still there: created
* the container's cgroup is frozen: paused
* else running
"""

from __future__ import annotations

import fcntl
import os

from lxcpy import jsonlite
from lxcpy._record import asdict, dataclass, field
from lxcpy.oci import OCI_VERSION
from lxcpy.oci.args import DEFAULT_ROOT

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing, json, dataclasses or spec at run time: every command reads state
    from typing import Any

STATE = "state.json"
FIFO = "exec.fifo"


class StateError(Exception):
    """One line for the user; exit status 1 (runc's)."""


def check_id(cid: str) -> str:
    if not cid:
        raise StateError("container id cannot be empty")
    if "/" in cid or cid in (".", "..") or "\0" in cid or "\n" in cid or len(cid) > 1024:
        raise StateError(f"invalid container id format: {cid}")
    return cid


@dataclass
class Record:
    id: str
    bundle: str
    pid: int = 0
    start_time: str = ""  # field 22 of /proc/PID/stat: the PID is still our init
    created: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    cgroup_paths: list[str] = field(default_factory=list)
    rootfs: str = ""
    hooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seccomp: str = ""  # the compiled filter, for exec
    config: str = ""  # the bundle's config.json as read at create (for exec's defaults)
    resources: dict[str, Any] = field(default_factory=dict)  # what `update` set since


class Store:
    def __init__(self, root: str = DEFAULT_ROOT) -> None:
        self.root = os.path.abspath(root)

    def dir(self, cid: str) -> str:
        return os.path.join(self.root, check_id(cid))

    def fifo(self, cid: str) -> str:
        return os.path.join(self.dir(cid), FIFO)

    def ids(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.root)
                          if os.path.isfile(os.path.join(self.root, n, STATE)))
        except FileNotFoundError:
            return []

    def make(self, cid: str) -> int:
        """Make ID's directory (refused if it exists: the id is in use) and lock it."""
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        path = self.dir(cid)
        try:
            os.mkdir(path, 0o711)
        except FileExistsError:
            raise StateError(f"container with id exists: {cid}") from None
        return self.lock(cid)

    def lock(self, cid: str) -> int:
        path = self.dir(cid)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise StateError(f"container does not exist: {cid}") from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def save(self, rec: Record) -> None:
        path = os.path.join(self.dir(rec.id), STATE)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(jsonlite.dumps(asdict(rec)))
        os.rename(tmp, path)

    def load(self, cid: str) -> Record:
        path = os.path.join(self.dir(cid), STATE)
        try:
            with open(path, encoding="utf-8") as f:
                data = jsonlite.loads(f.read())
        except FileNotFoundError:
            raise StateError(f"container does not exist: {cid}") from None
        except (ValueError, SystemError):  # (jsonlite: the C scanner's error on bad input)
            raise StateError(f"{path}: damaged state file") from None
        return Record(**data)

    def remove(self, cid: str) -> None:
        """ID's directory: its few flat files, then itself (shutil, for anything more,
        costs ~5 ms of imports: re, fnmatch)."""
        path = self.dir(cid)
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        import shutil

                        shutil.rmtree(path, ignore_errors=True)
                        return
                    try:
                        os.unlink(entry.path)
                    except FileNotFoundError:
                        pass
            os.rmdir(path)
        except OSError:
            pass


def start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat ('' if gone or a zombie: it has exited)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""
    fields = data[data.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return ""
    return fields[19]


def status(store: Store, rec: Record) -> str:
    if rec.pid <= 0 or start_time(rec.pid) != rec.start_time:
        return "stopped"
    if os.path.exists(store.fifo(rec.id)):
        return "created"
    if is_frozen(rec.cgroup_paths):
        return "paused"
    return "running"


def is_frozen(paths: list[str]) -> bool:
    for path in paths:
        for name, frozen in (("freezer.state", "FROZEN"), ("cgroup.freeze", "1")):
            try:
                with open(os.path.join(path, name)) as f:
                    if f.read().strip() == frozen:
                        return True
            except OSError:
                continue
    return False


def state_json(store: Store, rec: Record) -> dict[str, Any]:
    """The runtime-spec's state: ociVersion, id, status, pid, bundle, annotations."""
    st = status(store, rec)
    out: dict[str, Any] = {"ociVersion": OCI_VERSION, "id": rec.id, "status": st,
                           "pid": rec.pid if st != "stopped" else 0, "bundle": rec.bundle,
                           "rootfs": rec.rootfs, "created": rec.created, "owner": ""}
    if rec.annotations:
        out["annotations"] = rec.annotations
    return out


def drop_rundir(store: Store) -> None:
    """The supervisor's run directory for --root (/run/lxcpy/HASH), once no container of
    this root has a file there any more (only its lxcpath marker is left)."""
    from lxcpy.paths import lxcpath_rundir

    rundir = lxcpath_rundir(store.root)
    try:
        names = os.listdir(rundir)
    except FileNotFoundError:
        return
    if set(names) <= {"lxcpath"} and not store.ids():
        try:
            os.unlink(os.path.join(rundir, "lxcpath"))
            os.rmdir(rundir)
        except OSError:
            pass  # a create of this root made something meanwhile: it stays

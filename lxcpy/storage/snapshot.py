"""lxc-snapshot: ``LXCPATH/NAME/snaps/snapN``, each a container of its own (config, store,
``ts`` with its time, ``comment``), as LXC lays them out.

A snapshot keeps the container's hostname and MAC addresses and its kind of store: btrfs
snapshots a subvolume, an overlay container's snapshot shares its lower and copies its
upper, dir and loop stores are copied (LXC does the same).
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING

from lxcpy.errors import AlreadyRunning, LxcError, NotDefined
from lxcpy.storage import OverlayStore

if TYPE_CHECKING:
    from lxcpy.container import Container

_SNAP = re.compile(r"snap(\d+)")


def snaps_dir(container: Container) -> str:
    return os.path.join(container.paths.dir, "snaps")


def _snap(container: Container, name: str) -> Container:
    from lxcpy.container import Container

    if not _SNAP.fullmatch(name):
        raise LxcError(f"'{name}' is not a snapshot name (snapN)")
    snap = Container(name, snaps_dir(container))
    if not snap.defined:
        raise NotDefined(f"{container.name} has no snapshot {name}")
    return snap


def list_snapshots(container: Container) -> list[tuple[str, str, str]]:
    """(name, timestamp, comment) of each snapshot, oldest first."""
    if not container.defined:
        raise NotDefined(f"container '{container.name}' is not defined in {container.lxcpath}")
    found = []
    base = snaps_dir(container)
    entries = os.listdir(base) if os.path.isdir(base) else []
    for entry in sorted((e for e in entries if _SNAP.fullmatch(e)),
                        key=lambda e: int(e[4:])):
        path = os.path.join(base, entry)
        if not os.path.isfile(os.path.join(path, "config")):
            continue
        found.append((entry, _read(os.path.join(path, "ts")).strip(),
                      _read(os.path.join(path, "comment"))))
    return found


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def snapshot(container: Container, comment_file: str | None = None) -> str:
    """Take the next snapN; returns its name."""
    from lxcpy.paths import write_atomic
    from lxcpy.storage.clone import clone
    from lxcpy.storage.removal import store_of_container

    if not container.defined:
        raise NotDefined(f"container '{container.name}' is not defined in {container.lxcpath}")
    comment = None
    if comment_file is not None:
        try:
            with open(comment_file) as f:
                comment = f.read()
        except OSError as exc:
            raise LxcError(f"comment file {comment_file}: {exc.strerror}") from None
    store = store_of_container(container)
    if store is None:
        raise LxcError(f"{container.name} has no rootfs to snapshot")
    live = store.kind == "btrfs"
    if container.state != "STOPPED" and not live:
        raise AlreadyRunning(f"{container.name} is running and its {store.kind} store cannot be "
                             "snapshotted live (only btrfs can): stop it first")
    base = snaps_dir(container)
    os.makedirs(base, 0o755, exist_ok=True)
    taken = {int(e[4:]) for e in os.listdir(base) if _SNAP.fullmatch(e)}
    number = next(i for i in range(len(taken) + 1) if i not in taken)
    name = f"snap{number}"
    snap = clone(container, name, base, snapshot=store.kind in ("btrfs", "overlay"),
                 keepname=True, keepmac=True, allow_running=live)
    try:
        write_atomic(os.path.join(snap.paths.dir, "ts"),
                     time.strftime("%Y:%m:%d %H:%M:%S\n"), 0o644)
        if comment is not None:
            write_atomic(os.path.join(snap.paths.dir, "comment"), comment, 0o644)
    except BaseException:
        destroy_snapshot(container, name)
        raise
    return name


def destroy_snapshot(container: Container, name: str) -> None:
    """lxc-snapshot -d SNAP|ALL."""
    from lxcpy.storage.removal import remove_snapshot_dir

    if name == "ALL":
        for entry, _ts, _comment in list_snapshots(container):
            remove_snapshot_dir(container, os.path.join(snaps_dir(container), entry))
        return
    remove_snapshot_dir(container, _snap(container, name).paths.dir)


def restore(container: Container, name: str, newname: str | None = None) -> None:
    """lxc-snapshot -r SNAP [-N NEW]: the snapshot back into the container, or into NEW."""
    from lxcpy.paths import Lock, ensure_rundir
    from lxcpy.storage.clone import clone
    from lxcpy.storage.removal import dependents, store_of_container, strip_store

    snap = _snap(container, name)
    snap_store = store_of_container(snap)
    as_overlay = isinstance(snap_store, OverlayStore)
    if newname and newname != container.name:
        clone(snap, newname, container.lxcpath, snapshot=as_overlay, keepmac=False)
        return
    clones = dependents(container)
    if clones:
        raise LxcError(f"{container.name} has snapshot clones "
                       f"({', '.join(c.name for c in clones)}): restoring would change their "
                       "lower layer")
    ensure_rundir(container.lxcpath)
    lock = Lock(container.paths.lock)
    if not lock.acquire(blocking=False) or container.state != "STOPPED":
        lock.release()
        raise AlreadyRunning(f"{container.name} is running: stop it first")
    try:
        strip_store(container)  # LXC, too, destroys the container, then clones the snapshot
        clone(snap, container.name, container.lxcpath, snapshot=as_overlay, keepmac=True,
              into_existing=True)
    finally:
        lock.release()


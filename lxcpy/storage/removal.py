"""Removal of containers with their stores and snapshots, and the dependency record.

The record is LXC's: an overlay snapshot clone names its origin in its own
``lxc_rdepends`` (``LXCPATH\\nNAME\\n``), and the origin lists its clones in
``lxc_snapshots`` (one ``LXCPATH\\nNAME\\n`` pair per clone); an origin with clones is not
destroyed unless its clones go with it. Below lxcpy.container (its destroy() calls
``remove_container_dir``): Containers of other names are made with the class of the one
given, never by importing lxcpy.container.
"""

from __future__ import annotations

import os
import shutil

from lxcpy.errors import LxcError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from lxcpy.config.model import ContainerConfig
    from lxcpy.paths import ContainerPaths
    from lxcpy.storage import Store

    class Container(Protocol):
        """What removal uses of lxcpy.container.Container (a layer above this one)."""

        name: str
        lxcpath: str
        paths: ContainerPaths

        def __init__(self, name: str, lxcpath: str) -> None: ...
        @property
        def defined(self) -> bool: ...
        def load_config(self) -> ContainerConfig: ...
        def destroy(self, force: bool = False, snapshots: bool = False) -> None: ...

SNAPSHOTS = "lxc_snapshots"
RDEPENDS = "lxc_rdepends"


def store_of_container(container: Container) -> Store | None:
    from lxcpy.storage import store_of

    return store_of(container.load_config())


# ---- the dependency record --------------------------------------------------------------
def read_pairs(path: str) -> list[tuple[str, str]]:
    try:
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line]
    except FileNotFoundError:
        return []
    return list(zip(lines[0::2], lines[1::2], strict=False))


def write_pairs(path: str, entries: list[tuple[str, str]]) -> None:
    if not entries:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    from lxcpy.paths import write_atomic

    write_atomic(path, "".join(f"{p}\n{n}\n" for p, n in entries), 0o640)


def add_dependency(origin: Container, clone_: Container) -> None:
    record = os.path.join(origin.paths.dir, SNAPSHOTS)
    pairs = read_pairs(record)
    pairs.append((clone_.lxcpath, clone_.name))
    write_pairs(record, pairs)
    write_pairs(os.path.join(clone_.paths.dir, RDEPENDS), [(origin.lxcpath, origin.name)])


def dependents(container: Container) -> list[Container]:
    """The snapshot clones whose lower is this container's rootfs (still defined)."""
    found = []
    for lxcpath, name in read_pairs(os.path.join(container.paths.dir, SNAPSHOTS)):
        clone_ = type(container)(name, lxcpath)
        if clone_.defined:
            found.append(clone_)
    return found


def drop_dependency(container: Container) -> None:
    """Remove ``container`` from its origin's lxc_snapshots."""
    for lxcpath, name in read_pairs(os.path.join(container.paths.dir, RDEPENDS)):
        record = os.path.join(type(container)(name, lxcpath).paths.dir, SNAPSHOTS)
        pairs = [p for p in read_pairs(record) if p != (container.lxcpath, container.name)]
        if os.path.exists(record):
            write_pairs(record, pairs)


# ---- removal ----------------------------------------------------------------------------
def destroy_store(store: Store, cdir: str) -> None:
    """Remove the store's data when it lives in the container dir (LXC: never elsewhere)."""
    if store.owned_by(cdir):
        store.destroy()


def remove_container_dir(container: Container, with_dependents: bool) -> None:
    """Remove the container's directory, its store, its snapshots (snaps/); its snapshot
    clones too when ``with_dependents``, else refuse while it has any. The caller holds the
    container's lock and knows it is stopped."""
    snaps = os.path.join(container.paths.dir, "snaps")
    own = sorted(os.listdir(snaps)) if os.path.isdir(snaps) else []
    clones = [c for c in dependents(container) if c.lxcpath != snaps]
    if clones and not with_dependents:
        names = ", ".join(c.name for c in clones)
        raise LxcError(f"{container.name} has snapshot clones ({names}): destroy them first, "
                       "or use -s to destroy them with it")
    if own and not with_dependents:
        raise LxcError(f"{container.name} has snapshots ({', '.join(own)}): use -s to destroy "
                       "them with it")
    for clone_ in clones:
        if os.path.basename(clone_.lxcpath) == "snaps":  # another container's snapshot
            remove_snapshot_dir(clone_, clone_.paths.dir)
        else:
            clone_.destroy(force=True, snapshots=True)
    for entry in own:
        remove_snapshot_dir(container, os.path.join(snaps, entry))
    store = None
    try:
        store = store_of_container(container)
    except LxcError:
        pass  # a config that no longer parses: remove the directory anyway
    if store is not None:
        destroy_store(store, container.paths.dir)
    drop_dependency(container)
    from lxcpy.kernel.userns import rmtree

    rmtree(container.paths.dir)  # a non-root user's: through their user namespace


def remove_snapshot_dir(like: Container, path: str) -> None:
    """A snapshot (snaps/snapN) with its store; refused while it has clones of its own.
    ``like``: any Container (its class makes the snapshot's: no import of lxcpy.container)."""
    snap = type(like)(os.path.basename(path), os.path.dirname(path))
    clones = dependents(snap)
    if clones:
        raise LxcError(f"snapshot {snap.name} has snapshot clones "
                       f"({', '.join(c.name for c in clones)})")
    try:
        store = store_of_container(snap)
        if store is not None:
            destroy_store(store, path)
    except LxcError:
        pass
    drop_dependency(snap)
    shutil.rmtree(path, ignore_errors=True)


def strip_store(container: Container) -> None:
    """Remove the container's config and store, keeping its directory and snaps/ (restore)."""
    store = store_of_container(container)
    if store is not None:
        destroy_store(store, container.paths.dir)
    drop_dependency(container)
    for entry in ("config", "rootfs", "delta0", "olwork", "rootdev", RDEPENDS):
        path = os.path.join(container.paths.dir, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)



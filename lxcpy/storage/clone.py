"""Copies, snapshot clones and renames of containers with their backing stores.

What lxc-copy, lxc-snapshot and lxc-destroy share. A clone is all or nothing: the new name
is claimed with mkdir, and any failure removes the new directory (and the store it made).

The dependency record between an origin and its snapshot clones, and removal, are
lxcpy.storage.removal's (below lxcpy.container, whose destroy() uses them).
"""

from __future__ import annotations

import os
import re
import shutil
from typing import TYPE_CHECKING

from lxcpy.errors import AlreadyExists, AlreadyRunning, LxcError, NotDefined
from lxcpy.storage import (
    BtrfsStore,
    DirStore,
    LoopStore,
    OverlayStore,
    Store,
    copy_tree,
    kind_of,
    make_store,
    parse_spec,
)
from lxcpy.storage.removal import (
    RDEPENDS,
    SNAPSHOTS,
    add_dependency,
    dependents,
    destroy_store,
    read_pairs,
    store_of_container,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from lxcpy.config.model import ContainerConfig
    from lxcpy.container import Container

# files of a container directory that belong to its store or its history, never copied
_NOT_COPIED = {"config", "rootfs", "delta0", "olwork", "rootdev", "snaps", SNAPSHOTS,
               RDEPENDS, "ts", "comment"}


def _claim(container: Container) -> None:
    try:
        os.makedirs(container.lxcpath, 0o755, exist_ok=True)
        os.mkdir(container.paths.dir, 0o770)
        if os.geteuid() != 0:  # a user's container: its mapped root must reach the rootfs
            os.chmod(container.paths.dir, 0o771)
    except FileExistsError:
        raise AlreadyExists(f"container '{container.name}' already exists in "
                            f"{container.lxcpath}") from None
    except OSError as exc:
        raise LxcError(f"cannot create '{container.paths.dir}': {exc.strerror}") from None


def _check_stopped(src: Container, allow_running: bool, live_ok: bool) -> None:
    if src.state == "STOPPED":
        return
    if not allow_running:
        raise AlreadyRunning(f"{src.name} is running: stop it first (or -a to copy it "
                             "running)")
    if not live_ok:
        raise AlreadyRunning(f"{src.name} is running and its backing store cannot snapshot "
                             "it live (only btrfs can)")


def new_config_text(text: str, src: Container, new: Container, spec: str | None,
                    keepname: bool, keepmac: bool, ephemeral: bool | None = None) -> str:
    """The copy's config, through the config model (keys as the parser reads them, the
    user's lines and order kept): paths under the old container dir moved to the new one,
    the new rootfs, hostname and MAC addresses (unless kept), lxc.ephemeral set or dropped.
    Not loaded at the new path here: a rename moves the files there afterwards."""
    from lxcpy.config.keys import randomize_hwaddr
    from lxcpy.config.parser import clear_item, get_item, parse_text, set_item, to_text

    old_dir, new_dir = src.paths.dir.rstrip("/"), new.paths.dir.rstrip("/")
    moved = re.compile(re.escape(old_dir) + r"(?=/|$|\s)")
    cfg = parse_text(text, src.paths.config)
    clear_item(cfg, "lxc.rootfs.path")
    if ephemeral is not None:
        clear_item(cfg, "lxc.ephemeral")
    for _raw, entry, _value in cfg.lines:
        if entry is None:
            continue
        value = moved.sub(new_dir, entry.value)
        if entry.canonical == "lxc.uts.name" and not keepname:
            value = new.name[:64]
        elif (entry.canonical.startswith("lxc.net.") and entry.canonical.endswith(".hwaddr")
              and not keepmac):
            value = randomize_hwaddr("00:16:3e:xx:xx:xx")
        entry.value = value  # to_text writes a changed value as `key = value`
    if not keepname and not get_item(cfg, "lxc.uts.name"):
        set_item(cfg, "lxc.uts.name", new.name[:64])
    if spec is not None:
        set_item(cfg, "lxc.rootfs.path", spec)
    if ephemeral:
        set_item(cfg, "lxc.ephemeral", "1")
    return to_text(cfg)


def _set_hostname(store: Store, target: str, new: str) -> None:
    """LXC's clone writes the new name into the copy's /etc/hostname, when it has one.
    ``target``: the store's writable tree (an overlay's upper: the lower is never written)."""
    rel = os.path.join("etc", "hostname")
    found = os.path.join(target, rel)
    if isinstance(store, OverlayStore) and not os.path.lexists(found):
        lower_etc = os.path.join(store.lower, "etc")
        if os.path.islink(lower_etc) or not os.path.isfile(os.path.join(lower_etc, "hostname")):
            return
        upper_etc = os.path.join(target, "etc")
        if not os.path.isdir(upper_etc):  # the directory as the lower has it
            st = os.stat(lower_etc)
            os.mkdir(upper_etc, st.st_mode & 0o7777)
            os.chown(upper_etc, st.st_uid, st.st_gid)
    elif not os.path.isfile(found):
        return
    # never follow a link of the copied tree (etc, etc/hostname) out of it
    if os.path.realpath(found) != os.path.join(os.path.realpath(target), rel):
        return
    fd = os.open(found, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(new + "\n")


def _make_copy_store(src_store: Store, new: Container, kind: str | None, snapshot: bool,
                     fssize: int | None, running: bool) -> Store:
    """The new container's store with the origin's tree in it."""
    cdir = new.paths.dir
    if snapshot:
        kind = kind or ("btrfs" if src_store.kind == "btrfs" else "overlay")
        if kind == "btrfs":
            if src_store.kind != "btrfs":
                raise LxcError(f"a btrfs snapshot needs a btrfs origin, not {src_store.kind}")
            return BtrfsStore.snapshot_of(src_store.rootfs, os.path.join(cdir, "rootfs"))
        if kind != "overlay":
            raise LxcError(f"snapshot clones are overlay or btrfs, not {kind}")
        if running:
            raise AlreadyRunning("the origin is running: an overlay snapshot of a running "
                                 "container is refused (only btrfs can snapshot live)")
        if isinstance(src_store, OverlayStore):  # LXC: same lower, a copy of the upper
            store = OverlayStore.make(cdir, src_store.lower)
            copy_tree(src_store.upper, store.upper)
            return store
        if isinstance(src_store, LoopStore):
            raise LxcError("a loop store cannot be the lower of an overlay snapshot")
        return OverlayStore.make(cdir, src_store.rootfs)
    kind = kind or ("dir" if src_store.kind == "overlay" else src_store.kind)
    if kind == "btrfs" and src_store.kind == "btrfs":  # LXC copies btrfs by snapshot
        return BtrfsStore.snapshot_of(src_store.rootfs, os.path.join(cdir, "rootfs"))
    if kind == "loop" and fssize is None and isinstance(src_store, LoopStore):
        fssize = src_store.size()
    made: Store = make_store(kind, cdir, None, fssize)
    target = made.populate()
    try:
        source = src_store.open_for_read()
        try:
            copy_tree(source, target)
        finally:
            src_store.close_read(source)
    finally:
        made.close_read(target)
    return made


def lower_owner(src: Container, src_store: Store) -> Container:
    """Whose rootfs an overlay snapshot of ``src`` reads: ``src``'s own, or (``src`` an
    overlay clone itself, whose lower the new clone shares) its origin's."""
    from lxcpy.container import Container

    if isinstance(src_store, OverlayStore):
        for lxcpath, name in read_pairs(os.path.join(src.paths.dir, RDEPENDS)):
            return Container(name, lxcpath)
    return src


def clone(src: Container, newname: str, newpath: str | None = None, *, snapshot: bool = False,
          bdev: str | None = None, fssize: int | None = None, keepname: bool = False,
          keepmac: bool = False, allow_running: bool = False,
          ephemeral: bool | None = None, mount_entries: tuple[str, ...] = (),
          into_existing: bool = False, hook_args: tuple[str, ...] = ()) -> Container:
    """lxc-copy: ``NEW`` as a copy (or snapshot clone) of ``src``. ``into_existing``: the
    new directory is there already (a restore keeps the container's snaps/). The copy's
    lxc.hook.clone hooks run on it (with ``hook_args`` after LXC's three); one failing
    undoes the copy."""
    from lxcpy.config import parse_text
    from lxcpy.container import Container
    from lxcpy.paths import write_atomic

    if not src.defined:
        raise NotDefined(f"container '{src.name}' is not defined in {src.lxcpath}")
    new = Container(newname, newpath or src.lxcpath)
    if new.paths.dir == src.paths.dir:
        raise AlreadyExists(f"container '{newname}' already exists in {new.lxcpath}")
    kind = kind_of(bdev) if bdev else None
    src_store = store_of_container(src)
    if src_store is None:
        raise LxcError(f"{src.name} has no rootfs to copy")
    running = src.state != "STOPPED"
    _check_stopped(src, allow_running, live_ok=not snapshot or src_store.kind == "btrfs")
    with open(src.config_file_name) as f:  # lxc-copy --rcfile: that file's config
        text = f.read()
    if not into_existing:
        _claim(new)
    store: Store | None = None
    try:
        store = _make_copy_store(src_store, new, kind, snapshot, fssize, running)
        for entry in sorted(os.listdir(src.paths.dir)):
            path = os.path.join(src.paths.dir, entry)
            if entry not in _NOT_COPIED and os.path.isfile(path) and not os.path.islink(path):
                shutil.copy2(path, os.path.join(new.paths.dir, entry))
        text = new_config_text(text, src, new, store.spec, keepname, keepmac, ephemeral)
        text += "".join(f"lxc.mount.entry = {e}\n" for e in mount_entries)
        cfg = parse_text(text, new.paths.config)  # what we store must load
        write_atomic(new.paths.config, text, 0o640)
        if cfg.hooks.get("clone"):  # LXC: the hooks first, then the hostname
            run_clone_hooks(cfg, src, new, store, hook_args)
        if not keepname:
            target = store.populate()
            try:
                _set_hostname(store, target, new.name)
            finally:
                store.close_read(target)
        if isinstance(store, OverlayStore) and snapshot:
            add_dependency(lower_owner(src, src_store), new)
    except BaseException:
        if store is not None:
            destroy_store(store, new.paths.dir)
        if into_existing:
            for entry in ("config", "rootfs", "delta0", "olwork", "rootdev", RDEPENDS):
                path = os.path.join(new.paths.dir, entry)
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                elif os.path.exists(path):
                    os.unlink(path)
        else:
            shutil.rmtree(new.paths.dir, ignore_errors=True)
        raise
    return new


def run_clone_hooks(cfg: ContainerConfig, src: Container, new: Container, store: Store,
                    args: tuple[str, ...] = ()) -> None:
    """LXC's clone_update_rootfs: the new container's lxc.hook.clone hooks, each run as
    ``HOOK NEW lxc clone ARGS...`` with LXC_NAME, LXC_SRC_NAME, LXC_CONFIG_FILE,
    LXC_ROOTFS_PATH (the store's spelling) and LXC_ROOTFS_MOUNT (where the new rootfs is
    mounted), in a mount namespace of their own, so an overlay or loop store is mounted
    for them and nowhere else, and goes with them. A non-root user's run as root of a user
    namespace mapping their grants (LXC: userns_exec_full)."""
    from lxcpy.runtime.hooks import run_hook

    env = {"LXC_NAME": new.name, "LXC_SRC_NAME": src.name, "LXC_CONFIG_FILE": new.paths.config,
           "LXC_ROOTFS_PATH": store.spec, "LXC_ROOTFS_MOUNT": store.rootfs}

    def in_private_mounts() -> None:
        from lxcpy import kernel as k

        k.unshare(k.CLONE_NEWNS)
        k.mount(None, "/", None, k.MS_REC | k.MS_PRIVATE, None)
        if store.mounted:
            os.makedirs(store.rootfs, 0o755, exist_ok=True)
            store.mount(store.rootfs)
        run_hook(new.name, cfg, "clone", cfg.hooks["clone"], args, env)

    if os.geteuid() != 0:
        from lxcpy.kernel.userns import as_mapped_root

        as_mapped_root(in_private_mounts)
    else:
        _in_child(in_private_mounts)


def _in_child(fn: Callable[[], None]) -> None:
    """Run ``fn`` in a child process (whose namespaces go with it); its error, one line."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # never returns
        os.close(read_fd)
        code = 0
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as one line
            message = exc.message if isinstance(exc, LxcError) else str(exc)
            os.write(write_fd, message.encode(errors="replace")[:4000] or b"failed")
            code = 1
        os._exit(code)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as f:
            error = f.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if error or status:
        raise LxcError(error.decode(errors="replace") or "lxc.hook.clone failed")


def rename(src: Container, newname: str, keepname: bool = False) -> Container:
    """lxc-copy -R: move the directory, rewrite the paths and the hostname in the config.
    LXC renames by a clone and a destroy: the clone hooks run (one failing undoes it)."""
    from lxcpy.config import parse_text
    from lxcpy.container import Container
    from lxcpy.paths import Lock, ensure_rundir, write_atomic

    if not src.defined:
        raise NotDefined(f"container '{src.name}' is not defined in {src.lxcpath}")
    new = Container(newname, src.lxcpath)
    if os.path.exists(new.paths.dir):
        raise AlreadyExists(f"container '{newname}' already exists in {new.lxcpath}")
    if dependents(src) or os.path.exists(os.path.join(src.paths.dir, RDEPENDS)):
        raise LxcError(f"{src.name} has snapshot clones or is one: renaming it would break "
                       "them")
    ensure_rundir(src.lxcpath)
    lock = Lock(src.paths.lock)
    if not lock.acquire(blocking=False) or src.state != "STOPPED":
        lock.release()
        raise AlreadyRunning(f"{src.name} is running: stop it first")
    try:
        store = store_of_container(src)
        with open(src.paths.config) as f:
            text = f.read()
        spec = store.spec if store is not None else None
        if spec is not None:  # the store's paths under the old dir move with it
            spec = re.sub(re.escape(src.paths.dir.rstrip("/")) + r"(?=/|$|:)",
                          new.paths.dir.rstrip("/"), spec)
        original, text = text, new_config_text(text, src, new, spec, keepname, keepmac=True)
        os.rename(src.paths.dir, new.paths.dir)
        try:
            cfg = parse_text(text, new.paths.config)  # its files are at the new path now
            write_atomic(new.paths.config, text, 0o640)
            if spec is not None and cfg.hooks.get("clone"):  # LXC renames by a clone
                run_clone_hooks(cfg, src, new, parse_spec(spec))
        except BaseException:
            write_atomic(new.paths.config, original, 0o640)
            os.rename(new.paths.dir, src.paths.dir)
            raise
    finally:
        lock.release()
    return new


def bind_entry(spec: str) -> str:
    """lxc-copy -m bind=SRC[:DEST][:ro|rw] -> LXC's lxc.mount.entry value."""
    kind, eq, rest = spec.partition("=")
    if kind != "bind" or not eq or not rest:
        raise LxcError(f"-m {spec}: only bind=/SRC[:/DEST][:ro|rw] mounts are supported")
    parts = rest.split(":")
    options = "rw"
    if len(parts) == 1:
        src, dest = parts[0], parts[0]
    elif len(parts) == 2 and parts[1] in ("ro", "rw"):
        src, dest, options = parts[0], parts[0], parts[1]
    elif len(parts) == 2:
        src, dest = parts
    elif len(parts) == 3:
        src, dest, options = parts
    else:
        raise LxcError(f"-m {spec}: too many ':' fields")
    if options not in ("ro", "rw"):
        raise LxcError(f"-m {spec}: the mount option is ro or rw, not '{options}'")
    src = os.path.normpath(src)
    if not os.path.isabs(src) or not os.path.exists(src):
        raise LxcError(f"-m {spec}: '{src}' is not an existing absolute path")
    dest = os.path.normpath("/" + dest).lstrip("/")
    if not dest or ".." in dest.split("/") or any(c.isspace() for c in src + dest):
        raise LxcError(f"-m {spec}: bad destination '{dest}'")
    create = "create=dir" if os.path.isdir(src) else "create=file"
    return f"{src} {dest} none bind,optional,{options},{create} 0 0"


def random_name(name: str, lxcpath: str) -> str:
    """LXC's NAME_%08x name of an ephemeral clone."""
    while True:
        candidate = f"{name}_{int.from_bytes(os.urandom(4), 'big'):08x}"
        if not os.path.exists(os.path.join(lxcpath, candidate)):
            return candidate


__all__ = ["DirStore", "bind_entry", "clone", "dependents", "random_name", "rename",
           "parse_spec"]

"""OCI mounts, in config.json's order (the runtime-spec requires it), in the container's
first process before pivot_root.

Each mount is an fstab-style entry (``lxcpy.rootfs.mounts.mount_entry``: targets resolved
inside the rootfs, never through its symlinks). A tmpfs on /dev is given the standard
nodes and links (runc's default devices); ``cgroup`` mounts the container's own view of
the host's hierarchies (``mount_cgroups``). lxcpy's own /proc protection (proc:mixed) is
not added: as with runc, config.json's readonlyPaths and maskedPaths decide.

A container without a mount namespace of its own (none listed: the runtime's; or one
joined by path) is put together in a private copy of that namespace
(``namespaces.stage_mounts``) and then rooted in a detached copy of the finished tree
(:func:`enter_tree`): its process is in the runtime's (or the joined) mount namespace, as
the runtime-spec says, and that namespace's mount table is left as it was. runc instead
makes the namespace's / rslave and mounts the rootfs, /proc, /dev, ... in it (left
behind on the host for a container without a mount namespace), then chroots (or
pivot_roots every process of a joined namespace).
"""

from __future__ import annotations

import os
import stat

from lxcpy import kernel as k
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError
from lxcpy.rootfs.dev import LINKS, NODES, _make_node
from lxcpy.rootfs.mounts import Root, mount_cgroups, mount_entry


def setup(cfg: ContainerConfig, root: Root | None) -> None:
    if root is None:
        raise LxcError("config.json: OCI mounts need a rootfs")
    for entry in cfg.oci_mounts or []:
        if entry.fstype in ("cgroup", "cgroup2"):
            mount_cgroups(root, "ro" if "ro" in entry.option_list else "rw")
            continue
        mount_entry(entry, root)
        if entry.target.strip("/") == "dev" and entry.fstype == "tmpfs":
            _populate_dev(cfg, root)
    for device in cfg.oci_devices:
        _make_device(root, *device)


def enter_tree(root: Root, read_only: bool, home: int) -> None:
    """Root ourselves in a detached copy (open_tree) of the rootfs with every mount made
    beneath it, back in the mount namespace ``home``. The copy is in no namespace's mount
    table: it ends with its last user, a chroot inside it cannot climb out of it (its top
    has no parent), and mount(2) on it fails (EINVAL)."""
    if read_only:
        k.mount(None, root.path, None, k.MS_REMOUNT | k.MS_BIND | k.MS_RDONLY, None)
    tree = k.open_tree(root.path)
    try:
        k.setns(home, k.CLONE_NEWNS)  # the staging copy ends with us leaving it
        os.fchdir(tree)
        os.chroot(".")
        os.chdir("/")
    finally:
        os.close(tree)
        os.close(home)
        root.close()


def _populate_dev(cfg: ContainerConfig, root: Root) -> None:
    dev = root.open("/dev")
    old = os.umask(0)
    try:
        for name, major, minor in NODES:
            _make_node(dev, name, major, minor,  # no mknod in a user namespace: binds
                       bind_only=bool(cfg.idmaps) or "user" in cfg.namespace_share)
        for name, target in LINKS:
            os.symlink(target, name, dir_fd=dev)
    except OSError as exc:
        raise LxcError(f"config.json: cannot populate /dev: {exc.strerror}") from None
    finally:
        os.umask(old)
        os.close(dev)


_KINDS = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def _make_device(root: Root, path: str, kind: str, major: int, minor: int, mode: int,
                 uid: int, gid: int) -> None:
    """linux.devices: mknod inside the rootfs (its parent resolved there, no symlink out)."""
    parent, name = os.path.split(path.rstrip("/"))
    dirfd = root.open(parent or "/", "dir")
    try:
        where = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dirfd)
    finally:
        os.close(dirfd)
    old = os.umask(0)
    try:
        try:
            os.unlink(name, dir_fd=where)
        except FileNotFoundError:
            pass
        os.mknod(name, _KINDS[kind] | mode, os.makedev(major, minor), dir_fd=where)
        os.chown(name, uid, gid, dir_fd=where, follow_symlinks=False)
    except OSError as exc:
        raise LxcError(f"config.json: linux.devices: cannot make {path}: "
                       f"{exc.strerror}") from None
    finally:
        os.umask(old)
        os.close(where)

"""Paths inside a rootfs, resolved by the kernel inside it (runc's internal/pathrs).

Every path inside a container's rootfs goes through a :class:`Root`: openat2 with
RESOLVE_IN_ROOT resolves it as the container would see it (an absolute symlink or ``..``
stays inside the rootfs) and refuses /proc magic links, and the caller acts on the
returned O_PATH fd through its ``/proc/self/fd/N`` path (:func:`fd_path`) -- mount on it,
unmount it, create in it -- never on ``root.path + target``, which the kernel would resolve
on the host (CVE-2015-1335 class).
"""

from __future__ import annotations

import errno
import os

from lxcpy import kernel as k
from lxcpy.errors import KernelError, LxcError

_IN_ROOT = k.RESOLVE_IN_ROOT | k.RESOLVE_NO_MAGICLINKS


def fd_path(fd: int) -> str:
    """The path through which the kernel reaches exactly what ``fd`` refers to."""
    return f"/proc/self/fd/{fd}"


class Root:
    """The directory the container will see as ``/``, with safe path resolution inside it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        os.close(self.fd)

    def inner(self, target: str) -> str:
        """The target as a path relative to the root (absolute targets too)."""
        rel = target
        if rel.startswith(self.path.rstrip("/") + "/"):
            rel = rel[len(self.path.rstrip("/")):]
        return rel.lstrip("/") or "."

    def open(self, target: str, create: str | None = None) -> int:
        """An O_PATH fd of ``target`` resolved inside the root; create it if asked."""
        rel = self.inner(target)
        try:
            return k.openat2(self.fd, rel, os.O_PATH, _IN_ROOT)
        except KernelError as exc:
            if exc.errno != errno.ENOENT or create is None:
                raise
        self._create(rel, create)
        return k.openat2(self.fd, rel, os.O_PATH, _IN_ROOT)

    def mount_target(self, target: str, create: str | None = None) -> int:
        """:meth:`open` for a mount point, which is never the root itself: a symlink such as
        ``dev -> ..`` resolves there, and a mount on it would hide the whole rootfs."""
        fd = self.open(target, create)
        here, top = os.fstat(fd), os.fstat(self.fd)
        if (here.st_dev, here.st_ino) == (top.st_dev, top.st_ino):
            os.close(fd)
            raise LxcError(f"mount target '{target}' resolves to the container's root itself")
        return fd

    def _create(self, rel: str, kind: str) -> None:
        # walk component by component, each step resolved inside the root
        parts = [p for p in rel.split("/") if p and p != "."]
        dirfd = os.dup(self.fd)
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                sub = "/".join(parts[: i + 1])
                try:
                    nxt = k.openat2(self.fd, sub, os.O_PATH, _IN_ROOT)
                except KernelError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
                    parent = k.openat2(self.fd, "/".join(parts[:i]) or ".",
                                       os.O_DIRECTORY, _IN_ROOT)
                    try:
                        if last and kind == "file":
                            fd = os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY
                                         | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=parent)
                            os.close(fd)
                        else:
                            try:
                                os.mkdir(part, 0o755, dir_fd=parent)
                            except FileExistsError:
                                pass
                    finally:
                        os.close(parent)
                    continue
                os.close(nxt)
        finally:
            os.close(dirfd)

    def exists(self, target: str) -> bool:
        """Whether ``target`` resolves inside the root (a dangling symlink does not)."""
        try:
            os.close(self.open(target))
        except KernelError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return False
            raise
        return True

    def umount(self, target: str, flags: int = k.MNT_DETACH) -> None:
        """Unmount the top mount on ``target`` resolved inside the root.

        The fd taken after the mount refers to the mounted tree's root, so the unmount
        hits that mount; the default MNT_DETACH lets our own fd not keep it busy."""
        fd = self.open(target)
        try:
            k.umount2(fd_path(fd), flags)
        finally:
            os.close(fd)

    def chdir(self) -> None:
        """Make the root the working directory (for pivot_root's "." trick)."""
        os.fchdir(self.fd)


def open_path(root: Root | None, target: str) -> int:
    """An O_PATH fd of ``target``: inside ``root``, or on the host when there is no rootfs
    (a container without a rootfs of its own sees the host's paths as they are)."""
    if root is not None:
        return root.open(target)
    return os.open(target, os.O_PATH | os.O_CLOEXEC)

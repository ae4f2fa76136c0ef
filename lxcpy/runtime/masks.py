"""OCI maskedPaths and readonlyPaths, applied in the container's first process after every
mount (so /proc's files can be masked) and before pivot_root.

A masked file gets /dev/null bound over it, a masked directory an empty read-only tmpfs
(runc's maskPath); a read-only path is bound onto itself and remounted read-only
(runc's readonlyPath). Paths that do not exist are skipped, as runc does.
"""

from __future__ import annotations

import errno
import os
import stat

from lxcpy import kernel as k
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import KernelError, LxcError
from lxcpy.rootfs.pathrs import Root, fd_path


def apply_masks(cfg: ContainerConfig, root: Root | None) -> None:
    if root is None:
        raise LxcError("maskedPaths/readonlyPaths need a rootfs")
    for path in cfg.readonly_paths:
        fd = _open(root, path)
        if fd < 0:
            continue
        try:
            k.mount(fd_path(fd), fd_path(fd), None, k.MS_BIND | k.MS_REC, None)
        finally:
            os.close(fd)
        fd = _open(root, path)
        try:
            k.mount(None, fd_path(fd), None, k.MS_REMOUNT | k.MS_BIND | k.MS_RDONLY
                    | k.MS_REC | _locked_flags(fd), None)
        finally:
            os.close(fd)
    for path in cfg.masked_paths:
        fd = _open(root, path)
        if fd < 0:
            continue
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                k.mount("tmpfs", fd_path(fd), "tmpfs", k.MS_RDONLY, None)
            else:
                k.mount("/dev/null", fd_path(fd), None, k.MS_BIND, None)
        finally:
            os.close(fd)


def _open(root: Root, path: str) -> int:
    try:
        return root.open(path)
    except KernelError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return -1
        raise LxcError(f"cannot resolve '{path}' in the rootfs: {os.strerror(exc.errno)}") \
            from None


def _locked_flags(fd: int) -> int:
    """A remount must keep nosuid/nodev/noexec the mount already has (the kernel refuses
    to clear locked flags)."""
    st = os.statvfs(fd_path(fd))
    flags = 0
    if st.f_flag & os.ST_NOSUID:
        flags |= k.MS_NOSUID
    if st.f_flag & os.ST_NODEV:
        flags |= k.MS_NODEV
    if st.f_flag & os.ST_NOEXEC:
        flags |= k.MS_NOEXEC
    return flags

"""``lxc.autodev = 1``: a small tmpfs /dev inside the rootfs, filled like LXC's.

Made before the mount entries (so ``shm dev/shm`` and friends land on it) and before
pivot_root. Every path is resolved inside the rootfs (``pathrs.Root.open``) and every node is
made relative to a directory fd of the new /dev, so a symlink in the rootfs can never
make us create or mount something on the host.

Contents: null zero full random urandom tty (device nodes, 0666), ptmx -> pts/ptmx, pts (a
devpts instance of the container's own), fd stdin stdout stderr (-> /proc/self/fd),
shm/ and mqueue/. /dev/console and /dev/tty1..N are bind targets made by the console set-up
(lxcpy.runtime.console), which binds ptys the supervisor allocated onto them.
"""

from __future__ import annotations

import os
import stat

from lxcpy import kernel as k
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import KernelError, LxcError
from lxcpy.rootfs.pathrs import Root, fd_path

DEV_SIZE = "500k"  # LXC's
NODES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
         ("urandom", 1, 9), ("tty", 5, 0))
LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
         ("ptmx", "pts/ptmx"))
TTY_GID = 5  # group "tty": devpts gives new ptys to it


def setup_autodev(cfg: ContainerConfig, root: Root) -> None:
    size = str(cfg.autodev_tmpfs_size) if cfg.autodev_tmpfs_size else DEV_SIZE
    _mount_dev_tmpfs(root, size)
    dev = root.open("/dev")
    old = os.umask(0)
    try:
        for name, major, minor in NODES:
            # in a user namespace (lxc.idmap) mknod is never allowed: bind the host's nodes
            _make_node(dev, name, major, minor, bind_only=bool(cfg.idmaps))
        for name, target in LINKS:
            os.symlink(target, name, dir_fd=dev)
        os.mkdir("pts", 0o755, dir_fd=dev)
        os.mkdir("shm", 0o1777, dir_fd=dev)
        os.mkdir("mqueue", 0o755, dir_fd=dev)
    except OSError as exc:
        raise LxcError(f"lxc.autodev: cannot populate /dev: {exc.strerror}") from None
    finally:
        os.umask(old)
        os.close(dev)
    mount_devpts(root, cfg.pty_max)


def _mount_dev_tmpfs(root: Root, size: str = DEV_SIZE) -> None:
    fd = root.mount_target("/dev", "dir")
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise LxcError("lxc.autodev: /dev in the rootfs is not a directory")
        k.mount("none", fd_path(fd), "tmpfs", k.MS_NOSUID | k.MS_NOEXEC,
                f"size={size},mode=755")
    except KernelError as exc:
        raise LxcError(f"lxc.autodev: cannot mount a tmpfs on /dev: "
                       f"{os.strerror(exc.errno)}") from None
    finally:
        os.close(fd)


def _make_node(dev: int, name: str, major: int, minor: int, bind_only: bool = False) -> None:
    if not bind_only:
        try:
            os.mknod(name, stat.S_IFCHR | 0o666, os.makedev(major, minor), dir_fd=dev)
            return
        except PermissionError:
            pass  # no CAP_MKNOD: bind the host's node instead, like LXC
    fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o666, dir_fd=dev)
    os.close(fd)
    target = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dev)
    try:
        k.mount(f"/dev/{name}", fd_path(target), None, k.MS_BIND, None)
    except KernelError as exc:
        raise OSError(exc.errno, f"cannot bind /dev/{name}") from None
    finally:
        os.close(target)


def mount_devpts(root: Root, pty_max: int) -> None:
    """A devpts instance of the container's own: its ptys are not the host's."""
    data = f"newinstance,ptmxmode=0666,mode=0620,gid={TTY_GID}"
    if pty_max > 0:
        data += f",max={pty_max}"
    fd = root.mount_target("/dev/pts", "dir")
    try:
        k.mount("devpts", fd_path(fd), "devpts", k.MS_NOSUID | k.MS_NOEXEC, data)
    except KernelError as exc:
        raise LxcError(f"lxc.autodev: cannot mount devpts on /dev/pts: "
                       f"{os.strerror(exc.errno)}") from None
    finally:
        os.close(fd)


def apply_tty_dir(root: Root, tty_dir: str) -> None:
    """lxc.tty.dir: move the console and tty mounts to /dev/DIR, symlink them back (LXC)."""
    dev = root.open("/dev")
    try:
        try:
            os.mkdir(tty_dir, 0o755, dir_fd=dev)
        except FileExistsError:
            pass
        sub = os.open(tty_dir, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                      dir_fd=dev)
        try:
            dev_st = os.fstat(dev)
            for name in ("console", *(f"tty{n}" for n in range(1, 64))):
                _move_tty(dev, dev_st.st_dev, sub, tty_dir, name)
        finally:
            os.close(sub)
    except OSError as exc:
        raise LxcError(f"lxc.tty.dir: cannot move the terminals to /dev/{tty_dir}: "
                       f"{exc.strerror}") from None
    finally:
        os.close(dev)


def _move_tty(dev: int, dev_device: int, sub: int, tty_dir: str, name: str) -> None:
    try:
        src = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dev)
    except FileNotFoundError:
        return
    try:
        if os.fstat(src).st_dev == dev_device:
            return  # a plain node of the rootfs: no console set-up bound a pty here
        fd = os.open(name, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=sub)
        os.close(fd)
        target = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=sub)
        try:
            k.mount(fd_path(src), fd_path(target), None, k.MS_MOVE, None)
        except KernelError as exc:
            raise OSError(exc.errno, os.strerror(exc.errno)) from None
        finally:
            os.close(target)
    finally:
        os.close(src)
    os.unlink(name, dir_fd=dev)  # the bind target left behind, no longer a mount point
    os.symlink(f"{tty_dir}/{name}", name, dir_fd=dev)

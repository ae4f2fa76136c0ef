"""The only place lxcpy calls libc directly: namespaces, mounts, pivot_root.

Every failure raises :class:`lxcpy.errors.KernelError` carrying the call's name and errno.
"""

from __future__ import annotations

import os

from lxcpy.errors import KernelError, LxcError
from lxcpy.kernel import _ffi  # _ctypes alone: the ctypes package is ~3 ms of every start

# namespace flags (linux/sched.h)
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

NAMESPACES = {  # LXC's names -> (flag, /proc/PID/ns entry)
    "mnt": (CLONE_NEWNS, "mnt"),
    "uts": (CLONE_NEWUTS, "uts"),
    "ipc": (CLONE_NEWIPC, "ipc"),
    "pid": (CLONE_NEWPID, "pid"),
    "net": (CLONE_NEWNET, "net"),
    "cgroup": (CLONE_NEWCGROUP, "cgroup"),
    "user": (CLONE_NEWUSER, "user"),
    "time": (CLONE_NEWTIME, "time"),
}

# mount flags (linux/mount.h)
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

# prctl
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# openat2 resolve flags (linux/openat2.h)
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

# System call numbers by architecture: they differ (155 is pivot_root on x86_64 and
# getpgid on aarch64). x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64 and riscv64
# share include/uapi/asm-generic/unistd.h (both checked against this machine's
# /usr/include/x86_64-linux-gnu/asm/unistd_64.h and /usr/include/asm-generic/unistd.h).
SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {"pivot_root": 155, "clone": 56, "keyctl": 250, "bpf": 321, "seccomp": 317,
               "pidfd_send_signal": 424, "open_tree": 428, "move_mount": 429,
               "pidfd_open": 434, "openat2": 437, "mount_setattr": 442},
    "aarch64": {"pivot_root": 41, "clone": 220, "keyctl": 219, "bpf": 280, "seccomp": 277,
                "pidfd_send_signal": 424, "open_tree": 428, "move_mount": 429,
                "pidfd_open": 434, "openat2": 437, "mount_setattr": 442},
}
SYSCALLS["riscv64"] = SYSCALLS["aarch64"]


def _abi() -> str:
    """The architecture this interpreter was built for: its ABI decides the numbers, not
    ``uname -m`` (which a 32-bit personality, lxc.arch = i686, turns into i686)."""
    import sys

    multiarch = getattr(sys.implementation, "_multiarch", "") or ""
    return multiarch.split("-")[0] or os.uname().machine


ARCH = _abi()


def syscall_number(name: str, arch: str | None = None) -> int:
    """The number of system call ``name`` here; one clear line where lxcpy has no table."""
    table = SYSCALLS.get(arch or ARCH)
    if table is None:
        raise LxcError(f"{name}: lxcpy has no system call table for architecture "
                       f"'{arch or ARCH}' (it knows {', '.join(sorted(SYSCALLS))})")
    return table[name]


def _sys(name: str, *args: object) -> int:
    return int(libc().syscall(_ffi.c_long(syscall_number(name)), *args))


AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR_IDMAP = 0x100000
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000  # O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4

libc = _ffi.libc  # ctypes.CDLL(None, use_errno=True), made once


def _check(result: int, call: str, detail: str = "") -> int:
    if result < 0:
        raise KernelError(call, _ffi.get_errno(), detail)
    return result


def _b(path: str | bytes | None) -> bytes | None:
    if path is None:
        return None
    return path if isinstance(path, bytes) else os.fsencode(path)


def unshare(flags: int) -> None:
    _check(libc().unshare(_ffi.c_int(flags)), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(libc().setns(_ffi.c_int(fd), _ffi.c_int(nstype)), "setns")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    rc = libc().mount(_b(source), _b(target), _b(fstype), _ffi.c_ulong(flags), _b(data))
    _check(rc, "mount", f"{source or fstype or 'none'} on {target}")


def umount2(target: str, flags: int = 0) -> None:
    _check(libc().umount2(_b(target), _ffi.c_int(flags)), "umount2", target)


def pivot_root(new_root: str, put_old: str) -> None:
    rc = _sys("pivot_root", _b(new_root), _b(put_old))
    _check(rc, "pivot_root", new_root)


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(libc().sethostname(raw, _ffi.c_size_t(len(raw))), "sethostname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    rc = libc().prctl(_ffi.c_int(option), _ffi.c_ulong(arg2), _ffi.c_ulong(arg3),
                      _ffi.c_ulong(arg4), _ffi.c_ulong(arg5))
    return _check(rc, "prctl")


def set_process_name(name: str) -> None:
    """prctl(PR_SET_NAME): what ps shows as the command (comm), at most 15 bytes."""
    buf = _ffi.create_string_buffer(name.encode()[:15])
    rc = libc().prctl(_ffi.c_int(PR_SET_NAME), buf, _ffi.c_ulong(0), _ffi.c_ulong(0),
                      _ffi.c_ulong(0))
    _check(rc, "prctl", "PR_SET_NAME")


class _OpenHow(_ffi.Structure):
    _fields_ = [("flags", _ffi.c_uint64), ("mode", _ffi.c_uint64),
                ("resolve", _ffi.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    """openat2(2): open ``path`` relative to ``dirfd`` with kernel-enforced resolution rules."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    rc = _sys("openat2", _ffi.c_int(dirfd), _b(path),
              _ffi.byref(how), _ffi.c_size_t(_ffi.sizeof(how)))
    return _check(rc, "openat2", path)


class _MountAttr(_ffi.Structure):
    _fields_ = [("attr_set", _ffi.c_uint64), ("attr_clr", _ffi.c_uint64),
                ("propagation", _ffi.c_uint64), ("userns_fd", _ffi.c_uint64)]


def mount_setattr(path: str, attr_set: int, attr_clr: int = 0, recursive: bool = True,
                  userns_fd: int = -1, dirfd: int = AT_FDCWD) -> None:
    """mount_setattr(2): change the flags of the mount at ``path`` (and every mount below it
    with ``recursive``) in one call; a bind-remount would need one call per mount.

    With ``userns_fd`` (and MOUNT_ATTR_IDMAP in ``attr_set``) the mount becomes idmapped
    through that user namespace's maps; ``dirfd`` with ``path`` "" acts on the mount of an
    fd (a detached tree from :func:`open_tree`)."""
    attr = _MountAttr(attr_set, attr_clr, 0, userns_fd if userns_fd >= 0 else 0)
    flags = (AT_RECURSIVE if recursive else 0) | (AT_EMPTY_PATH if not path else 0)
    rc = _sys("mount_setattr", _ffi.c_int(dirfd), _b(path),
              _ffi.c_uint(flags), _ffi.byref(attr),
              _ffi.c_size_t(_ffi.sizeof(attr)))
    _check(rc, "mount_setattr", path or f"fd {dirfd}")


def open_tree(path: str, flags: int = OPEN_TREE_CLONE | AT_RECURSIVE) -> int:
    """open_tree(2): with OPEN_TREE_CLONE, a detached copy of the mount tree at ``path`` (as
    a bind mount would make), held by the returned close-on-exec fd."""
    rc = _sys("open_tree", _ffi.c_int(AT_FDCWD), _b(path),
              _ffi.c_uint(flags | OPEN_TREE_CLOEXEC))
    return _check(rc, "open_tree", path)


def move_mount(tree_fd: int, target: str) -> None:
    """move_mount(2): attach the detached tree of ``tree_fd`` on ``target``."""
    rc = _sys("move_mount", _ffi.c_int(tree_fd), _b(""),
              _ffi.c_int(AT_FDCWD), _b(target),
              _ffi.c_uint(MOVE_MOUNT_F_EMPTY_PATH))
    _check(rc, "move_mount", target)


SIGCHLD = 17


def fork_into(flags: int) -> int:
    """fork(2) with new namespaces made at once: clone(flags | SIGCHLD) without a new stack,
    wrapped in CPython's own before/after-fork hooks exactly as os.fork() is.

    Needed for a user namespace: the PID namespace the child is PID 1 of must be owned by
    the child's user namespace (else it cannot mount /proc), and unshare(CLONE_NEWPID)
    before os.fork() would make it owned by ours (LXC's lxc_clone does the same). Call it
    from a single-threaded process only: unlike fork(), the raw clone leaves glibc's
    thread list as it was, and a thread it was still creating makes the child's first
    setuid/setgid family call wait for ever (glibc's setxid). Returns 0 in the child, its
    PID in the parent."""
    api = _ffi.pythonapi()
    glibc = _ffi.pythonapi(use_errno=True)  # keeps the GIL across the call, as fork()
    nr = syscall_number("clone")  # may refuse: before the fork hooks, which must pair
    api.PyOS_BeforeFork()
    pid = glibc.syscall(_ffi.c_long(nr), _ffi.c_ulong(flags | SIGCHLD),
                        _ffi.c_void_p(None), _ffi.c_void_p(None), _ffi.c_void_p(None),
                        _ffi.c_ulong(0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = _ffi.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise KernelError("clone", err)
    return pid


KEYCTL_JOIN_SESSION_KEYRING = 1


def join_session_keyring() -> int:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring."""
    rc = _sys("keyctl", _ffi.c_long(KEYCTL_JOIN_SESSION_KEYRING),
              _ffi.c_void_p(None), _ffi.c_long(0), _ffi.c_long(0),
              _ffi.c_long(0))
    return _check(rc, "keyctl", "KEYCTL_JOIN_SESSION_KEYRING")


PER_LINUX = 0x0000
PER_LINUX32 = 0x0008


def personality(persona: int) -> int:
    """personality(2) (lxc.arch): PER_LINUX32 makes uname -m say i686 on x86_64."""
    return _check(libc().personality(_ffi.c_ulong(persona)), "personality")


def fs_magic(path: str) -> int | None:
    """statfs(2)'s f_type of ``path`` (the filesystem's magic number, e.g. BTRFS_SUPER_MAGIC);
    None when it cannot be read. os.statvfs does not give it."""
    buf = (_ffi.c_long * 16)()  # struct statfs: 15 words on 64-bit ABIs, f_type first
    if libc().statfs(_b(path), buf) != 0:
        return None
    return buf[0] & 0xFFFFFFFF


def ns_path(pid: int | str, ns: str) -> str:
    return f"/proc/{pid}/ns/{ns}"


def same_namespace(pid_a: int | str, pid_b: int | str, ns: str) -> bool:
    try:
        return os.stat(ns_path(pid_a, ns)).st_ino == os.stat(ns_path(pid_b, ns)).st_ino
    except OSError:
        return False

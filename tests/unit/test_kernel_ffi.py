"""lxcpy.kernel._ffi: libc through ``_ctypes`` alone behaves as ``ctypes.CDLL(None,
use_errno=True)`` does - errno of each failing call, 64-bit values kept whole, the kernel's
struct sizes - and importing lxcpy.kernel does not load the ctypes package."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lxcpy import kernel as k
from lxcpy.errors import KernelError
from lxcpy.kernel import _ffi

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a new `python -IS` (as lxcpy's launchers run), the tree on sys.path."""
    prelude = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    return subprocess.run([sys.executable, "-IS", "-c", prelude + code], capture_output=True,
                          text=True, timeout=60)


def test_importing_the_kernel_layer_does_not_load_ctypes() -> None:
    p = _fresh("import lxcpy.kernel\n"
               "print(sorted(m for m in sys.modules if m.split('.')[0] in "
               "('ctypes', 'struct', 'types')))")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_the_seccomp_and_bpf_bindings_do_not_load_ctypes_or_typing() -> None:
    """Every config with a seccomp profile or device rules imports them at its parse."""
    p = _fresh("import lxcpy.kernel.seccomp, lxcpy.kernel.bpf\n"
               "print(sorted(m for m in sys.modules if m.split('.')[0] in "
               "('ctypes', 'typing', 'types')))")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_a_library_by_name_with_typed_functions() -> None:
    with pytest.raises(OSError):
        _ffi.load_library("libnonexistent-lxcpy.so.9")
    lib = _ffi.load_library("libc.so.6")
    lib.strlen.argtypes = [_ffi.c_char_p]
    lib.strlen.restype = _ffi.c_size_t
    assert lib.strlen(b"lxcpy") == 5
    lib.getenv.argtypes = [_ffi.c_char_p]
    lib.getenv.restype = _ffi.c_char_p
    assert lib.getenv(b"LXCPY_FFI_SURELY_UNSET") is None
    assert _ffi.libc().strlen.restype is not _ffi.c_size_t  # each handle's functions its own


def test_errno_of_a_failing_call() -> None:
    with pytest.raises(KernelError) as info:
        k.setns(-1, 0)
    assert (info.value.call, info.value.errno) == ("setns", errno.EBADF)
    # the raw call: -1, and errno read right after it
    assert _ffi.libc().setns(_ffi.c_int(-1), _ffi.c_int(0)) == -1
    assert _ffi.get_errno() == errno.EBADF


def test_each_failure_gets_its_own_errno() -> None:
    """errno is swapped in and out around every call: a later failure of another kind
    reads its own value, a success in between does not disturb the last one."""
    with pytest.raises(KernelError) as first:
        k.setns(-1, 0)
    with pytest.raises(KernelError) as second:  # through syscall(2)
        k.openat2(k.AT_FDCWD, "/nonexistent-lxcpy-ffi", os.O_RDONLY, 0)
    assert (first.value.errno, second.value.errno) == (errno.EBADF, errno.ENOENT)
    with pytest.raises(KernelError) as third:
        k.openat2(k.AT_FDCWD, "/proc/self/root/etc", os.O_RDONLY, k.RESOLVE_NO_MAGICLINKS)
    assert third.value.errno == errno.ELOOP
    assert _ffi.libc().getpid() == os.getpid()
    assert _ffi.get_errno() == errno.ELOOP


def test_errno_is_the_one_ctypes_reads() -> None:
    """seccomp.py and bpf.py call through kernel.libc() and read ctypes.get_errno()."""
    import ctypes

    assert k.libc().setns(ctypes.c_int(-1), ctypes.c_int(0)) == -1  # ctypes' own types
    assert ctypes.get_errno() == _ffi.get_errno() == errno.EBADF


def test_a_64_bit_argument_is_not_truncated(tmp_path: Path) -> None:
    """lseek(fd, 2**33 + 5, SEEK_SET) through libc: the file position is all 64 bits."""
    offset = (1 << 33) + 5
    fd = os.open(tmp_path / "sparse", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _ffi.libc().lseek(_ffi.c_int(fd), _ffi.c_long(offset), _ffi.c_int(os.SEEK_SET))
        assert os.lseek(fd, 0, os.SEEK_CUR) == offset
    finally:
        os.close(fd)


def test_uint64_fields_round_trip() -> None:
    values = ((1 << 64) - 1, 1 << 40, (1 << 63) | 7)
    how = k._OpenHow(*values)
    assert (how.flags, how.mode, how.resolve) == values
    raw = bytes(how)  # native byte order, no padding
    assert [int.from_bytes(raw[i:i + 8], sys.byteorder) for i in (0, 8, 16)] == list(values)


def test_kernel_struct_sizes() -> None:
    assert _ffi.sizeof(k._OpenHow) == 24  # struct open_how (linux/openat2.h)
    assert _ffi.sizeof(k._MountAttr) == 32  # struct mount_attr (linux/mount.h)
    assert _ffi.sizeof(_ffi.c_size_t) == _ffi.sizeof(_ffi.c_void_p)
    assert (_ffi.sizeof(_ffi.c_int), _ffi.sizeof(_ffi.c_uint64)) == (4, 8)


def test_string_buffer_as_ctypes_makes_it() -> None:
    import ctypes

    for args in ((b"abc",), (b"abc", 8), (5,)):
        ours, theirs = _ffi.create_string_buffer(*args), ctypes.create_string_buffer(*args)
        assert (ours.raw, _ffi.sizeof(ours)) == (theirs.raw, ctypes.sizeof(theirs))


def test_process_name() -> None:
    p = _fresh("from lxcpy import kernel as k\nk.set_process_name('lxcpy-ffi-test-long')\n"
               "print(open('/proc/self/comm').read().strip())")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "lxcpy-ffi-test-"  # 15 bytes: the kernel's TASK_COMM_LEN


@pytest.mark.skipif(os.geteuid() != 0, reason="a PID namespace needs root")
def test_fork_into_a_new_pid_namespace() -> None:
    """The clone under PyDLL (GIL kept, CPython's fork hooks): the child is PID 1 of its
    namespace and runs Python; a refused clone raises with the kernel's errno and leaves
    the parent whole (its fork hooks paired)."""
    p = _fresh("""
import os, threading
from lxcpy import kernel as k
from lxcpy.errors import KernelError
pid = k.fork_into(k.CLONE_NEWPID)
if pid == 0:
    print("child", os.getpid(), threading.current_thread() is threading.main_thread(),
          flush=True)
    os._exit(7)
print("parent", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
try:
    k.fork_into(k.CLONE_NEWNS | 0x200)  # CLONE_FS with CLONE_NEWNS: EINVAL
except KernelError as exc:
    print(exc.call, exc.errno)
print("ctypes" in sys.modules)
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n") == ["child 1 True", "parent 7", "clone 22", "False", ""]


def test_fs_magic() -> None:
    """statfs(2)'s f_type (storage's btrfs check): proc's and cgroup2's magic, None when
    the path is missing."""
    assert k.fs_magic("/proc") == 0x9FA0  # PROC_SUPER_MAGIC
    assert k.fs_magic("/nonexistent-lxcpy-ffi") is None
    for cgroup2 in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(cgroup2, "cgroup.controllers")):
            assert k.fs_magic(cgroup2) == 0x63677270  # CGROUP2_SUPER_MAGIC

"""seccomp: our own binding of libseccomp 2.5 (compile) and seccomp(2) (load), on kernel/_ffi.

The supervisor compiles a parsed policy (``lxcpy.config.seccomp.Policy``) to a classic BPF
program with libseccomp before it forks; the container's first process and every
lxc-attach load those bytes with prctl(PR_SET_SECCOMP) as their last step before exec.
Loading needs only libc: libseccomp is never opened inside a container.
"""

from __future__ import annotations

import os
import stat

from lxcpy.errors import KernelError, LxcError
from lxcpy.kernel import _ffi  # not the ctypes package: every profile's start imports this
from lxcpy.paths import write_atomic

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from collections.abc import Callable

    from lxcpy.config.seccomp import Action, Policy, Rule

LIBSECCOMP = "libseccomp.so.2"

# libseccomp's actions (seccomp.h)
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO = 0x00050000
SCMP_ACT_NOTIFY = 0x7FC00000
SCMP_ACT_ALLOW = 0x7FFF0000

# enum scmp_compare
COMPARE = {"NE": 1, "LT": 2, "LE": 3, "EQ": 4, "GE": 5, "GT": 6, "MASKED_EQ": 7}

# enum scmp_filter_attr
SCMP_FLTATR_CTL_NNP = 3  # seccomp_load() would set no_new_privs: we never call it

__NR_SCMP_ERROR = -1

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# the ABIs a process of this host can call the kernel with (LXC adds the same compat ones)
HOST_ARCHES = {"x86_64": ("x86_64", "x86", "x32"), "aarch64": ("aarch64", "arm")}


class _ArgCmp(_ffi.Structure):
    _fields_ = [("arg", _ffi.c_uint), ("op", _ffi.c_int), ("datum_a", _ffi.c_uint64),
                ("datum_b", _ffi.c_uint64)]


class _SockFprog(_ffi.Structure):
    _fields_ = [("len", _ffi.c_ushort), ("filter", _ffi.c_void_p)]


_lib: _ffi.Library | None = None
_u32 = _ffi.c_uint  # uint32_t (enum and flag arguments)


def _libseccomp() -> _ffi.Library:
    global _lib
    if _lib is None:
        try:
            lib = _ffi.load_library(LIBSECCOMP)
        except OSError:
            raise LxcError("lxc.seccomp.profile: libseccomp is not installed on the host "
                           "(apt-get install libseccomp2)") from None
        lib.seccomp_init.restype = _ffi.c_void_p
        lib.seccomp_init.argtypes = [_u32]
        lib.seccomp_release.argtypes = [_ffi.c_void_p]
        lib.seccomp_release.restype = None
        for fn in ("seccomp_arch_add", "seccomp_arch_remove"):
            getattr(lib, fn).argtypes = [_ffi.c_void_p, _u32]
        lib.seccomp_attr_set.argtypes = [_ffi.c_void_p, _ffi.c_int, _u32]
        lib.seccomp_rule_add_array.argtypes = [_ffi.c_void_p, _u32, _ffi.c_int,
                                               _ffi.c_uint, _ffi.POINTER(_ArgCmp)]
        lib.seccomp_merge.argtypes = [_ffi.c_void_p, _ffi.c_void_p]
        lib.seccomp_export_bpf.argtypes = [_ffi.c_void_p, _ffi.c_int]
        lib.seccomp_export_pfc.argtypes = [_ffi.c_void_p, _ffi.c_int]
        lib.seccomp_syscall_resolve_name.argtypes = [_ffi.c_char_p]
        lib.seccomp_syscall_resolve_name_arch.argtypes = [_u32, _ffi.c_char_p]
        lib.seccomp_arch_resolve_name.argtypes = [_ffi.c_char_p]
        lib.seccomp_arch_resolve_name.restype = _u32
        lib.seccomp_arch_native.restype = _u32
        _lib = lib
    return _lib


def host_arches() -> tuple[str, ...]:
    """libseccomp's names of this host's ABIs, native first."""
    machine = os.uname().machine
    return HOST_ARCHES.get(machine, (machine,))


def known_syscall(name: str) -> bool:
    """True if libseccomp knows ``name`` on some architecture (a typo is not)."""
    lib = _libseccomp()
    if lib.seccomp_syscall_resolve_name(name.encode()) != __NR_SCMP_ERROR:
        return True
    return any(lib.seccomp_syscall_resolve_name_arch(_arch_token(a), name.encode()) >= 0
               for a in host_arches())


def _arch_token(name: str) -> int:
    token = _libseccomp().seccomp_arch_resolve_name(name.encode())
    if not token:
        raise LxcError(f"seccomp: libseccomp does not know architecture '{name}'")
    return int(token)


def action_value(action: Action) -> int:
    if action.kind == "allow":
        return SCMP_ACT_ALLOW
    if action.kind == "kill":
        return SCMP_ACT_KILL_PROCESS
    if action.kind == "trap":
        return SCMP_ACT_TRAP
    if action.kind == "errno":
        return SCMP_ACT_ERRNO | (action.errno & 0xFFFF)
    if action.kind == "notify":
        return SCMP_ACT_NOTIFY
    raise LxcError(f"seccomp: unknown action '{action.kind}'")


def _ctx(default: int, arch: str, native: str) -> int:
    lib = _libseccomp()
    ctx = lib.seccomp_init(_u32(default))
    if not ctx:
        raise LxcError("seccomp: seccomp_init failed")
    lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)
    if arch != native:  # one context per ABI, merged at the end, like LXC
        token = _arch_token(arch)
        rc = lib.seccomp_arch_add(ctx, token)
        if rc == 0:
            rc = lib.seccomp_arch_remove(ctx, 0)  # SCMP_ARCH_NATIVE
        if rc < 0:
            lib.seccomp_release(ctx)
            raise KernelError("seccomp_arch_add", -rc, arch)
    return int(ctx)


def compile_policy(policy: Policy) -> bytes:
    """The BPF program of ``policy`` for every ABI of this host (seccomp_export_bpf).

    Compiled programs are kept by content (root only, ``CACHE_DIR``): podman hands every
    container the same profile and ``lxc.seccomp.profile`` is mostly LXC's common one,
    and libseccomp takes tens of milliseconds per compile."""
    key = _cache_key(policy)
    if key is not None:
        cached = _cache_get(key)
        if cached is not None:
            return cached
    lib = _libseccomp()
    ctx = _build(policy)
    try:
        bpf = _export(lib.seccomp_export_bpf, ctx)
    finally:
        lib.seccomp_release(ctx)
    if key is not None:
        _cache_put(key, bpf)
    return bpf


CACHE_DIR = "/run/lxcpy/seccomp"  # tmpfs: gone at reboot, as any libseccomp upgrade's effect


def _cache_key(policy: Policy) -> str | None:
    """A digest of all that decides the program: the rules without their line numbers,
    the default, the host's ABIs, libseccomp's version and this compiler's own file."""
    if os.geteuid() != 0:
        return None
    lib = _libseccomp()
    version_fn = lib.seccomp_version
    version_fn.restype = _ffi.POINTER(_ffi.c_uint * 3)
    me = os.stat(__file__)
    rules = [(r.syscall, r.number, r.action, r.args, r.arches) for r in policy.rules]
    text = repr((1, tuple(version_fn().contents), host_arches(), me.st_mtime_ns, me.st_size,
                 policy.version, policy.default, rules))
    try:
        from _sha256 import sha256  # as paths.py: not hashlib's OpenSSL load
    except ImportError:
        from hashlib import sha256
    return sha256(text.encode()).hexdigest()


def _cache_get(key: str) -> bytes | None:
    """The cached program, only from root's own directory and file (nobody else's)."""
    try:
        dst = os.stat(CACHE_DIR, follow_symlinks=False)
        if dst.st_uid != 0 or dst.st_mode & 0o077 or not stat.S_ISDIR(dst.st_mode):
            return None
        fd = os.open(os.path.join(CACHE_DIR, key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != 0 or st.st_mode & 0o077 or not stat.S_ISREG(st.st_mode):
            return None
        data = os.read(fd, st.st_size + 1)
    finally:
        os.close(fd)
    return data if data and len(data) == st.st_size and len(data) % 8 == 0 else None


def _cache_put(key: str, bpf: bytes) -> None:
    try:
        os.makedirs(CACHE_DIR, mode=0o700, exist_ok=True)
        write_atomic(os.path.join(CACHE_DIR, key), bpf, mode=0o600, durable=False)
    except OSError:
        pass  # a cache only: the next compile tries again


def export_pfc(policy: Policy) -> str:
    """The same filter as libseccomp's readable pseudo code (tests, debugging)."""
    lib = _libseccomp()
    ctx = _build(policy)
    try:
        return _export(lib.seccomp_export_pfc, ctx).decode()
    finally:
        lib.seccomp_release(ctx)


def _build(policy: Policy) -> int:
    """One libseccomp context holding every rule for every ABI; the caller releases it."""
    lib = _libseccomp()
    arches = host_arches()
    native = arches[0]
    default = action_value(policy.default)
    contexts: dict[str, int] = {}
    try:
        for arch in arches:
            contexts[arch] = _ctx(default, arch, native)
        for rule in policy.rules:
            _add_rule(lib, policy, rule, contexts, arches)
        main = contexts.pop(native)
        try:
            for arch in list(contexts):
                rc = lib.seccomp_merge(main, contexts[arch])
                if rc < 0:
                    raise KernelError("seccomp_merge", -rc, arch)
                del contexts[arch]  # merged: released with the main context
        except BaseException:
            lib.seccomp_release(main)
            raise
        return main
    finally:
        for ctx in contexts.values():
            lib.seccomp_release(ctx)


def _add_rule(lib: _ffi.Library, policy: Policy, rule: Rule, contexts: dict[str, int],
              arches: tuple[str, ...]) -> None:
    native = arches[0]
    value = action_value(rule.action)
    targets: list[tuple[str, int]] = []
    if rule.syscall is None:  # version 1: a native syscall number
        targets.append((native, rule.number or 0))
    else:
        # libseccomp takes the native number (or a negative pseudo number) and translates
        # it for each ABI by name, as LXC's do_resolve_add_rule relies on
        nr = lib.seccomp_syscall_resolve_name(rule.syscall.encode())
        for arch in arches:
            if rule.arches is not None and arch not in rule.arches:
                continue
            if lib.seccomp_syscall_resolve_name_arch(_arch_token(arch),
                                                     rule.syscall.encode()) < 0:
                continue  # not a system call of that ABI (LXC skips it too)
            targets.append((arch, nr))
    cmps = (_ArgCmp * 6)()
    for i, cmp in enumerate(rule.args):
        if cmp.op == "MASKED_EQ":  # (arg & mask) == value: datum_a is the mask
            cmps[i] = _ArgCmp(cmp.index, COMPARE[cmp.op], cmp.mask, cmp.value)
        else:
            cmps[i] = _ArgCmp(cmp.index, COMPARE[cmp.op], cmp.value, 0)
    for arch, nr in targets:
        rc = lib.seccomp_rule_add_array(contexts[arch], value, nr, len(rule.args), cmps)
        if rc < 0:
            raise LxcError(f"{policy.file}:{rule.line}: cannot add this rule for {arch}: "
                           f"{os.strerror(-rc)}")


def _export(fn: Callable[[int, int], int], ctx: int) -> bytes:
    fd = os.memfd_create("lxcpy-seccomp", os.MFD_CLOEXEC)
    try:
        rc = fn(ctx, fd)
        if rc < 0:
            raise KernelError("seccomp_export", -rc)
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load(bpf: bytes) -> None:
    """Install the BPF program on this process (inherited by its children and exec).

    Needs no_new_privs or CAP_SYS_ADMIN in the effective set.
    """
    if not bpf or len(bpf) % 8:
        raise LxcError("seccomp: the compiled filter is empty or damaged")
    buf = _ffi.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, _ffi.addressof(buf))  # buf lives until the call ends
    rc = _ffi.libc().prctl(_ffi.c_int(PR_SET_SECCOMP), _ffi.c_ulong(SECCOMP_MODE_FILTER),
                           _ffi.byref(prog), _ffi.c_ulong(0), _ffi.c_ulong(0))
    if rc < 0:
        raise KernelError("prctl", _ffi.get_errno(), "PR_SET_SECCOMP")

"""The bpf(2) system call for cgroup device programs, and the eBPF instruction encoding.

Only what a device policy needs: encode instructions, load a BPF_PROG_TYPE_CGROUP_DEVICE
program, attach it to a cgroup2 directory (BPF_F_ALLOW_MULTI, as LXC, runc and crun do:
a program a container attaches to a sub-cgroup adds to ours, it cannot replace it), and
query which programs a cgroup has (for tests and diagnostics).
"""

from __future__ import annotations

import os
import struct

from lxcpy.errors import KernelError
from lxcpy.kernel import _ffi, libc, syscall_number

TYPE_CHECKING = False  # no typing at run time: every config with device rules imports this
if TYPE_CHECKING:
    from ctypes import Array, c_char

# commands (linux/bpf.h enum bpf_cmd)
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_QUERY = 16

BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6  # enum bpf_attach_type
BPF_F_ALLOW_OVERRIDE = 1
BPF_F_ALLOW_MULTI = 2

# instruction classes, sizes, modes, operations, sources (linux/bpf_common.h, bpf.h)
BPF_LDX = 0x01
BPF_ALU = 0x04
BPF_JMP = 0x05
BPF_ALU64 = 0x07
BPF_W = 0x00
BPF_MEM = 0x60
BPF_AND = 0x50
BPF_RSH = 0x70
BPF_MOV = 0xB0
BPF_JA = 0x00
BPF_JEQ = 0x10
BPF_JNE = 0x50
BPF_EXIT = 0x90
BPF_K = 0x00
BPF_X = 0x08

# struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }:
# access_type = (access << 16) | device type
BPF_DEVCG_ACC_MKNOD = 1
BPF_DEVCG_ACC_READ = 2
BPF_DEVCG_ACC_WRITE = 4
BPF_DEVCG_DEV_BLOCK = 1
BPF_DEVCG_DEV_CHAR = 2
CTX_ACCESS_TYPE, CTX_MAJOR, CTX_MINOR = 0, 4, 8

_ATTR_SIZE = 128  # larger than every field used; the kernel wants the tail zeroed
_INSN = struct.Struct("<BBhi")  # code, dst_reg | src_reg << 4, off, imm


class Insn(tuple[int, int, int, int, int]):
    """One eBPF instruction (struct bpf_insn): (code, dst, src, off, imm), a named tuple
    without typing.NamedTuple (typing costs a start with device rules ~5 ms)."""

    __slots__ = ()
    _fields = ("code", "dst", "src", "off", "imm")

    def __new__(cls, code: int, dst: int = 0, src: int = 0, off: int = 0,
                imm: int = 0) -> Insn:
        return tuple.__new__(cls, (code, dst, src, off, imm))

    @property
    def code(self) -> int:
        return self[0]

    @property
    def dst(self) -> int:
        return self[1]

    @property
    def src(self) -> int:
        return self[2]

    @property
    def off(self) -> int:
        return self[3]

    @property
    def imm(self) -> int:
        return self[4]

    def _replace(self, **changes: int) -> Insn:
        return Insn(**{**dict(zip(self._fields, self, strict=True)), **changes})

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in zip(self._fields, self, strict=True))
        return f"Insn({fields})"

    def encode(self) -> bytes:
        return _INSN.pack(self.code, self.dst | (self.src << 4), self.off, self.imm)


# the few instruction forms a device program uses (named as in the kernel's filter.h)
def ldx_mem_w(dst: int, src: int, off: int) -> Insn:
    return Insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off)


def alu32_imm(op: int, dst: int, imm: int) -> Insn:
    return Insn(BPF_ALU | op | BPF_K, dst, imm=imm)


def mov32_reg(dst: int, src: int) -> Insn:
    return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src)


def mov64_imm(dst: int, imm: int) -> Insn:
    return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, imm=imm)


def jmp_imm(op: int, dst: int, imm: int, off: int) -> Insn:
    return Insn(BPF_JMP | op | BPF_K, dst, off=off, imm=imm)


def jmp_reg(op: int, dst: int, src: int, off: int) -> Insn:
    return Insn(BPF_JMP | op | BPF_X, dst, src, off)


def exit_insn() -> Insn:
    return Insn(BPF_JMP | BPF_EXIT)


def encode(program: list[Insn]) -> bytes:
    return b"".join(insn.encode() for insn in program)


def _bpf(cmd: int, attr: Array[c_char], call: str, detail: str = "") -> int:
    rc = libc().syscall(_ffi.c_long(syscall_number("bpf")), _ffi.c_int(cmd), attr,
                        _ffi.c_uint(_ATTR_SIZE))
    if rc < 0:
        raise KernelError(call, _ffi.get_errno(), detail)
    return int(rc)


def load_device_program(program: list[Insn], name: str = "lxcpy_devices") -> int:
    """Load a cgroup device program; its fd (close-on-exec). On a verifier refusal the
    error carries the verifier's log."""
    code = _ffi.create_string_buffer(encode(program))
    license_ = _ffi.create_string_buffer(b"GPL")

    def attempt(log: Array[c_char] | None) -> int:
        attr = _ffi.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<IIQQ", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE, len(program),
                         _ffi.addressof(code), _ffi.addressof(license_))
        if log is not None:
            struct.pack_into("<IIQ", attr, 24, 1, len(log), _ffi.addressof(log))
        struct.pack_into("15s", attr, 48, name[:15].encode())  # prog_name: 16 bytes, NUL
        return _bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD)")

    try:
        fd = attempt(None)
    except KernelError as exc:
        if exc.errno not in (13, 22):  # EACCES, EINVAL: the verifier refused; say why
            raise
        log = _ffi.create_string_buffer(1 << 16)
        try:
            fd = attempt(log)
        except KernelError as again:
            text = log.value.decode(errors="replace").strip().splitlines()
            raise KernelError("bpf(BPF_PROG_LOAD)", again.errno,
                              f"(verifier: {text[-1] if text else 'no log'})") from None
    os.set_inheritable(fd, False)  # bpf fds are O_CLOEXEC already; be explicit
    return fd


def attach(cgroup_fd: int, prog_fd: int, attach_type: int = BPF_CGROUP_DEVICE,
           flags: int = BPF_F_ALLOW_MULTI) -> None:
    attr = _ffi.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, attach_type, flags)
    _bpf(BPF_PROG_ATTACH, attr, "bpf(BPF_PROG_ATTACH)")


def detach(cgroup_fd: int, prog_fd: int, attach_type: int = BPF_CGROUP_DEVICE) -> None:
    attr = _ffi.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<III", attr, 0, cgroup_fd, prog_fd, attach_type)
    _bpf(BPF_PROG_DETACH, attr, "bpf(BPF_PROG_DETACH)")


def query(cgroup_fd: int, attach_type: int = BPF_CGROUP_DEVICE,
          capacity: int = 64) -> tuple[int, list[int]]:
    """(attach flags, ids of the programs attached to this cgroup itself)."""
    ids = (_ffi.c_uint * capacity)()  # __u32
    attr = _ffi.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<IIIIQI", attr, 0, cgroup_fd, attach_type, 0, 0,
                     _ffi.addressof(ids), capacity)
    _bpf(BPF_PROG_QUERY, attr, "bpf(BPF_PROG_QUERY)")
    flags, = struct.unpack_from("<I", attr, 12)
    count, = struct.unpack_from("<I", attr, 24)
    return flags, list(ids[:min(count, capacity)])

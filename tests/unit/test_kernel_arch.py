"""The per-architecture system call table of lxcpy.kernel: right numbers, a clear refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lxcpy import kernel as k
from lxcpy.errors import LxcError

HEADERS = {  # where this machine's kernel headers spell each table
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


def _header_numbers(path: Path) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for name, value in re.findall(r"^#define __NR(?:3264)?_(\w+)\s+(\d+)$", path.read_text(),
                                  re.M):
        numbers.setdefault(name, int(value))
    return numbers


@pytest.mark.parametrize("arch", sorted(HEADERS))
def test_the_table_matches_the_kernel_headers(arch: str) -> None:
    if not HEADERS[arch].exists():
        pytest.skip(f"{HEADERS[arch]} is not installed")
    numbers = _header_numbers(HEADERS[arch])
    assert {n: numbers[n] for n in k.SYSCALLS[arch]} == k.SYSCALLS[arch]


def test_pivot_root_is_not_getpgid_on_aarch64() -> None:
    assert k.syscall_number("pivot_root", "x86_64") == 155
    assert k.syscall_number("pivot_root", "aarch64") == 41  # 155 is getpgid there


def test_this_machine_has_a_table() -> None:
    assert k.ARCH in k.SYSCALLS


def test_an_architecture_without_a_table_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k, "ARCH", "s390x")
    with pytest.raises(LxcError) as info:
        k.pivot_root("/nonexistent", "/nonexistent")  # refused before any system call
    assert str(info.value) == ("pivot_root: lxcpy has no system call table for architecture "
                               "'s390x' (it knows aarch64, riscv64, x86_64)")
    with pytest.raises(LxcError, match="no system call table"):
        k.fork_into(0)  # and no fork happens

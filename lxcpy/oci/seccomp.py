"""The OCI JSON seccomp format (linux.seccomp) -> lxcpy's seccomp Policy. Pure.

The Policy is what LXC's text language parses into (lxcpy.config.seccomp), so both reach
libseccomp through the same compiler (lxcpy.kernel.seccomp.compile_policy). As runc does,
a system call name the host's libseccomp does not know is skipped (profiles name calls of
newer kernels); every other field is acted on or refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxcpy.config.seccomp import Action, ArgCmp, Policy, Rule
from lxcpy.oci.errors import SpecError

SPEC_FILE = "config.json"
ACTIONS = {"SCMP_ACT_KILL": "kill", "SCMP_ACT_KILL_THREAD": "kill",
           "SCMP_ACT_KILL_PROCESS": "kill", "SCMP_ACT_TRAP": "trap",
           "SCMP_ACT_ERRNO": "errno", "SCMP_ACT_ALLOW": "allow", "SCMP_ACT_LOG": "allow"}
OPS = {"SCMP_CMP_NE": "NE", "SCMP_CMP_LT": "LT", "SCMP_CMP_LE": "LE", "SCMP_CMP_EQ": "EQ",
       "SCMP_CMP_GE": "GE", "SCMP_CMP_GT": "GT", "SCMP_CMP_MASKED_EQ": "MASKED_EQ"}
# OCI architecture names -> libseccomp's
ARCHES = {"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
          "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_PPC64LE":
          "ppc64le", "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_S390":
          "s390", "SCMP_ARCH_S390X": "s390x", "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64":
          "mips64", "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64",
          "SCMP_ARCH_RISCV64": "riscv64"}
EPERM = 1


def _err(where: str, why: str) -> Exception:
    return SpecError(f"{SPEC_FILE}: linux.seccomp.{where}: {why}")


def _action(name: Any, errno_ret: Any, where: str) -> Action:
    kind = ACTIONS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise _err(where, f"action {name!r} is not supported (use one of "
                   f"{', '.join(sorted(ACTIONS))})")
    if kind == "errno":
        errno = EPERM if errno_ret is None else errno_ret
        if not isinstance(errno, int) or not 0 <= errno <= 4095:
            raise _err(where, f"errnoRet {errno_ret!r} is not an errno")
        return Action("errno", errno)
    return Action(kind)


def to_policy(seccomp: dict[str, Any],
              known: Callable[[str], bool] | None = None) -> Policy:
    for key in ("listenerPath", "listenerMetadata"):
        if seccomp.get(key):
            raise _err(key, "seccomp notify is not supported by lxcpy")
    for flag in seccomp.get("flags") or []:
        if flag not in ("SECCOMP_FILTER_FLAG_SPEC_ALLOW",):
            raise _err("flags", f"{flag!r} is not supported")
    default = _action(seccomp.get("defaultAction"), seccomp.get("defaultErrnoRet"),
                      "defaultAction")
    arches: tuple[str, ...] | None = None
    if seccomp.get("architectures"):
        names = []
        for arch in seccomp["architectures"]:
            if arch not in ARCHES:
                raise _err("architectures", f"unknown architecture {arch!r}")
            names.append(ARCHES[arch])
        arches = tuple(names)
    rules: list[Rule] = []
    for i, entry in enumerate(seccomp.get("syscalls") or []):
        where = f"syscalls[{i}]"
        if not isinstance(entry, dict):
            raise _err(where, "expected an object")
        action = _action(entry.get("action"), entry.get("errnoRet"), f"{where}.action")
        args = tuple(_arg(a, f"{where}.args[{j}]")
                     for j, a in enumerate(entry.get("args") or []))
        names = entry.get("names") or ([entry["name"]] if entry.get("name") else [])
        if not names:
            raise _err(where, "names is empty")
        for name in names:
            if not isinstance(name, str):
                raise _err(f"{where}.names", f"{name!r} is not a system call name")
            if known is not None and not known(name):
                continue  # runc: a call this libseccomp does not know is skipped
            if action == default:
                continue  # libseccomp refuses a rule that repeats the default action
            rules.append(Rule(syscall=name, action=action, line=i + 1, args=args,
                              arches=arches))
    return Policy(file=SPEC_FILE, version=2, default=default, rules=tuple(rules))


def _arg(arg: Any, where: str) -> ArgCmp:
    if not isinstance(arg, dict):
        raise _err(where, "expected an object")
    op = OPS.get(str(arg.get("op")))
    if op is None:
        raise _err(f"{where}.op", f"{arg.get('op')!r} is not a comparison")
    index, value = arg.get("index"), arg.get("value", 0)
    if not isinstance(index, int) or not 0 <= index <= 5:
        raise _err(f"{where}.index", f"{index!r} is not an argument index (0-5)")
    if op == "MASKED_EQ":
        # OCI: value is the mask, valueTwo the value ((arg & value) == valueTwo)
        return ArgCmp(index, op, int(arg.get("valueTwo", 0)), int(value))
    return ArgCmp(index, op, int(value))

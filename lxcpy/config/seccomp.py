"""LXC's seccomp policy language (``lxc.seccomp.profile``), parsed into a ``Policy``.

Pure: no libseccomp here. The caller passes ``known`` (is this a system call name?) and
the host's ABIs; ``lxcpy.kernel.seccomp.compile_policy`` turns the result into BPF.

The language, as LXC 5's src/lxc/seccomp.c reads it::

    2                               version: 1 or 2
    denylist [ACTION]               v2: allowlist|denylist (whitelist|blacklist), then the
                                    action for system calls no rule names (the default);
                                    v1: allowlist only, every line a syscall number
    reject_force_umount             umount2(_, MNT_FORCE) fails with EACCES
    [x86_64]                        the rules below are for that ABI only ([all]: every one)
    kexec_load errno 1              SYSCALL [ACTION] [ARG]...
    mount errno 1 [2,4096,&=,4096]  ARG: [index,value,op] or [index,value,&=,mask]
    # a comment line; "SYSCALL ACTION # ..." ends a rule early

ACTION: ``allow``, ``kill``, ``trap``, ``errno N``, ``notify`` (refused: lxcpy has no
notify proxy). Defaults as in LXC: an allowlist kills what it does not name and allows
what it names; a denylist allows what it does not name and kills what it names.
Stricter than LXC in three places, on purpose: an unknown system call name, a line LXC
would skip or misread, and ``[index,value,&=]`` without a mask are errors.
"""

from __future__ import annotations

from lxcpy._record import dataclass

TYPE_CHECKING = False  # collections.abc costs ~2 ms of imports, for annotations only
if TYPE_CHECKING:
    from collections.abc import Callable

ACTIONS = ("allow", "kill", "trap", "errno", "notify")
OPERATORS = {
    "SCMP_CMP_NE": "NE", "!=": "NE",
    "SCMP_CMP_LT": "LT", "<": "LT",
    "SCMP_CMP_LE": "LE", "<=": "LE",
    "SCMP_CMP_EQ": "EQ", "==": "EQ",
    "SCMP_CMP_GE": "GE", ">=": "GE",
    "SCMP_CMP_GT": "GT", ">": "GT",
    "SCMP_CMP_MASKED_EQ": "MASKED_EQ", "&=": "MASKED_EQ",
}
# section name -> libseccomp's architecture name
SECTIONS = {
    "all": None, "x86": "x86", "x32": "x32", "x86_64": "x86_64", "arm": "arm",
    "arm64": "aarch64", "ppc64le": "ppc64le", "ppc64": "ppc64", "ppc": "ppc",
    "mips64": "mips64", "mips64n32": "mips64n32", "mips": "mips", "mipsel64": "mipsel64",
    "mipsel64n32": "mipsel64n32", "mipsel": "mipsel", "s390x": "s390x", "s390": "s390",
    "loongarch64": "loongarch64",
}
MAX_ERRNO = 4095
UINT64 = (1 << 64) - 1
EACCES = 13
MNT_FORCE = 1


class PolicyError(Exception):
    """A profile line we refuse; ``line`` is its number (0: the file as a whole)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


@dataclass(frozen=True)
class Action:
    kind: str  # one of ACTIONS
    errno: int = 0

    def __str__(self) -> str:
        return f"errno {self.errno}" if self.kind == "errno" else self.kind


@dataclass(frozen=True)
class ArgCmp:
    """One argument filter: ``args[index] OP value`` (``(args[index] & mask) == value``)."""

    index: int
    op: str  # NE LT LE EQ GE GT MASKED_EQ
    value: int
    mask: int = 0


@dataclass(frozen=True)
class Rule:
    syscall: str | None  # None: a version 1 rule, by number
    action: Action
    line: int
    args: tuple[ArgCmp, ...] = ()
    arches: tuple[str, ...] | None = None  # libseccomp names; None: every ABI of the host
    number: int | None = None  # version 1


@dataclass(frozen=True)
class Policy:
    file: str
    version: int
    default: Action  # for system calls no rule names
    rules: tuple[Rule, ...]

    def action_for(self, syscall: str, arch: str | None = None) -> Action:
        """What the filter does to ``syscall`` called with any arguments, if certain.

        The last unconditional rule for it wins (libseccomp keeps one action per call);
        a call only filtered on arguments answers the default.
        """
        found = self.default
        for rule in self.rules:
            if rule.syscall == syscall and not rule.args and (
                    rule.arches is None or arch is None or arch in rule.arches):
                found = rule.action
        return found


def _split_comment(text: str) -> str:
    return text.split("#", 1)[0].strip()


def parse_action(text: str, line: int) -> tuple[Action, str]:
    """An action at the start of ``text``; returns it and the rest of the text."""
    word, _, rest = text.partition(" ")
    rest = rest.strip()
    if word not in ACTIONS:
        raise PolicyError(f"unknown action '{word}' (allow, kill, trap, errno N, notify)", line)
    if word == "notify":
        raise PolicyError("the notify action needs a seccomp notify proxy "
                          "(lxc.seccomp.notify.proxy), which lxcpy does not implement", line)
    if word != "errno":
        return Action(word), rest
    number, _, rest = rest.partition(" ")
    if not number.isascii() or not number.isdigit() or int(number) > MAX_ERRNO:
        raise PolicyError(f"errno needs a number from 0 to {MAX_ERRNO}, not '{number}'", line)
    return Action("errno", int(number)), rest.strip()


def _number(text: str, what: str, line: int, high: int = UINT64) -> int:
    text = text.strip()
    try:
        value = int(text, 0)  # like strtoull(..., 0): 10, 0x1f, 0o17
    except ValueError:
        raise PolicyError(f"{what} '{text}' is not a number", line) from None
    if not 0 <= value <= high:
        raise PolicyError(f"{what} '{text}' is out of range (0 to {high})", line)
    return value


def parse_arg(text: str, line: int) -> ArgCmp:
    """``index,value,op[,mask]`` (the text inside the brackets)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise PolicyError(f"argument filter '[{text}]' is not [index,value,op] or "
                          "[index,value,op,mask]", line)
    index = _number(parts[0], "argument index", line, 5)
    value = _number(parts[1], "argument value", line)
    op = OPERATORS.get(parts[2])
    if op is None:
        raise PolicyError(f"unknown comparison '{parts[2]}' (!= < <= == >= > &= or "
                          "SCMP_CMP_*)", line)
    if op == "MASKED_EQ":
        if len(parts) != 4:
            raise PolicyError(f"'[{text}]': &= needs a mask: [index,value,&=,mask]", line)
        return ArgCmp(index, op, value, _number(parts[3], "argument mask", line))
    if len(parts) == 4:
        raise PolicyError(f"'[{text}]': a mask only goes with &= (SCMP_CMP_MASKED_EQ)", line)
    return ArgCmp(index, op, value)


def parse_args(text: str, line: int) -> tuple[ArgCmp, ...]:
    args = []
    rest = text.strip()
    while rest:
        if not rest.startswith("["):
            raise PolicyError(f"unexpected '{rest}': expected an argument filter "
                              "[index,value,op]", line)
        inside, close, rest = rest[1:].partition("]")
        if not close:
            raise PolicyError(f"'[{inside}': missing ']'", line)
        args.append(parse_arg(inside, line))
        rest = rest.strip()
    if len(args) > 6:
        raise PolicyError("more than 6 argument filters", line)
    if len({a.index for a in args}) != len(args):  # libseccomp refuses: say which line
        raise PolicyError("two filters on the same argument", line)
    return tuple(args)


def _header(text: str, version: int) -> tuple[bool, Action | None]:
    """Line 2: (denylist?, the default action written after the word, if any)."""
    if "debug" in text:
        raise PolicyError("'debug' is not supported", 2)
    word, _, rest = _split_comment(text).partition(" ")
    if word in ("allowlist", "whitelist"):
        deny = False
    elif word in ("denylist", "blacklist") and version == 2:
        deny = True
    else:
        wanted = "allowlist" if version == 1 else "allowlist or denylist"
        raise PolicyError(f"line 2 must be {wanted}, not '{text.strip()}'", 2)
    if not rest.strip():
        return deny, None
    action, extra = parse_action(rest.strip(), 2)
    if extra:
        raise PolicyError(f"unexpected '{extra}' after the default action", 2)
    return deny, action


def parse_policy(text: str, file: str, *, known: Callable[[str], bool] | None = None,
                 host_arches: tuple[str, ...] = ("x86_64", "x86", "x32")) -> Policy:
    """Parse a profile's text; ``known`` checks system call names of relevant rules."""
    lines = text.split("\n")
    first = lines[0].strip() if lines else ""
    if first not in ("1", "2"):
        raise PolicyError(f"line 1 must be the policy version 1 or 2, not '{first}'", 1)
    version = int(first)
    if len(lines) < 2 or not lines[1].strip():
        raise PolicyError("line 2 must say allowlist or denylist", 2)
    deny, default = _header(lines[1], version)
    if default is None:
        default = Action("allow") if deny else Action("kill")
    rule_default = Action("kill") if deny else Action("allow")
    rules: list[Rule] = []
    arches: tuple[str, ...] | None = None  # None: [all], the start of the file
    relevant = True
    for number, raw in enumerate(lines[2:], 3):
        line = " ".join(raw.split())  # tabs and runs of blanks are one separator
        if not line or line.startswith("#"):
            continue
        if version == 1:
            body = _split_comment(line)
            nr = _number(body, "system call number", number, 0x7FFFFFFF)
            rules.append(Rule(None, Action("allow"), number, number=nr))
            continue
        if line.startswith("["):
            name = line.split("#", 1)[0].strip()
            section = name[1:-1].lower() if name.endswith("]") else None
            if section not in SECTIONS:
                raise PolicyError(f"unknown architecture section '{name}'", number)
            arch = SECTIONS[section]
            arches = None if arch is None else (arch,)
            relevant = arch is None or arch in host_arches
            continue
        body = _split_comment(line) if "#" in line else line
        name, _, rest = body.partition(" ")
        rest = rest.strip()
        if name == "reject_force_umount":
            if rest:
                raise PolicyError(f"unexpected '{rest}' after reject_force_umount", number)
            # LXC's rule: umount2(target, flags & MNT_FORCE) fails with EACCES
            rules.append(Rule("umount2", Action("errno", EACCES), number,
                              (ArgCmp(1, "MASKED_EQ", MNT_FORCE, MNT_FORCE),), arches))
            continue
        if not name.replace("_", "").isalnum() or not name.isascii():
            raise PolicyError(f"'{name}' is not a system call name", number)
        action = rule_default
        if rest and not rest.startswith("["):
            action, rest = parse_action(rest, number)
        args = parse_args(rest, number)
        if not relevant:
            continue  # another machine's ABI: checked for form only, like LXC skips it
        if known is not None and not known(name):
            raise PolicyError(f"unknown system call '{name}'", number)
        rules.append(Rule(name, action, number, args, arches))
    return Policy(file, version, default, tuple(rules))


def read_policy(path: str, *, known: Callable[[str], bool] | None = None,
                host_arches: tuple[str, ...] = ("x86_64", "x86", "x32")) -> Policy:
    """Read and parse the profile at ``path``; OSError if it cannot be read."""
    import os
    import stat

    # O_NONBLOCK: a fifo named as the profile must fail, not hang the start
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        raw = os.read(fd, 1 << 20)
    finally:
        os.close(fd)
    return parse_policy(raw.decode("utf-8", "replace"), path, known=known,
                        host_arches=host_arches)

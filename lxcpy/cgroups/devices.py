"""Device policy: ``lxc.cgroup2.devices.allow/deny`` lines -> a cgroup device BPF program.

Pure: parses rules, keeps the policy, compiles it; loading and attaching is the v2
driver's job (through lxcpy.kernel.bpf).

Rule syntax (LXC's, the same as the v1 controller's ``devices.allow`` files):
``a`` (every device), or ``TYPE MAJOR:MINOR ACCESS`` with TYPE ``c``, ``b`` or ``a``,
MAJOR/MINOR a number or ``*``, ACCESS letters out of ``rwm`` (required, as the v1 kernel
requires them).

Semantics are the v1 device controller's (security/device_cgroup.c), so one config means
the same on both cgroup versions:

- ``deny a`` makes an allowlist (deny by default) and ``allow a`` a denylist (allow by
  default); both forget every earlier rule.
- a rule of the other kind than the default adds an exception (access bits merge for the
  same type:major:minor); a rule of the same kind as the default takes its access bits
  away from the exception with exactly that type:major:minor.
- in an allowlist a request is allowed when one exception covers its type, numbers and
  every access bit it asks for; in a denylist it is denied when an exception for its type
  and numbers shares any access bit with it (the kernel's match_exception_partial: asking
  for read+write of a device whose write is denied fails).

With no ``deny a``/``allow a`` line the policy starts as a denylist, like a fresh v1 cgroup
and like LXC.
"""

from __future__ import annotations

from lxcpy._record import dataclass, field
from lxcpy.kernel import bpf

ACCESS_BITS = {"m": bpf.BPF_DEVCG_ACC_MKNOD, "r": bpf.BPF_DEVCG_ACC_READ,
               "w": bpf.BPF_DEVCG_ACC_WRITE}
ALL_ACCESS = bpf.BPF_DEVCG_ACC_MKNOD | bpf.BPF_DEVCG_ACC_READ | bpf.BPF_DEVCG_ACC_WRITE
TYPES = {"b": bpf.BPF_DEVCG_DEV_BLOCK, "c": bpf.BPF_DEVCG_DEV_CHAR}
MAX_NUMBER = 0x7FFFFFFF  # compared as a signed 32-bit immediate; real majors are 12 bits


def _fields(text: str) -> tuple[str, str | None, str | None, str | None] | None:
    """``TYPE [MAJOR:MINOR ACCESS]`` split as the regular expression
    ``([abc])(?:\\s+(\\d+|\\*):(\\d+|\\*)\\s+([rwm]+))?`` matches all of ``text``; None if
    it does not. By hand: ``re`` (with enum and functools) costs every start whose config
    has a device rule (LXC's common.conf has 17) ~6 ms of imports here."""
    kind, rest = text[:1], text[1:]
    if kind not in ("a", "b", "c"):
        return None
    if not rest:
        return kind, None, None, None
    parts = rest.split()
    if not rest[0].isspace() or rest[-1].isspace() or len(parts) != 2:
        return None
    major, colon, minor = parts[0].partition(":")
    access = parts[1]
    if (not colon or not all(n == "*" or n.isdecimal() for n in (major, minor))
            or access.strip("rwm")):
        return None
    return kind, major, minor, access


@dataclass(frozen=True)
class DeviceRule:
    """One ``devices.allow``/``devices.deny`` line; None major/minor is ``*``."""

    allow: bool
    type: str  # "a", "b" or "c"
    major: int | None = None
    minor: int | None = None
    access: int = ALL_ACCESS

    @property
    def whole_list(self) -> bool:
        """``a``: switches the default and forgets the exceptions."""
        return self.type == "a"


def parse_rule(value: str, allow: bool) -> DeviceRule:
    """One rule; ValueError with a message naming what is wrong."""
    text = value.strip()
    fields = _fields(text)
    if fields is None or (fields[0] != "a" and fields[1] is None):
        raise ValueError(f"'{value}' is not a device rule (a, or TYPE MAJOR:MINOR ACCESS "
                         "with TYPE a, b or c, numbers or *, ACCESS out of rwm)")
    kind, major, minor, access = fields
    numbers: list[int | None] = []
    for number in (major, minor):
        if number is None or number == "*":
            numbers.append(None)
        elif int(number) > MAX_NUMBER:
            raise ValueError(f"'{value}': device number {number} is too large")
        else:
            numbers.append(int(number))
    bits = ALL_ACCESS if access is None else 0
    for letter in access or "":
        bits |= ACCESS_BITS[letter]
    if kind == "a" and (numbers != [None, None] or bits != ALL_ACCESS):
        # the v1 kernel reads any "a..." as the whole list; refuse what looks narrower
        raise ValueError(f"'{value}': type a only as 'a' or 'a *:* rwm' (every device)")
    return DeviceRule(allow, kind, numbers[0], numbers[1], bits)


@dataclass
class DevicePolicy:
    """A default (allow or deny) and the exceptions to it, in the order they were added."""

    default_allow: bool = True
    # (type, major, minor) -> access bits; type "b"/"c", None numbers are "*"
    exceptions: dict[tuple[str, int | None, int | None], int] = field(default_factory=dict)

    def add(self, rule: DeviceRule) -> None:
        if rule.whole_list:
            self.default_allow = rule.allow
            self.exceptions.clear()
            return
        key = (rule.type, rule.major, rule.minor)
        if rule.allow == self.default_allow:  # same as the default: narrow an exception
            remaining = self.exceptions.get(key, 0) & ~rule.access
            if remaining:
                self.exceptions[key] = remaining
            else:
                self.exceptions.pop(key, None)
        elif rule.access:
            self.exceptions[key] = self.exceptions.get(key, 0) | rule.access

    def allows(self, kind: str, major: int, minor: int, access: int) -> bool:
        """The decision for one request (``kind`` "b" or "c"): the reference the compiled
        program must agree with."""
        def covers(bits: int) -> bool:
            return bool(access & bits) if self.default_allow else not access & ~bits

        excepted = any(
            t == kind and (ma is None or ma == major) and (mi is None or mi == minor)
            and covers(bits) for (t, ma, mi), bits in self.exceptions.items())
        return excepted != self.default_allow

    def describe(self) -> str:
        kind = "allowlist" if not self.default_allow else "denylist"
        return f"{kind} with {len(self.exceptions)} exception(s)"


def policy_from_rules(rules: list[DeviceRule]) -> DevicePolicy:
    policy = DevicePolicy()
    for rule in rules:
        policy.add(rule)
    return policy


# registers: r1 = ctx on entry; the prologue leaves type in r2, access in r3, major in
# r4, minor in r5; r1 is then scratch for the access test, r0 the verdict (1 = allow)
def compile_policy(policy: DevicePolicy) -> list[bpf.Insn]:
    """The BPF_PROG_TYPE_CGROUP_DEVICE program deciding as ``policy.allows`` does."""
    program = [
        bpf.ldx_mem_w(2, 1, bpf.CTX_ACCESS_TYPE),
        bpf.alu32_imm(bpf.BPF_AND, 2, 0xFFFF),
        bpf.ldx_mem_w(3, 1, bpf.CTX_ACCESS_TYPE),
        bpf.alu32_imm(bpf.BPF_RSH, 3, 16),
        bpf.ldx_mem_w(4, 1, bpf.CTX_MAJOR),
        bpf.ldx_mem_w(5, 1, bpf.CTX_MINOR),
    ]
    excepted = 0 if policy.default_allow else 1
    for (kind, major, minor), access in policy.exceptions.items():
        tests: list[list[bpf.Insn]] = [[bpf.jmp_imm(bpf.BPF_JNE, 2, TYPES[kind], 0)]]
        if policy.default_allow:  # a denied exception: any shared access bit
            if access != ALL_ACCESS:
                tests.append([bpf.mov32_reg(1, 3), bpf.alu32_imm(bpf.BPF_AND, 1, access),
                              bpf.jmp_imm(bpf.BPF_JEQ, 1, 0, 0)])
        elif access != ALL_ACCESS:  # an allowed exception: every requested bit in it
            tests.append([bpf.mov32_reg(1, 3), bpf.alu32_imm(bpf.BPF_AND, 1, access),
                          bpf.jmp_reg(bpf.BPF_JNE, 1, 3, 0)])
        if major is not None:
            tests.append([bpf.jmp_imm(bpf.BPF_JNE, 4, major, 0)])
        if minor is not None:
            tests.append([bpf.jmp_imm(bpf.BPF_JNE, 5, minor, 0)])
        block = [insn for test in tests for insn in test]
        block += [bpf.mov64_imm(0, excepted), bpf.exit_insn()]
        # each test ends in a jump past this block: offsets count from the next insn
        for i, insn in enumerate(block):
            if insn.code & 0x07 == bpf.BPF_JMP and insn.code & 0xF0 != bpf.BPF_EXIT:
                block[i] = insn._replace(off=len(block) - i - 1)
        program += block
    program += [bpf.mov64_imm(0, 1 - excepted), bpf.exit_insn()]
    return program

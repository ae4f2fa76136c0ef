"""The device policy compiler (lxcpy.cgroups.devices): rule syntax, the v1 controller's
semantics, and the BPF program — run here by a small eBPF interpreter written for the few
instruction forms the compiler emits, and checked against the policy's own decision."""

from __future__ import annotations

import itertools
import random
import struct
from pathlib import Path

import pytest

from lxcpy.cgroups.devices import (
    ALL_ACCESS,
    DevicePolicy,
    DeviceRule,
    compile_policy,
    parse_rule,
    policy_from_rules,
)
from lxcpy.kernel import bpf

M, R, W = bpf.BPF_DEVCG_ACC_MKNOD, bpf.BPF_DEVCG_ACC_READ, bpf.BPF_DEVCG_ACC_WRITE
TYPE = {"b": bpf.BPF_DEVCG_DEV_BLOCK, "c": bpf.BPF_DEVCG_DEV_CHAR}
COMMON_CONF = Path(__file__).parents[1] / "data" / "lxc-5.0.2" / "common.conf"
U64 = (1 << 64) - 1


def run(program: list[bpf.Insn], kind: str, major: int, minor: int, access: int) -> int:
    """Execute ``program`` on a bpf_cgroup_dev_ctx as the kernel would; its r0."""
    ctx = struct.pack("<III", (access << 16) | TYPE[kind], major, minor)
    regs = [0] * 11
    pc, steps = 0, 0
    while True:
        assert 0 <= pc < len(program), f"pc {pc} outside the program"
        steps += 1
        assert steps <= 10_000, "no exit"
        insn = program[pc]
        pc += 1
        imm64 = insn.imm & U64  # sign-extended to 64 bits, as the kernel does
        if insn.code == bpf.BPF_LDX | bpf.BPF_W | bpf.BPF_MEM:
            assert insn.src == 1 and 0 <= insn.off <= 8, "only ctx loads"
            regs[insn.dst] = struct.unpack_from("<I", ctx, insn.off)[0]
        elif insn.code == bpf.BPF_ALU | bpf.BPF_AND | bpf.BPF_K:
            regs[insn.dst] = regs[insn.dst] & insn.imm & 0xFFFFFFFF
        elif insn.code == bpf.BPF_ALU | bpf.BPF_RSH | bpf.BPF_K:
            regs[insn.dst] = (regs[insn.dst] & 0xFFFFFFFF) >> insn.imm
        elif insn.code == bpf.BPF_ALU | bpf.BPF_MOV | bpf.BPF_X:
            regs[insn.dst] = regs[insn.src] & 0xFFFFFFFF
        elif insn.code == bpf.BPF_ALU64 | bpf.BPF_MOV | bpf.BPF_K:
            regs[insn.dst] = imm64
        elif insn.code == bpf.BPF_JMP | bpf.BPF_JNE | bpf.BPF_K:
            pc += insn.off if regs[insn.dst] != imm64 else 0
        elif insn.code == bpf.BPF_JMP | bpf.BPF_JEQ | bpf.BPF_K:
            pc += insn.off if regs[insn.dst] == imm64 else 0
        elif insn.code == bpf.BPF_JMP | bpf.BPF_JNE | bpf.BPF_X:
            pc += insn.off if regs[insn.dst] != regs[insn.src] else 0
        elif insn.code == bpf.BPF_JMP | bpf.BPF_EXIT:
            return regs[0]
        else:
            raise AssertionError(f"unexpected instruction {insn}")


def policy(*lines: str) -> DevicePolicy:
    """``allow c 1:3 rwm`` / ``deny a`` lines."""
    rules = []
    for line in lines:
        verb, _, rule = line.partition(" ")
        rules.append(parse_rule(rule, verb == "allow"))
    return policy_from_rules(rules)


def common_conf_policy() -> DevicePolicy:
    lines = []
    for line in COMMON_CONF.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip().startswith("lxc.cgroup2.devices."):
            lines.append(f"{key.strip().rsplit('.', 1)[1]} {value.strip()}")
    assert len(lines) == 13
    return policy(*lines)


REQUESTS = [(kind, major, minor, access)
            for kind in "bc" for major in (0, 1, 5, 8, 136, 254)
            for minor in (0, 1, 3, 5, 9) for access in range(1, 8)]


def agrees(pol: DevicePolicy) -> None:
    program = compile_policy(pol)
    for request in REQUESTS:
        assert run(program, *request) == int(pol.allows(*request)), (pol, request)


# -- syntax ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "rule"), [
    ("a", DeviceRule(False, "a")),
    ("a *:* rwm", DeviceRule(False, "a")),
    ("c 1:3 rwm", DeviceRule(False, "c", 1, 3, ALL_ACCESS)),
    ("b *:* m", DeviceRule(False, "b", None, None, M)),
    ("c 136:* rw", DeviceRule(False, "c", 136, None, R | W)),
    ("  c 10:229 r ", DeviceRule(False, "c", 10, 229, R)),
    ("c\t1:5\twm", DeviceRule(False, "c", 1, 5, W | M)),
])
def test_parse_rule(text: str, rule: DeviceRule) -> None:
    assert parse_rule(text, False) == rule
    assert parse_rule(text, True).allow


@pytest.mark.parametrize("text", [
    "", "x", "c", "c 1:3", "c 1:3 ", "c 1:3 rwx", "c 1 rwm", "c 1:3:4 r", "c -1:3 r",
    "c 1:a r", "a 1:3 rwm", "a *:* r", "c 4294967295:1 r", "ca 1:3 r", "c 1:3 rwm extra",
])
def test_parse_rule_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="device"):
        parse_rule(text, True)


# -- semantics (the v1 controller's) ---------------------------------------------------

def test_without_a_whole_list_rule_it_is_a_denylist() -> None:
    pol = policy("deny c 1:3 w")
    assert pol.default_allow
    # denied when any asked-for bit is denied (v1's partial match): read+write fails
    assert not pol.allows("c", 1, 3, W) and not pol.allows("c", 1, 3, R | W)
    assert pol.allows("c", 1, 3, R) and pol.allows("c", 1, 5, W) and pol.allows("b", 8, 0, W)


def test_deny_a_then_allows_is_an_allowlist() -> None:
    pol = policy("deny a", "allow c 1:3 rwm", "allow c 136:* rw", "allow b *:* m")
    assert not pol.default_allow
    assert pol.allows("c", 1, 3, R | W) and pol.allows("c", 1, 3, M)
    assert pol.allows("c", 136, 7, R | W) and not pol.allows("c", 136, 7, M)
    assert pol.allows("b", 8, 0, M) and not pol.allows("b", 8, 0, R)
    assert not pol.allows("c", 1, 5, R) and not pol.allows("c", 3, 1, R)


def test_whole_list_rules_forget_earlier_ones() -> None:
    assert policy("deny a", "allow c 1:3 rwm", "allow a").exceptions == {}
    pol = policy("allow a", "deny c 1:3 rwm", "deny a")
    assert not pol.default_allow and not pol.allows("c", 1, 5, R)


def test_a_rule_like_the_default_narrows_only_the_same_exception() -> None:
    pol = policy("deny a", "allow c 1:3 rwm", "deny c 1:3 w")
    assert pol.exceptions == {("c", 1, 3): R | M}
    assert pol.allows("c", 1, 3, R) and not pol.allows("c", 1, 3, W)
    assert policy("deny a", "allow c 1:3 rw", "deny c 1:3 rwm").exceptions == {}
    # as in v1: a deny for one device does not cut into a wildcard exception
    pol = policy("deny a", "allow c *:* m", "deny c 1:3 m")
    assert pol.allows("c", 1, 3, M)


def test_access_bits_merge_per_device_but_a_request_needs_one_covering_exception() -> None:
    pol = policy("deny a", "allow c 1:3 r", "allow c 1:3 w")
    assert pol.exceptions == {("c", 1, 3): R | W}
    assert pol.allows("c", 1, 3, R | W)
    pol = policy("deny a", "allow c 1:* r", "allow c *:3 w")
    assert pol.allows("c", 1, 3, R) and pol.allows("c", 1, 3, W)
    assert not pol.allows("c", 1, 3, R | W)  # no single exception grants both


def test_common_conf_policy() -> None:
    pol = common_conf_policy()
    assert not pol.default_allow and len(pol.exceptions) == 12
    for major, minor in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2),
                         (136, 0), (136, 42), (10, 229)):
        assert pol.allows("c", major, minor, R | W), (major, minor)
    assert pol.allows("b", 8, 0, M) and pol.allows("c", 4, 1, M)  # mknod of anything
    assert not pol.allows("b", 8, 0, R) and not pol.allows("b", 8, 0, W)
    assert not pol.allows("c", 1, 1, R)  # /dev/mem
    assert not pol.allows("c", 10, 200, R | W)  # /dev/net/tun is not in common.conf
    assert not pol.allows("c", 4, 1, W)


# -- the compiled program ---------------------------------------------------------------

def test_program_agrees_with_the_policy() -> None:
    for pol in (DevicePolicy(), policy("deny a"), policy("allow a"), common_conf_policy(),
                policy("deny c 1:3 w", "deny b *:* rw"),
                policy("deny a", "allow c 1:* r", "allow c *:3 w", "allow b 8:0 m")):
        agrees(pol)


def test_program_agrees_with_random_policies() -> None:
    rng = random.Random(12)
    numbers = ["*", "0", "1", "3", "5", "136"]
    for _ in range(100):
        lines = []
        for _ in range(rng.randint(0, 8)):
            verb = rng.choice(["allow", "deny"])
            if rng.random() < 0.1:
                lines.append(f"{verb} a")
                continue
            access = "".join(c for c in "rwm" if rng.random() < 0.6) or "m"
            lines.append(f"{verb} {rng.choice('bc')} {rng.choice(numbers)}:"
                         f"{rng.choice(numbers)} {access}")
        agrees(policy(*lines))


def test_program_shape() -> None:
    program = compile_policy(policy("deny a", "allow c 1:3 rwm", "allow c *:* m"))
    # 6 loads, "c 1:3 rwm" = type, major, minor tests + verdict (5),
    # "c *:* m" = type, access (3) + verdict (2 + 1 ... ) and the default verdict
    assert len(program) == 6 + 5 + 6 + 2
    assert program[-2:] == [bpf.mov64_imm(0, 0), bpf.exit_insn()]
    assert all(0 <= i + 1 + insn.off <= len(program) for i, insn in enumerate(program))
    for i, insn in enumerate(program):  # every jump lands on the start of a later block
        if insn.code & 0x07 == bpf.BPF_JMP and insn.code != bpf.BPF_JMP | bpf.BPF_EXIT:
            target = i + 1 + insn.off
            assert program[target - 1] == bpf.exit_insn()


def test_encoding() -> None:
    assert bpf.exit_insn().encode() == bytes([0x95, 0, 0, 0, 0, 0, 0, 0])
    assert bpf.ldx_mem_w(2, 1, 4).encode() == bytes([0x61, 0x12, 4, 0, 0, 0, 0, 0])
    assert bpf.jmp_imm(bpf.BPF_JNE, 4, 136, 3).encode() == bytes(
        [0x55, 0x04, 3, 0, 136, 0, 0, 0])
    assert bpf.mov64_imm(0, 1).encode() == bytes([0xB7, 0, 0, 0, 1, 0, 0, 0])
    assert bpf.jmp_reg(bpf.BPF_JNE, 1, 3, 2).encode() == bytes([0x5D, 0x31, 2, 0, 0, 0, 0, 0])
    assert len(bpf.encode(compile_policy(DevicePolicy()))) == 8 * 8


def test_every_request_shape_is_decided() -> None:
    program = compile_policy(common_conf_policy())
    for kind, access in itertools.product("bc", range(1, 8)):
        assert run(program, kind, 999, 999, access) in (0, 1)


# -- the config keys -------------------------------------------------------------------

def test_config_refuses_a_bad_rule_naming_file_line_and_key() -> None:
    from lxcpy.config.parser import parse_text
    from lxcpy.errors import ConfigError

    for key in ("lxc.cgroup.devices.allow", "lxc.cgroup2.devices.deny"):
        with pytest.raises(ConfigError) as info:
            parse_text(f"lxc.uts.name = x\n{key} = c 1:3 rwx\n", "config")
        assert str(info.value).startswith(f"config:2: {key}: 'c 1:3 rwx' is not a device rule")
    cfg = parse_text("lxc.cgroup2.devices.deny = a\nlxc.cgroup2.devices.allow = c 1:3 rwm\n"
                     "lxc.cgroup.devices.allow =\n", "config")
    assert [(s.version, s.key, s.value) for s in cfg.cgroup_settings] == [
        (2, "devices.deny", "a"), (2, "devices.allow", "c 1:3 rwm")]
    cfg = parse_text(COMMON_CONF.read_text().split("lxc.mount.auto")[0], "common.conf")
    assert len(cfg.cgroup_settings) == 26


def test_rule_fields_split_as_the_regular_expression_did() -> None:
    """_fields is a hand-written fullmatch of LXC's rule grammar (no `re` at start-up):
    every combination of these fragments is accepted or refused as the expression does."""
    import re

    from lxcpy.cgroups.devices import _fields

    rule = re.compile(r"([abc])(?:\s+(\d+|\*):(\d+|\*)\s+([rwm]+))?")
    kinds = ["a", "b", "c", "d", "", "ab", "A"]
    gaps = ["", " ", "  ", "\t", "\u00a0", "\x1c"]
    numbers = ["1", "*", "136", "", "**", "1:2", "\u0663", "\u00b2", "x", "-1", "+1"]
    accesses = ["rwm", "r", "rrw", "", "rwx", "R", "m w"]
    texts = {k + g1 + ma + c + mi + g2 + acc
             for k, g1, ma, c, mi, g2, acc in itertools.product(
                 kinds, gaps, numbers, [":", "", "::"], numbers[:6], gaps[:4], accesses)}
    texts |= set(kinds) | {"a *:* rwm", "c 1:3 rwm x", "c 1:3", "c 1:3 rwm\n"}
    for text in texts:
        m = rule.fullmatch(text)
        assert _fields(text) == (m.groups() if m else None), repr(text)

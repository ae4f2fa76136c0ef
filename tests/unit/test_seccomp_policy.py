"""LXC's seccomp policy language: the pure parser, the config key, and libseccomp's output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lxcpy.config import apply_overrides, parse_text
from lxcpy.config.seccomp import Action, ArgCmp, Policy, PolicyError, Rule, parse_policy
from lxcpy.errors import ConfigError

DATA = Path(__file__).resolve().parent.parent / "data" / "lxc-5.0.2"
NAMES = {"open", "read", "write", "mount", "umount2", "kexec_load", "open_by_handle_at",
         "init_module", "finit_module", "delete_module", "seccomp", "socketcall", "ptrace"}


def parse(text: str, **kw: object) -> Policy:
    return parse_policy(text, "p.seccomp", known=NAMES.__contains__, **kw)  # type: ignore[arg-type]


def error(text: str) -> tuple[int, str]:
    with pytest.raises(PolicyError) as info:
        parse(text)
    return info.value.line, info.value.message


def test_lxc_common_seccomp() -> None:
    policy = parse((DATA / "common.seccomp").read_text())
    assert policy.version == 2
    assert policy.default == Action("allow")  # a denylist allows what it does not name
    assert policy.rules[0] == Rule("umount2", Action("errno", 13), 3,
                                   (ArgCmp(1, "MASKED_EQ", 1, 1),))
    assert [(r.syscall, str(r.action), r.line) for r in policy.rules[1:]] == [
        ("kexec_load", "errno 1", 5), ("open_by_handle_at", "errno 1", 6),
        ("init_module", "errno 1", 7), ("finit_module", "errno 1", 8),
        ("delete_module", "errno 1", 9)]
    assert policy.action_for("open_by_handle_at") == Action("errno", 1)
    assert policy.action_for("read") == Action("allow")


@pytest.mark.parametrize(("header", "default", "rule"), [
    ("denylist", "allow", "kill"), ("blacklist", "allow", "kill"),
    ("allowlist", "kill", "allow"), ("whitelist", "kill", "allow"),
    ("allowlist errno 38", "errno 38", "allow"), ("denylist trap", "trap", "kill"),
    ("allowlist # comment", "kill", "allow"),
])
def test_defaults_follow_lxc(header: str, default: str, rule: str) -> None:
    policy = parse(f"2\n{header}\nread\n")
    assert str(policy.default) == default
    assert str(policy.rules[0].action) == rule


@pytest.mark.parametrize(("line", "action"), [
    ("read allow", Action("allow")), ("read kill", Action("kill")),
    ("read trap", Action("trap")), ("read errno 0", Action("errno", 0)),
    ("read\terrno   4095", Action("errno", 4095)), ("read errno 1 # why", Action("errno", 1)),
])
def test_rule_actions(line: str, action: Action) -> None:
    assert parse(f"2\ndenylist\n{line}\n").rules[0].action == action


@pytest.mark.parametrize(("arg", "cmp"), [
    ("[0,5,==]", ArgCmp(0, "EQ", 5)), ("[1,0x10,!=]", ArgCmp(1, "NE", 16)),
    ("[2,3,<]", ArgCmp(2, "LT", 3)), ("[3,3,<=]", ArgCmp(3, "LE", 3)),
    ("[4,3,>=]", ArgCmp(4, "GE", 3)), ("[5,3,>]", ArgCmp(5, "GT", 3)),
    ("[1,2,&=,2]", ArgCmp(1, "MASKED_EQ", 2, 2)),
    ("[1, 2, SCMP_CMP_MASKED_EQ, 6]", ArgCmp(1, "MASKED_EQ", 2, 6)),
    ("[0,18446744073709551615,SCMP_CMP_EQ]", ArgCmp(0, "EQ", (1 << 64) - 1)),
])
def test_argument_filters(arg: str, cmp: ArgCmp) -> None:
    rule = parse(f"2\ndenylist\nmount errno 1 {arg}\n").rules[0]
    assert rule.args == (cmp,)


def test_several_argument_filters() -> None:
    rule = parse("2\nallowlist\nmount allow [0,1,==] [2,4096,&=,4096]\n").rules[0]
    assert rule.args == (ArgCmp(0, "EQ", 1), ArgCmp(2, "MASKED_EQ", 4096, 4096))


def test_sections_restrict_rules_to_their_abi_and_skip_other_machines() -> None:
    policy = parse("2\ndenylist\nread\n[x86_64]\nwrite\n[X86]\nsocketcall errno 1\n"
                   "[arm64]\narm_only_call\n[all]\nopen\n[x32]\nptrace\n")
    assert [(r.syscall, r.arches) for r in policy.rules] == [
        ("read", None), ("write", ("x86_64",)), ("socketcall", ("x86",)), ("open", None),
        ("ptrace", ("x32",))]
    # on an arm64 host the arm64 section counts and the x86 ones are skipped
    arm = parse_policy("2\ndenylist\n[x86_64]\nwhatever\n[arm64]\nread\n", "p",
                       known=NAMES.__contains__, host_arches=("aarch64", "arm"))
    assert [(r.syscall, r.arches) for r in arm.rules] == [("read", ("aarch64",))]


def test_version_1_is_an_allowlist_of_numbers() -> None:
    policy = parse("1\nallowlist\n0\n1\n# a comment\n\n60\n")
    assert policy.default == Action("kill")
    assert [(r.number, r.action, r.line) for r in policy.rules] == [
        (0, Action("allow"), 3), (1, Action("allow"), 4), (60, Action("allow"), 7)]


def test_comments_and_blank_lines() -> None:
    policy = parse("2\ndenylist\n\n# comment\n   # indented comment\nread # trailing\n")
    assert [r.syscall for r in policy.rules] == ["read"]


def test_last_unconditional_rule_decides_action_for() -> None:
    policy = parse("2\nallowlist\nseccomp errno 1\nseccomp allow\nmount allow [0,1,==]\n")
    assert policy.action_for("seccomp") == Action("allow")
    assert policy.action_for("mount") == Action("kill")  # only some arguments are allowed


@pytest.mark.parametrize(("text", "line", "message"), [
    ("", 1, "line 1 must be the policy version 1 or 2, not ''"),
    ("3\ndenylist\n", 1, "version 1 or 2, not '3'"),
    ("2\n", 2, "line 2 must say allowlist or denylist"),
    ("2\ngraylist\n", 2, "line 2 must be allowlist or denylist, not 'graylist'"),
    ("1\ndenylist\n", 2, "line 2 must be allowlist, not 'denylist'"),
    ("2\ndenylist debug\n", 2, "'debug' is not supported"),
    ("2\ndenylist errno\n", 2, "errno needs a number from 0 to 4095, not ''"),
    ("2\ndenylist allow extra\n", 2, "unexpected 'extra' after the default action"),
    ("2\ndenylist\nread\nnosuchcall errno 1\n", 4, "unknown system call 'nosuchcall'"),
    ("2\ndenylist\nread bogus\n", 3, "unknown action 'bogus'"),
    ("2\ndenylist\nread errno x\n", 3, "errno needs a number from 0 to 4095, not 'x'"),
    ("2\ndenylist\nread errno 4096\n", 3, "errno needs a number from 0 to 4095"),
    ("2\ndenylist\nread notify\n", 3, "notify action needs a seccomp notify proxy"),
    ("2\nallowlist notify\n", 2, "notify action needs a seccomp notify proxy"),
    ("2\ndenylist\n[sparc]\n", 3, "unknown architecture section '[sparc]'"),
    ("2\ndenylist\n[x86_64\n", 3, "unknown architecture section '[x86_64'"),
    ("2\ndenylist\nmount errno 1 [0,1]\n", 3, "is not [index,value,op]"),
    ("2\ndenylist\nmount errno 1 [6,1,==]\n", 3, "argument index '6' is out of range"),
    ("2\ndenylist\nmount errno 1 [0,x,==]\n", 3, "argument value 'x' is not a number"),
    ("2\ndenylist\nmount errno 1 [0,-1,==]\n", 3, "argument value '-1' is out of range"),
    ("2\ndenylist\nmount errno 1 [0,1,=~]\n", 3, "unknown comparison '=~'"),
    ("2\ndenylist\nmount errno 1 [0,1,&=]\n", 3, "&= needs a mask"),
    ("2\ndenylist\nmount errno 1 [0,1,==,1]\n", 3, "a mask only goes with &="),
    ("2\ndenylist\nmount errno 1 [0,1,==\n", 3, "missing ']'"),
    ("2\ndenylist\nmount errno 1 junk\n", 3, "unexpected 'junk'"),
    ("2\ndenylist\nmount errno 1 [0,1,==] [0,2,==]\n", 3, "two filters on the same argument"),
    ("2\ndenylist\nreject_force_umount now\n", 3, "unexpected 'now' after reject_force_umount"),
    ("2\ndenylist\nre/ad\n", 3, "'re/ad' is not a system call name"),
    ("1\nallowlist\nread\n", 3, "system call number 'read' is not a number"),
])
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    got_line, got = error(text)
    assert got_line == line
    assert message in got


def test_other_machines_sections_are_checked_for_form_only() -> None:
    assert parse("2\ndenylist\n[s390x]\nnot_here_call errno 1\n").rules == ()
    assert error("2\ndenylist\n[s390x]\nread errno\n")[0] == 4


# ---- the config key ---------------------------------------------------------------------------
def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.seccomp"
    path.write_text(text)
    return str(path)


def test_the_key_reads_the_profile_with_the_config(tmp_path: Path) -> None:
    cfg = parse_text(f"lxc.seccomp.profile = {DATA / 'common.seccomp'}\n")
    assert cfg.seccomp is not None and len(cfg.seccomp.rules) == 6
    assert cfg.not_acted_on == []
    assert parse_text(f"lxc.seccomp.profile = {DATA / 'common.seccomp'}\n"
                      "lxc.seccomp.profile =\n").seccomp is None


def test_relative_profile_is_next_to_the_config(tmp_path: Path) -> None:
    write(tmp_path, "2\ndenylist\nkexec_load errno 1\n")
    cfg = parse_text("lxc.seccomp = p.seccomp\n", str(tmp_path / "config"))  # 2.x spelling
    assert cfg.seccomp is not None and cfg.seccomp.file == str(tmp_path / "p.seccomp")


def test_a_bad_profile_line_is_one_error_naming_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "2\ndenylist\nkexec_load errno 1\nnot_a_syscall errno 1\n")
    with pytest.raises(ConfigError) as info:
        parse_text(f"lxc.uts.name = a\nlxc.seccomp.profile = {path}\n", "/c/config")
    assert info.value.message == (f"{path}:4: unknown system call 'not_a_syscall' (profile of "
                                  "lxc.seccomp.profile at /c/config:2)")


def test_a_missing_profile_names_the_config_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_text(f"\nlxc.seccomp.profile = {tmp_path}/none\n", "/c/config")
    assert info.value.message == (f"/c/config:2: lxc.seccomp.profile: cannot read seccomp "
                                  f"profile '{tmp_path}/none': No such file or directory")


def test_a_fifo_profile_fails_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        parse_text(f"lxc.seccomp.profile = {fifo}\n")


def test_command_line_override(tmp_path: Path) -> None:
    path = write(tmp_path, "2\ndenylist\nread errno\n")
    with pytest.raises(ConfigError, match=r"p.seccomp:3: errno needs .* at <command line>:0\)"):
        apply_overrides(parse_text(""), [f"lxc.seccomp.profile={path}"])


def test_allow_nesting_is_stored() -> None:
    assert parse_text("lxc.seccomp.allow_nesting = 1").seccomp_allow_nesting is True
    with pytest.raises(ConfigError, match="'2' is not 0 or 1"):
        parse_text("lxc.seccomp.allow_nesting = 2")


# ---- libseccomp: what the compiled filter does ------------------------------------------------
def test_compiled_filter_covers_every_abi_of_the_host() -> None:
    from lxcpy.kernel.seccomp import compile_policy, export_pfc, host_arches

    cfg = parse_text(f"lxc.seccomp.profile = {DATA / 'common.seccomp'}\n")
    assert cfg.seccomp is not None
    bpf = compile_policy(cfg.seccomp)
    assert bpf and len(bpf) % 8 == 0
    pfc = export_pfc(cfg.seccomp)
    for arch in host_arches():
        assert f"# filter for arch {arch} " in pfc
    if os.uname().machine == "x86_64":
        assert 'syscall "open_by_handle_at" (304)' in pfc  # x86_64
        assert 'syscall "open_by_handle_at" (342)' in pfc  # i386: int 0x80 is no way round
        assert "action ERRNO(13);" in pfc  # reject_force_umount
        assert "# default action\n  action ALLOW;" in pfc


def test_section_rules_reach_only_their_abi(tmp_path: Path) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("x86_64 sections")
    from lxcpy.kernel.seccomp import export_pfc

    path = write(tmp_path, "2\ndenylist\n[x86]\nptrace errno 1\n")
    cfg = parse_text(f"lxc.seccomp.profile = {path}\n")
    assert cfg.seccomp is not None
    pfc = export_pfc(cfg.seccomp)
    assert pfc.count('syscall "ptrace"') == 1 and 'syscall "ptrace" (26)' in pfc  # i386's 26


def test_version_1_compiles_to_an_allowlist_of_native_numbers(tmp_path: Path) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("x86_64 numbers")
    from lxcpy.kernel.seccomp import export_pfc

    path = write(tmp_path, "1\nallowlist\n0\n1\n60\n")
    cfg = parse_text(f"lxc.seccomp.profile = {path}\n")
    assert cfg.seccomp is not None
    pfc = export_pfc(cfg.seccomp)
    native = pfc.split("# filter for arch x86 ")[0]
    for call in ('"read" (0)', '"write" (1)', '"exit" (60)'):
        assert f"syscall {call}" in native
    assert "action KILL_PROCESS;" in pfc  # the default of an allowlist


def test_trap_and_kill_actions_compile(tmp_path: Path) -> None:
    from lxcpy.kernel.seccomp import export_pfc

    path = write(tmp_path, "2\nallowlist errno 38\nread allow\nptrace trap\nkexec_load kill\n")
    cfg = parse_text(f"lxc.seccomp.profile = {path}\n")
    assert cfg.seccomp is not None
    pfc = export_pfc(cfg.seccomp)
    assert "action TRAP;" in pfc and "action KILL_PROCESS;" in pfc
    assert "action ERRNO(38);" in pfc

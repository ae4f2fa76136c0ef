"""Random and mutated config text: a clean parse or a ConfigError, never another exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lxcpy.config import ContainerConfig, apply_overrides, parse_text
from lxcpy.config.keys import KEYS
from lxcpy.config.update import update_legacy_text
from lxcpy.errors import ConfigError

TEMPLATES = Path(__file__).resolve().parents[2] / "etc" / "lxc"
NOWHERE = "/nonexistent/lxcpy-fuzz"  # relative includes and paths resolve into nothing

SETTINGS = settings(deadline=None, max_examples=300,
                    suppress_health_check=[HealthCheck.too_slow])

# keys as people write them: today's, legacy, patterns filled in, and near misses
KEY_NAMES = sorted(
    {s.replace("<N>", "0").replace("<file>", "memory.max").replace("<key>", "net.ipv4.x")
      .replace("<resource>", "nofile").replace("<namespace>", "net")
     for k in KEYS for s in (k.name, *k.legacy)}
    | {"lxc.network.type", "lxc.network.link", "lxc.network.ipv4", "lxc.network.flags",
       "lxc.net.1.type", "lxc.net.x.type", "lxc.net.0", "lxc.cgroup", "lxc.bogus", "lxc.",
       "lxc.net.99999999999.type", "lxc.network.0.ipv4", "lxc.hook"})
VALUES = ["", "up", "down", "veth", "macvlan", "phys", "empty", "none", "vlan", "ipvlan", "0",
          "1", "-1", "2", "65", "abc", "eth0", "br0", "00:16:3e:xx:xx:xx", "4a:49:43:49:79:bd",
          "1.2.3.5/24", "10.0.0.300/24", "fd00::1/64", "zz::", "auto", "dev", "SIGPWR",
          "SIGRTMIN+3", "proc:mixed sys:ro", "shmounts:", "u 0 100000 65536", "sys_admin",
          "none", "unlimited", "1:2", "/a b none ro,bind 0 0", "'quoted'", '"x', "A=1", "A",
          "net user", "dir:/x", "lvm:/x", "a/../b", "²", "\x00", "é", "1500", " = ", "#"]
TEMPLATE_TEXTS = [p.read_text() for p in sorted(TEMPLATES.glob("*.conf"))]


def check(text: str) -> ContainerConfig | None:
    try:
        return parse_text(text, "fuzz", base_dir=NOWHERE, environ={})
    except ConfigError as exc:
        assert str(exc).startswith("fuzz:") or "lxc.include" in str(exc), exc
        return None


line = st.one_of(
    st.builds(lambda k, sp1, sp2, v: f"{k}{sp1}={sp2}{v}", st.sampled_from(KEY_NAMES),
              st.sampled_from(["", " ", "\t", "  "]), st.sampled_from(["", " ", "\t"]),
              st.one_of(st.sampled_from(VALUES), st.text(max_size=20))),
    st.sampled_from(["", "# comment", "  #lxc.bogus = 1", "garbage", "lxc.uts.name",
                     "\t\t", "lxc.net =", "lxc.include = ."]),
    st.text(max_size=30),
)


@SETTINGS
@given(st.lists(line, max_size=25))
def test_random_lines(lines: list[str]) -> None:
    check("\n".join(lines))


@SETTINGS
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    check(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(TEMPLATE_TEXTS))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        how = draw(st.sampled_from(["delete", "insert", "replace", "dup-line", "uncomment"]))
        if how == "delete":
            text = text[:at] + text[at + 1:]
        elif how == "insert":
            text = text[:at] + draw(st.sampled_from(["=", "#", ".", " ", "\n", "x", "0", ":",
                                                     '"', "/", "lxc."])) + text[at:]
        elif how == "replace":
            text = text[:at] + draw(st.characters()) + text[at + 1:]
        elif how == "dup-line":
            lines = text.split("\n")
            pick = draw(st.integers(0, len(lines) - 1))
            lines.insert(pick, lines[pick])
            text = "\n".join(lines)
        else:
            text = text.replace("\n#lxc.", "\nlxc.", draw(st.integers(1, 40)))
    return text


@SETTINGS
@given(mutated())
def test_mutated_templates(text: str) -> None:
    check(text)


@SETTINGS
@given(st.lists(st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEY_NAMES),
                          st.sampled_from(VALUES)) | st.text(max_size=20), max_size=5))
def test_random_overrides(items: list[str]) -> None:
    cfg = check("lxc.network.type = veth\nlxc.net.1.type = macvlan\n")
    assert cfg is not None
    try:
        apply_overrides(cfg, items, environ={})
    except ConfigError as exc:
        assert str(exc).startswith(("<command line>:0: ", "fuzz:")), exc


@settings(deadline=None, max_examples=200)
@given(st.one_of(mutated(), st.text(max_size=200)))
def test_update_never_fails_and_never_adds_lines(text: str) -> None:
    updated = update_legacy_text(text)
    assert updated.count("\n") <= text.count("\n")

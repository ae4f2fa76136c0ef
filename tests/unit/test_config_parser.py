"""The config parser: line rules, includes, 2008 networks, overrides, whole-file checks."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from lxcpy.config import apply_overrides, parse_file, parse_text
from lxcpy.config.keys import KEYS, config_values
from lxcpy.config.model import Origin
from lxcpy.config.parser import format_entries
from lxcpy.errors import ConfigError
from tests.unit.seed_example import SEED

TEMPLATES = Path(__file__).resolve().parents[2] / "etc" / "lxc"



def error(text: str, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_text(text, "config", **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# ---- line rules -----------------------------------------------------------------------------
def test_the_seeds_2008_example(tmp_path: Path) -> None:
    conf = tmp_path / "config"
    conf.write_text(SEED)
    cfg = parse_file(str(conf))
    assert cfg.path == str(conf)
    assert cfg.uts_name == "virtnode"
    assert cfg.fstab == str(tmp_path / "fstab")  # relative to the config file
    assert cfg.chroot == "/mnt/root"
    assert cfg.network_keys_present and cfg.wants_netns
    [net] = cfg.networks
    assert (net.index, net.type, net.up, net.link, net.hwaddr) == (
        0, "macvlan", True, "eth0", "4a:49:43:49:79:bd")
    assert [str(a.interface) for a in net.ipv4] == ["1.2.3.5/24"]
    assert [str(a) for a in net.ipv6] == ["2003:db8:1:0:214:1234:fe0b:3596/64"]
    assert net.origin == Origin(str(conf), 19)
    assert net.origins["ipv4.address"] == Origin(str(conf), 35)
    assert [e.canonical for e in cfg.entries] == [
        "lxc.mount.fstab", "lxc.uts.name", "lxc.chroot", "lxc.net.0.type", "lxc.net.0.flags",
        "lxc.net.0.link", "lxc.net.0.hwaddr", "lxc.net.0.ipv4.address",
        "lxc.net.0.ipv6.address"]
    assert cfg.entries[7].key == "lxc.network.ipv4"
    assert cfg.not_acted_on == []


def test_comments_blanks_spacing_and_quotes() -> None:
    cfg = parse_text("# comment\n \t# lxc.bogus = 1\n\n   \n"
                     "   lxc.uts.name =   spaced here  \n"
                     "lxc.init.cwd=/nospace\n"
                     'lxc.log.file = "/quoted path"\n'
                     "lxc.console.logfile = 'single'\n"
                     'lxc.init.cmd = "a b" c\n'
                     "lxc.apparmor.raw = a = b\n", "config")
    assert cfg.uts_name == "spaced here"
    assert cfg.init_cwd == "/nospace"
    assert cfg.log_file == "/quoted path"
    assert cfg.console_logfile == "single"
    assert cfg.init_cmd == ["a b", "c"]  # only a fully wrapping pair of quotes is removed
    assert cfg.entries[-1].value == "a = b"  # split at the first =
    assert [e.origin.line for e in cfg.entries] == [5, 6, 7, 8, 9, 10]


def test_crlf_line_endings_are_tolerated() -> None:
    assert parse_text("lxc.uts.name = x\r\nlxc.tty.max = 2\r\n").tty_max == 2


@pytest.mark.parametrize(("text", "message"), [
    ("garbage", "config:1: invalid config line 'garbage'"),
    ("lxc.tty.max = 1\n  foo.bar = 1", "config:2: invalid config line 'foo.bar = 1'"),
    ("nonlxc = 1", "config:1: invalid config line 'nonlxc = 1'"),
    ("lxc.uts.name", "config:1: invalid config line 'lxc.uts.name': no '=' after the key"),
    ("lxc.cgroup.foo", "config:1: invalid config line 'lxc.cgroup.foo': no '=' after the key"),
])
def test_lines_that_are_not_keys(text: str, message: str) -> None:
    assert error(text) == message


def test_unknown_key_message_exact() -> None:
    text = "# c\n\n\n\nlxc.uts.name = x\n\nlxc.netwrk.type = veth\n"
    assert error(text) == "config:7: unknown key 'lxc.netwrk.type'"


@pytest.mark.parametrize("key", ["lxc.bogus", "lxc.foo.bar", "lxc.uts", "lxc.hook.bogus",
                                 "lxc.net.0.bogus", "lxc.net.0", "lxc.net.0.ipv4",
                                 "lxc.network.bogus", "lxc.prlimit.", "lxc.cgroupx.y",
                                 "lxc.namespace.share."])
def test_unknown_keys(key: str) -> None:
    text = "lxc.network.type = veth\n" if key.startswith("lxc.network.") else ""
    line = text.count("\n") + 1
    assert error(text + f"{key} = 1") == f"config:{line}: unknown key '{key}'"


def test_bad_ipv4_message_exact() -> None:
    text = "lxc.net.0.type = veth\n" + "\n" * 10 + "lxc.net.0.ipv4.address = 10.0.0.300/24\n"
    assert error(text) == ("config:12: lxc.net.0.ipv4.address: '10.0.0.300/24' is not an IPv4 "
                           "address")


def test_network_errors() -> None:
    assert error("lxc.net.x.type = veth") == "config:1: lxc.net.x.type: 'x' is not a network index"
    assert error("lxc.net.0.type = bogus").startswith(
        "config:1: lxc.net.0.type: 'bogus' is not one of veth, macvlan, phys")
    assert error("lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:zz:00:00").startswith(
        "config:2: lxc.net.0.hwaddr: '00:16:3e:zz:00:00' is not a MAC address")
    assert error("lxc.net.0.type = veth\nlxc.net.0.mtu = 15OO") == (
        "config:2: lxc.net.0.mtu: '15OO' is not an integer in 68..65535")


def test_a_network_key_without_a_type_anywhere() -> None:
    text = "lxc.net.0.type = veth\nlxc.net.1.link = br0\nlxc.net.1.flags = up\n"
    assert error(text) == ("config:2: lxc.net.1.link: network 1 has no type: "
                           "add lxc.net.1.type")


def test_link_may_come_before_type() -> None:
    cfg = parse_text("lxc.net.1.link = br0\nlxc.net.1.veth.pair = v1\nlxc.net.1.type = veth")
    assert (cfg.networks[0].index, cfg.networks[0].link, cfg.networks[0].veth_pair) == (
        1, "br0", "v1")


@pytest.mark.parametrize(("text", "message"), [
    ("lxc.net.0.type = veth\nlxc.net.0.macvlan.mode = bridge",
     "config:2: lxc.net.0.macvlan.mode: only valid for a macvlan interface, not veth"),
    ("lxc.net.0.macvlan.mode = bridge\nlxc.net.0.type = phys",
     "config:1: lxc.net.0.macvlan.mode: only valid for a macvlan interface, not phys"),
    ("lxc.net.0.type = macvlan\nlxc.net.0.veth.pair = v0",
     "config:2: lxc.net.0.veth.pair: only valid for a veth interface, not macvlan"),
    ("lxc.network.type = macvlan\nlxc.network.veth.pair = v0",
     "config:2: lxc.network.veth.pair: only valid for a veth interface, not macvlan"),
    ("lxc.net.0.type = veth\nlxc.net.0.ipvlan.mode = l3",
     "config:2: lxc.net.0.ipvlan.mode: ipvlan is not supported by lxcpy (use macvlan, veth, "
     "vlan or phys)"),
    ("lxc.net.0.type = veth\nlxc.net.0.vlan.id = 3",
     "config:2: lxc.net.0.vlan.id: only valid for a vlan interface, not veth"),
])
def test_type_specific_keys(text: str, message: str) -> None:
    assert error(text) == message


def test_a_cleared_type_specific_key_is_fine() -> None:
    cfg = parse_text("lxc.net.0.type = macvlan\nlxc.net.0.veth.pair = v0\n"
                     "lxc.net.0.veth.pair =\n")
    assert cfg.networks[0].veth_pair is None


def test_cap_drop_and_keep_together() -> None:
    assert error("lxc.cap.drop = sys_time\n\nlxc.cap.keep = sys_admin") == (
        "config:3: lxc.cap.keep: lxc.cap.drop and lxc.cap.keep cannot both be set")
    assert parse_text("lxc.cap.drop = sys_time\nlxc.cap.drop =\nlxc.cap.keep = kill").cap_keep \
        == ["kill"]


# ---- empty values clear ----------------------------------------------------------------------
def test_empty_values_clear() -> None:
    cfg = parse_text("lxc.uts.name = x\nlxc.uts.name =\n"
                     'lxc.tty.max = 4\nlxc.tty.max = ""\n'
                     "lxc.environment = A=1\nlxc.environment =\nlxc.environment = B=2\n"
                     "lxc.cgroup.memory.max = 1\nlxc.cgroup.pids.max = 2\n"
                     "lxc.cgroup.memory.max =\n"
                     "lxc.cgroup2.a.b = 1\nlxc.cgroup2 =\n"
                     "lxc.prlimit.nofile = 1\nlxc.prlimit.core = 2\nlxc.prlimit.nofile =\n"
                     "lxc.sysctl.a.b = 1\nlxc.sysctl =\n"
                     "lxc.hook.start = a\nlxc.hook.stop = b\nlxc.hook.start =\n"
                     "lxc.mount.auto = proc\nlxc.mount.auto =\n"
                     "lxc.rootfs.path = /r\nlxc.rootfs.path =\n")
    assert cfg.uts_name is None
    assert cfg.tty_max == 0
    assert cfg.environment == [("B", "2")]
    assert [(s.version, s.key) for s in cfg.cgroup_settings] == [(1, "pids.max")]
    assert cfg.prlimits == {"core": "2:2"}
    assert cfg.sysctls == {}
    assert cfg.hooks == {"stop": ["b"]}
    assert cfg.mount_auto == []
    assert cfg.rootfs_path is None
    assert config_values(cfg, "lxc.uts.name") == []  # cleared: no old value comes back


def test_lxc_net_empty_clears_every_interface() -> None:
    cfg = parse_text("lxc.net.0.type = veth\nlxc.net.0.veth.ipv4.route = 10.0.0.0/8\n"
                     "lxc.net =\nlxc.net.1.type = empty\n")
    assert [(n.index, n.type) for n in cfg.networks] == [(1, "empty")]
    assert cfg.not_acted_on == []


def test_lxc_net_empty_alone_still_means_network_keys() -> None:
    cfg = parse_text("lxc.net =\n")
    assert cfg.networks == [] and cfg.network_keys_present and cfg.wants_netns


def test_no_network_keys_own_netns_and_type_none_shares() -> None:
    assert parse_text("lxc.uts.name = a").wants_netns  # LXC 5: an empty netns of its own
    assert parse_text("").wants_netns
    assert not parse_text("lxc.net.0.type = none").wants_netns
    assert not parse_text("lxc.namespace.keep = net").wants_netns
    assert parse_text("lxc.net.0.type = empty").wants_netns


def test_not_acted_on_is_forgotten_when_cleared_or_replaced() -> None:
    cfg = parse_text("lxc.apparmor.profile = a\nlxc.apparmor.profile = b\n"
                     "lxc.selinux.context = x\nlxc.selinux.context =\n"
                     "lxc.net.0.type = veth\nlxc.net.0.l2proxy = 1\nlxc.net.0.l2proxy = 0\n"
                     "lxc.proc.a = 1\nlxc.proc.b = 2\nlxc.proc =\n")
    assert [(e.canonical, e.value) for e in cfg.not_acted_on] == [("lxc.apparmor.profile", "b")]


def test_repeated_not_acted_on_lines_are_all_kept() -> None:
    cfg = parse_text("lxc.apparmor.raw = a\nlxc.apparmor.raw = b\n")
    assert [e.value for e in cfg.not_acted_on] == ["a", "b"]


# ---- 2008 networks ----------------------------------------------------------------------------
def test_every_legacy_type_line_opens_the_next_interface() -> None:
    cfg = parse_text("lxc.network.type = veth\nlxc.network.link = br0\n"
                     "lxc.network.ipv4 = 10.0.0.2/24\nlxc.network.ipv4.gateway = 10.0.0.1\n"
                     "lxc.network.type = macvlan\nlxc.network.macvlan.mode = bridge\n"
                     "lxc.network.link = eth0\nlxc.network.0.name = eth9\n")
    veth, mac = cfg.networks
    assert (veth.type, veth.link, veth.ipv4_gateway, veth.name) == ("veth", "br0", "10.0.0.1",
                                                                     "eth9")
    assert (mac.index, mac.type, mac.link, mac.macvlan_mode) == (1, "macvlan", "eth0", "bridge")
    assert [e.canonical for e in cfg.entries][-3:] == [
        "lxc.net.1.macvlan.mode", "lxc.net.1.link", "lxc.net.0.name"]
    assert config_values(cfg, "lxc.net.1.link") == ["eth0"]


def test_a_legacy_key_before_any_type_is_an_error() -> None:
    assert error("lxc.network.flags = up") == (
        "config:1: lxc.network.flags: no network yet: lxc.network.type must come first")


def test_down_flag_is_accepted_and_means_not_up() -> None:
    cfg = parse_text("lxc.net.0.type = veth\nlxc.net.0.flags = up\nlxc.net.0.flags = down")
    assert not cfg.networks[0].up


# ---- hwaddr --------------------------------------------------------------------------------
def test_hwaddr_template_is_filled_in_the_model_only_unless_asked() -> None:
    text = "lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n"
    cfg = parse_text(text)
    assert re.fullmatch(r"00:16:3e(:[0-9a-f]{2}){3}", cfg.networks[0].hwaddr or "")
    assert cfg.entries[1].value == "00:16:3e:xx:xx:xx"
    cfg = parse_text(text, randomize_hwaddr=True)
    assert cfg.entries[1].value == cfg.networks[0].hwaddr != "00:16:3e:xx:xx:xx"


# ---- includes ---------------------------------------------------------------------------------
def test_include_a_file_relative_to_the_including_one(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "common.conf").write_text("lxc.tty.max = 3\nlxc.mount.fstab = fstab\n")
    (tmp_path / "config").write_text("lxc.include = sub/common.conf\nlxc.uts.name = x\n")
    cfg = parse_file(str(tmp_path / "config"))
    assert (cfg.tty_max, cfg.uts_name) == (3, "x")
    assert cfg.fstab == str(tmp_path / "sub" / "fstab")
    assert [e.canonical for e in cfg.entries] == ["lxc.include", "lxc.tty.max", "lxc.mount.fstab",
                                                  "lxc.uts.name"]
    assert cfg.entries[1].origin == Origin(str(tmp_path / "sub" / "common.conf"), 1)


def test_include_a_directory_reads_its_conf_files_in_order(tmp_path: Path) -> None:
    d = tmp_path / "conf.d"
    d.mkdir()
    (d / "20-b.conf").write_text("lxc.uts.name = b\n")
    (d / "10-a.conf").write_text("lxc.uts.name = a\nlxc.tty.max = 1\n")
    (d / "30-c.txt").write_text("lxc.uts.name = ignored\n")
    (d / ".conf").write_text("garbage\n")
    cfg = parse_text(f"lxc.include = {d}\n", "config")
    assert cfg.uts_name == "b" and cfg.tty_max == 1


def test_include_loop(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("lxc.include = b.conf\n")
    (tmp_path / "b.conf").write_text("lxc.tty.max = 1\nlxc.include = a.conf\n")
    with pytest.raises(ConfigError) as info:
        parse_file(str(tmp_path / "a.conf"))
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    assert str(info.value) == f"{b}:2: lxc.include: include loop: {a} -> {b} -> {a}"


def test_a_directory_including_itself_is_a_loop(tmp_path: Path) -> None:
    (tmp_path / "x.conf").write_text("lxc.include = .\n")
    with pytest.raises(ConfigError, match="include loop"):
        parse_file(str(tmp_path / "x.conf"))


def test_including_the_same_file_twice_is_fine(tmp_path: Path) -> None:
    (tmp_path / "n.conf").write_text("lxc.group = g\n")
    cfg = parse_text(f"lxc.include = {tmp_path}/n.conf\nlxc.include = {tmp_path}/n.conf\n")
    assert cfg.groups == ["g"]


def test_include_of_a_missing_file(tmp_path: Path) -> None:
    assert error("lxc.uts.name = x\nlxc.include = /nonexistent/x.conf") == (
        "config:2: lxc.include: cannot read '/nonexistent/x.conf': No such file or directory")


def _as_nobody(func: Callable[[], str]) -> str:
    """``func()`` in a forked child that runs as nobody (root reads every file)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(wfd, func().encode())
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    return out


def test_include_of_an_unreadable_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.conf"
    secret.write_text("lxc.tty.max = 1\n")
    secret.chmod(0)
    text = f"lxc.include = {secret}"
    got = _as_nobody(lambda: error(text)) if os.geteuid() == 0 else error(text)
    assert got == f"config:1: lxc.include: cannot read '{secret}': Permission denied"


def test_include_through_a_file_is_unreadable_even_for_root(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    assert error(f"lxc.include = {tmp_path}/f/x.conf") == (
        f"config:1: lxc.include: cannot read '{tmp_path}/f/x.conf': Not a directory")


def test_include_of_a_fifo_fails_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    assert error(f"lxc.include = {fifo}") == (
        f"config:1: lxc.include: cannot read '{fifo}': not a regular file")


def test_an_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("\nlxc.tty.max = many\n")
    assert error(f"lxc.include = {tmp_path}/bad.conf") == (
        f"{tmp_path}/bad.conf:2: lxc.tty.max: 'many' is not a non-negative integer")


def test_parse_file_of_a_missing_or_unusable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_file(str(tmp_path / "nope"))
    assert str(info.value) == f"{tmp_path}/nope: cannot read config file: No such file or directory"
    with pytest.raises(ConfigError, match="is a directory"):
        parse_file(str(tmp_path))


# ---- overrides --------------------------------------------------------------------------------
def test_overrides_apply_after_the_file() -> None:
    cfg = parse_text("lxc.uts.name = a\nlxc.network.type = veth\nlxc.network.link = br0\n")
    cfg = apply_overrides(cfg, ["lxc.uts.name=b", "lxc.network.name = eth1",
                                "lxc.mount.auto=proc:rw", 'lxc.log.file="/x y"'])
    assert (cfg.uts_name, cfg.networks[0].name, cfg.mount_auto, cfg.log_file) == (
        "b", "eth1", ["proc:rw"], "/x y")
    assert cfg.entries[-4].origin == Origin("<command line>", 0)
    assert cfg.entries[-3].canonical == "lxc.net.0.name"


def test_override_relative_paths_use_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = apply_overrides(parse_text(""), ["lxc.mount.fstab=fstab"])
    assert cfg.fstab == str(tmp_path / "fstab")


@pytest.mark.parametrize(("item", "message"), [
    ("lxc.uts.name", "<command line>:0: invalid option 'lxc.uts.name': expected lxc.KEY=VALUE"),
    ("uts=x", "<command line>:0: invalid option 'uts=x': expected lxc.KEY=VALUE"),
    ("lxc.bogus=1", "<command line>:0: unknown key 'lxc.bogus'"),
    ("lxc.tty.max=x", "<command line>:0: lxc.tty.max: 'x' is not a non-negative integer"),
    ("lxc.net.3.link=br0", "<command line>:0: lxc.net.3.link: network 3 has no type: "
                           "add lxc.net.3.type"),
])
def test_bad_overrides(item: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides(parse_text(""), [item])
    assert str(info.value) == message


def test_an_override_can_make_drop_and_keep_clash() -> None:
    with pytest.raises(ConfigError, match="<command line>:0: lxc.cap.keep: lxc.cap.drop and"):
        apply_overrides(parse_text("lxc.cap.drop = kill"), ["lxc.cap.keep=kill"])


# ---- entries ------------------------------------------------------------------------------------
def test_format_entries() -> None:
    cfg = parse_text("lxc.utsname = a\nlxc.tty.max =\n")
    assert format_entries(cfg.entries) == "lxc.utsname = a\nlxc.tty.max =\n"
    assert format_entries(cfg.entries, canonical=True) == "lxc.uts.name = a\nlxc.tty.max =\n"


def test_get_config_item_in_both_spellings() -> None:
    cfg = parse_text("lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.0.1/24\n"
                     "lxc.network.0.ipv4 = 10.0.0.2/24\n")
    want = ["10.0.0.1/24", "10.0.0.2/24"]
    assert config_values(cfg, "lxc.net.0.ipv4.address") == want
    assert config_values(cfg, "lxc.network.0.ipv4") == want
    assert config_values(cfg, "lxc.bogus") == []


# ---- templates ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.conf")))
def test_every_template_parses(name: str) -> None:
    cfg = parse_file(str(TEMPLATES / name))
    assert cfg.uts_name and cfg.networks and cfg.not_acted_on == []


def test_the_templates_that_must_exist() -> None:
    names = {p.name for p in TEMPLATES.glob("*.conf")}
    assert {"lxc-macvlan.conf", "lxc-veth.conf", "lxc-phys.conf", "lxc-empty-netns.conf",
            "lxc-no-netns.conf", "lxc-complete.conf"} <= names


def test_macvlan_template_is_the_seeds_example() -> None:
    seed = parse_text(SEED.replace("lxc.mount = ./fstab\n", "").replace(
        "lxc.chroot = /mnt/root\n", ""))
    template = parse_file(str(TEMPLATES / "lxc-macvlan.conf"))
    assert template.networks[0].origins.keys() == seed.networks[0].origins.keys()
    for field in ("type", "flags", "link", "hwaddr", "ipv4", "ipv6"):
        assert getattr(template.networks[0], field) == getattr(seed.networks[0], field)
    assert template.uts_name == "virtnode"
    text = (TEMPLATES / "lxc-macvlan.conf").read_text()
    for legacy in ("lxc.utsname", "lxc.mount", "lxc.network.type", "lxc.network.ipv4"):
        assert legacy in text  # the 2008 spelling is shown in the comments


def test_complete_template_shows_every_key_and_legacy_spelling() -> None:
    text = (TEMPLATES / "lxc-complete.conf").read_text()
    for row in KEYS:
        regex = re.sub(r"<[^>]+>", "[^ =]+", row.name.replace(".", r"\."))
        assert re.search(rf"^#?{regex} =", text, re.M), row.name
        for old in row.legacy:  # lxc.network.<N>.ipv4 is shown as lxc.network.ipv4
            assert old.replace("<N>.", "") in text, old


def test_complete_template_examples_are_valid_values() -> None:
    lines = []
    for line in (TEMPLATES / "lxc-complete.conf").read_text().splitlines():
        if line.startswith(("#lxc.include", "#lxc.cap.keep", "#lxc.seccomp.profile",
                            "#lxc.net.3.ipvlan")):
            continue  # a path that may not exist; cannot be set together with cap.drop; refused
        lines.append(re.sub(r"^#(lxc\.)", r"\1", line))
    lines += ["lxc.net.1.type = veth", "lxc.net.2.type = macvlan", "lxc.net.4.type = vlan"]
    cfg = parse_text("\n".join(lines), "complete", base_dir=str(TEMPLATES),
                     environ={"TERM": "x"})
    assert len(cfg.networks) == 4
    assert parse_text("lxc.cap.keep = none").cap_keep == ["none"]


# ---- cheap -----------------------------------------------------------------------------------
def test_parsing_imports_nothing_heavy() -> None:
    """Parsing stays cheap for every command (speed itself is the bench's to measure, not a
    wall-clock threshold here): a fresh interpreter parses a config without importing
    click, pyroute2, prctl or ctypes."""
    import subprocess
    import sys

    text = SEED + "lxc.tty.max = 0\nlxc.console.path = none\nlxc.mount.auto = proc:mixed\n"
    code = ("import sys\nfrom lxcpy.config import parse_text\n"
            f"parse_text({text!r}, '/etc/lxc/config')\n"
            "print(sorted(m for m in sys.modules\n"
            "             if m.split('.')[0] in ('click', 'pyroute2', 'prctl', 'ctypes')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "[]\n", "")


NET_WORK = [  # (lxc.net lines, whether a start has anything for lxcpy.net to do)
    ("", False),  # LXC 5's default: a netns of its own with lo down
    ("lxc.net.0.type = empty", False),
    ("lxc.net.0.type = empty\nlxc.net.1.type = empty", False),
    ("lxc.net.0.type = none", False),
    ("lxc.net.0.type = empty\nlxc.net.0.flags = up", True),  # lo up: netlink in the init
    ("lxc.net.0.type = empty\nlxc.net.0.script.up = /bin/true", True),
    ("lxc.net.0.type = empty\nlxc.net.0.script.down = /bin/true", True),
    ("lxc.net.0.type = veth\nlxc.net.0.link = br0", True),
    ("lxc.net.0.type = empty\nlxc.net.1.type = macvlan\nlxc.net.1.link = eth0", True),
    ("lxc.network.type = phys\nlxc.network.link = eth1", True),
]


@pytest.mark.parametrize(("lines", "work"), NET_WORK)
def test_network_work_is_what_lxcpy_net_would_do(lines: str, work: bool) -> None:
    """``ContainerConfig.network_work`` False lets the runtime skip importing lxcpy.net: then
    each of its entry points returns at once, before importing anything of its own (a fresh
    interpreter in which those imports would fail)."""
    import subprocess
    import sys

    assert parse_text(lines + "\n").network_work is work
    if work:
        return
    code = ("import sys\n"
            "for m in ('host', 'inside', 'scripts', 'names', '_netlink'):\n"
            "    sys.modules['lxcpy.net.' + m] = None  # importing one raises ImportError\n"
            "from lxcpy.config import parse_text\n"
            "from lxcpy import net\n"
            f"nets = parse_text({lines + chr(10)!r}).networks\n"
            "assert net.host_setup(nets, 0, 'c', lambda rec: 1 / 0) == []\n"
            "assert net.inside_setup(nets, []) is None\n"
            "assert not net.needs_netlink(nets)\n"
            "net.preload(nets)\n"
            "for phase in ('up', 'down'):\n"
            "    net.run_scripts(nets, [], 'c', phase)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")


@pytest.mark.parametrize(("lines", "mode", "daemonized", "needed"), [
    ("lxc.console.path = none", "execute", False, False),  # lxc-execute: no console module
    ("lxc.console.path = none", "execute", True, False),
    ("", "execute", False, False),  # the caller's stdio
    ("", "execute", True, True),  # daemonised: LXC's pty
    ("lxc.console.path = /dev/pts/9", "execute", False, True),
    ("lxc.console.path = none", "start", False, True),  # lxc-start: a session of its own
    ("lxc.rootfs.path = /srv/r\nlxc.console.path = none\nlxc.tty.max = 2", "execute", False,
     True),  # ttys in a rootfs
    ("lxc.rootfs.path = /srv/r\nlxc.console.path = none\nlxc.tty.max = 0", "execute", False,
     False),
])
def test_needs_console(lines: str, mode: str, daemonized: bool, needed: bool) -> None:
    cfg = parse_text(lines + "\n")
    assert cfg.needs_console(mode, daemonized) is needed
    assert cfg.wants_pty(daemonized) is (cfg.console_path != "none"
                                         and bool(cfg.console_path or daemonized))

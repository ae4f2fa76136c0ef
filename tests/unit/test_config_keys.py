"""The key table: every key (today's and legacy spellings) parses into the model."""

from __future__ import annotations

import ipaddress
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from lxcpy.config import ContainerConfig, parse_text
from lxcpy.config.keys import (
    APPLIED_BY,
    KEYS,
    KEYS_NOT_ACTED_ON,
    REFUSED,
    WARNED,
    Invalid,
    canonical_key,
    check_start,
    config_values,
    lookup,
    parse_prlimit,
    randomize_hwaddr,
)
from lxcpy.errors import ConfigError, LxcError

Check = Callable[[ContainerConfig], bool]


def parse(text: str, **kwargs: object) -> ContainerConfig:
    return parse_text(text, "config", base_dir="/etc/lxc", **kwargs)  # type: ignore[arg-type]


def net(cfg: ContainerConfig, index: int = 0):  # noqa: ANN201
    return next(n for n in cfg.networks if n.index == index)


def acted(cfg: ContainerConfig) -> bool:
    return not cfg.not_acted_on


def recorded(cfg: ContainerConfig) -> bool:
    return [e.canonical for e in cfg.not_acted_on] == [cfg.entries[-1].canonical]


VETH = "lxc.net.0.type = veth\n"
SECCOMP = Path(__file__).parents[1] / "data" / "lxc-5.0.2" / "common.seccomp"

# (row name, config text, what the model must say). Every row of KEYS needs a case here.
VALID: list[tuple[str, str, Check]] = [
    ("lxc.include", "lxc.include =", lambda c: c.entries[0].key == "lxc.include"),
    ("lxc.uts.name", "lxc.uts.name = web", lambda c: c.uts_name == "web" and acted(c)),
    ("lxc.arch", "lxc.arch = x86_64", lambda c: c.arch == "x86_64"),
    ("lxc.environment", "lxc.environment = A=1\nlxc.environment = B=x=y",
     lambda c: c.environment == [("A", "1"), ("B", "x=y")]),
    ("lxc.no_new_privs", "lxc.no_new_privs = 1", lambda c: c.no_new_privs is True),
    ("lxc.ephemeral", "lxc.ephemeral = 1", lambda c: c.ephemeral is True and acted(c)),
    ("lxc.keyring.session", "lxc.keyring.session = 0",
     lambda c: c.keyring_session is False and acted(c)),
    ("lxc.sched.core", "lxc.sched.core = 1", recorded),
    ("lxc.time.offset.boot", "lxc.time.offset.boot = -10s",
     lambda c: c.time_offset_boot == "-10s" and acted(c)),
    ("lxc.time.offset.monotonic", "lxc.time.offset.monotonic = 500ms",
     lambda c: c.time_offset_monotonic == "500ms"),
    ("lxc.proc.<file>", "lxc.proc.oom_score_adj = 10",
     lambda c: c.proc == {"oom_score_adj": "10"} and acted(c)),
    ("lxc.sysctl.<key>", "lxc.sysctl.net.ipv4.ip_forward = 1",
     lambda c: c.sysctls == {"net.ipv4.ip_forward": "1"} and acted(c)),
    ("lxc.prlimit.<resource>", "lxc.prlimit.nofile = 1024:2048\nlxc.prlimit.core = unlimited",
     lambda c: c.prlimits == {"nofile": "1024:2048", "core": "unlimited:unlimited"}),
    ("lxc.init.cmd", "lxc.init.cmd = /bin/sh -c 'echo a b'",
     lambda c: c.init_cmd == ["/bin/sh", "-c", "echo a b"]),
    ("lxc.init.cwd", "lxc.init.cwd = /srv", lambda c: c.init_cwd == "/srv"),
    ("lxc.init.uid", "lxc.init.uid = 1000", lambda c: c.init_uid == 1000),
    ("lxc.init.gid", "lxc.init.gid = 100", lambda c: c.init_gid == 100),
    ("lxc.init.groups", "lxc.init.groups = 10,20\nlxc.init.groups = 30",
     lambda c: c.init_groups == [10, 20, 30]),
    ("lxc.execute.cmd", 'lxc.execute.cmd = /bin/sh -c "echo from-execute-cmd; exit 4"',
     lambda c: c.execute_cmd == ["/bin/sh", "-c", "echo from-execute-cmd; exit 4"]),
    ("lxc.signal.halt", "lxc.signal.halt = SIGPWR", lambda c: c.signal_halt == signal.SIGPWR),
    ("lxc.signal.reboot", "lxc.signal.reboot = SIGRTMIN+3",
     lambda c: c.signal_reboot == signal.SIGRTMIN + 3),
    ("lxc.signal.stop", "lxc.signal.stop = 9", lambda c: c.signal_stop == 9),
    ("lxc.net", VETH + "lxc.net =", lambda c: c.networks == [] and c.network_keys_present),
    ("lxc.net.<N>.type", "lxc.net.0.type = macvlan",
     lambda c: net(c).type == "macvlan" and acted(c)),
    ("lxc.net.<N>.flags", VETH + "lxc.net.0.flags = up", lambda c: net(c).up),
    ("lxc.net.<N>.link", VETH + "lxc.net.0.link = br0", lambda c: net(c).link == "br0"),
    ("lxc.net.<N>.name", VETH + "lxc.net.0.name = eth0", lambda c: net(c).name == "eth0"),
    ("lxc.net.<N>.hwaddr", VETH + "lxc.net.0.hwaddr = 00:16:3E:12:34:56",
     lambda c: net(c).hwaddr == "00:16:3E:12:34:56"),
    ("lxc.net.<N>.mtu", VETH + "lxc.net.0.mtu = 1400", lambda c: net(c).mtu == 1400),
    ("lxc.net.<N>.ipv4.address", VETH + "lxc.net.0.ipv4.address = 10.1.1.2/16 10.1.255.255",
     lambda c: net(c).ipv4[0].interface == ipaddress.IPv4Interface("10.1.1.2/16")
     and net(c).ipv4[0].broadcast == ipaddress.IPv4Address("10.1.255.255")),
    ("lxc.net.<N>.ipv4.gateway", VETH + "lxc.net.0.ipv4.gateway = auto",
     lambda c: net(c).ipv4_gateway == "auto"),
    ("lxc.net.<N>.ipv6.address", VETH + "lxc.net.0.ipv6.address = fd00::2/80",
     lambda c: net(c).ipv6 == [ipaddress.IPv6Interface("fd00::2/80")]),
    ("lxc.net.<N>.ipv6.gateway", VETH + "lxc.net.0.ipv6.gateway = fd00::1",
     lambda c: net(c).ipv6_gateway == "fd00::1"),
    ("lxc.net.<N>.script.up", VETH + "lxc.net.0.script.up = /bin/up",
     lambda c: net(c).script_up == "/bin/up"),
    ("lxc.net.<N>.script.down", VETH + "lxc.net.0.script.down = /bin/down",
     lambda c: net(c).script_down == "/bin/down"),
    ("lxc.net.<N>.veth.pair", VETH + "lxc.net.0.veth.pair = vethfoo",
     lambda c: net(c).veth_pair == "vethfoo"),
    ("lxc.net.<N>.veth.mode", VETH + "lxc.net.0.veth.mode = bridge",
     lambda c: net(c).veth_mode == "bridge" and acted(c)),
    ("lxc.net.<N>.veth.ipv4.route", VETH + "lxc.net.0.veth.ipv4.route = 10.0.0.0/24",
     recorded),
    ("lxc.net.<N>.veth.ipv6.route", VETH + "lxc.net.0.veth.ipv6.route = fd00::/64", recorded),
    ("lxc.net.<N>.veth.vlan.id", VETH + "lxc.net.0.veth.vlan.id = none", recorded),
    ("lxc.net.<N>.veth.vlan.tagged.id", VETH + "lxc.net.0.veth.vlan.tagged.id = 20", recorded),
    ("lxc.net.<N>.veth.n_rxqueues", VETH + "lxc.net.0.veth.n_rxqueues = 2", recorded),
    ("lxc.net.<N>.veth.n_txqueues", VETH + "lxc.net.0.veth.n_txqueues = 2", recorded),
    ("lxc.net.<N>.macvlan.mode", "lxc.net.0.type = macvlan\nlxc.net.0.macvlan.mode = bridge",
     lambda c: net(c).macvlan_mode == "bridge"),
    ("lxc.net.<N>.vlan.id", "lxc.net.0.type = vlan\nlxc.net.0.vlan.id = 100",
     lambda c: net(c).vlan_id == 100 and acted(c)),
    ("lxc.net.<N>.l2proxy", VETH + "lxc.net.0.l2proxy = 1",
     lambda c: net(c).l2proxy is True and recorded(c)),
    ("lxc.console.path", "lxc.console.path = none", lambda c: c.console_path == "none"),
    ("lxc.console.logfile", "lxc.console.logfile = /var/log/c",
     lambda c: c.console_logfile == "/var/log/c"),
    ("lxc.console.rotate", "lxc.console.rotate = 1", recorded),
    ("lxc.console.buffer.size", "lxc.console.buffer.size = auto", recorded),
    ("lxc.console.size", "lxc.console.size = 1 MB", recorded),
    ("lxc.tty.max", "lxc.tty.max = 4", lambda c: c.tty_max == 4),
    ("lxc.tty.dir", "lxc.tty.dir = lxc", lambda c: c.tty_dir == "lxc" and acted(c)),
    ("lxc.pty.max", "lxc.pty.max = 1024", lambda c: c.pty_max == 1024),
    ("lxc.autodev", "lxc.autodev = 1", lambda c: c.autodev is True),
    ("lxc.autodev.tmpfs.size", "lxc.autodev.tmpfs.size = 100000",
     lambda c: c.autodev_tmpfs_size == 100000 and acted(c)),
    ("lxc.rootfs.path", "lxc.rootfs.path = dir:/var/lib/lxc/c/rootfs",
     lambda c: c.rootfs_path == "/var/lib/lxc/c/rootfs"),
    ("lxc.rootfs.mount", "lxc.rootfs.mount = /mnt", lambda c: c.rootfs_mount == "/mnt"),
    ("lxc.rootfs.options", "lxc.rootfs.options = ro", lambda c: c.rootfs_options == "ro"),
    ("lxc.rootfs.managed", "lxc.rootfs.managed = 0", recorded),
    ("lxc.rootfs.backend", "lxc.rootfs.backend = btrfs", recorded),
    ("lxc.pivotdir", "lxc.pivotdir = lxc_putold", acted),
    ("lxc.kmsg", "lxc.kmsg = 1", recorded),
    ("lxc.chroot", "lxc.chroot = /mnt/root", lambda c: c.chroot == "/mnt/root" and acted(c)),
    ("lxc.mount.fstab", "lxc.mount.fstab = fstab", lambda c: c.fstab == "/etc/lxc/fstab"),
    ("lxc.mount.entry", r"lxc.mount.entry = /a\040b mnt/x none ro,bind 0 1",
     lambda c: (c.mount_entries[0].source, c.mount_entries[0].target,
                c.mount_entries[0].option_list, c.mount_entries[0].passno)
     == ("/a b", "mnt/x", ["ro", "bind"], 1)),
    ("lxc.mount.auto", "lxc.mount.auto = proc sys:ro\nlxc.mount.auto = proc:rw cgroup:mixed",
     lambda c: c.mount_auto == ["sys:ro", "proc:rw", "cgroup:mixed"] and acted(c)),
    ("lxc.cgroup.driver", "lxc.cgroup.driver = v2", lambda c: c.cgroup_driver == "v2"),
    ("lxc.cgroup.dir", "lxc.cgroup.dir = lxcpy/sub", lambda c: c.cgroup_dir == "lxcpy/sub"),
    ("lxc.cgroup.dir.container", "lxc.cgroup.dir.container = a/refc",
     lambda c: c.cgroup_dir_container == "a/refc" and acted(c)),
    ("lxc.cgroup.dir.container.inner", "lxc.cgroup.dir.container.inner = inner",
     lambda c: c.cgroup_dir_container_inner == "inner" and acted(c)),
    ("lxc.cgroup.dir.monitor", "lxc.cgroup.dir.monitor = refm",
     lambda c: c.cgroup_dir_monitor == "refm" and acted(c)),
    ("lxc.cgroup.dir.monitor.pivot", "lxc.cgroup.dir.monitor.pivot = p",
     lambda c: c.cgroup_dir_monitor_pivot == "p" and acted(c)),
    ("lxc.cgroup.relative", "lxc.cgroup.relative = 1",
     lambda c: c.cgroup_relative is True and acted(c)),
    ("lxc.cgroup.<file>", "lxc.cgroup.memory.limit_in_bytes = 100M",
     lambda c: [(s.version, s.key, s.value, s.controller, s.config_key)
                for s in c.cgroup_settings]
     == [(1, "memory.limit_in_bytes", "100M", "memory", "lxc.cgroup.memory.limit_in_bytes")]),
    ("lxc.cgroup2.<file>", "lxc.cgroup2.pids.max = 20",
     lambda c: [(s.version, s.key) for s in c.cgroup_settings] == [(2, "pids.max")]),
    ("lxc.cap.drop", "lxc.cap.drop = sys_module MAC_ADMIN\nlxc.cap.drop = 25",
     lambda c: c.cap_drop == ["sys_module", "mac_admin", "sys_time"]),
    ("lxc.cap.keep", "lxc.cap.keep = sys_admin\nlxc.cap.keep = none\nlxc.cap.keep = kill",
     lambda c: c.cap_keep == ["none", "kill"]),
    ("lxc.namespace.clone", "lxc.namespace.clone = mnt pid\nlxc.namespace.clone = pid uts",
     lambda c: c.namespace_clone == ["mnt", "pid", "uts"]),
    ("lxc.namespace.keep", "lxc.namespace.keep = net user", lambda c: c.namespace_keep
     == ["net", "user"] and not c.wants_netns),
    ("lxc.namespace.share.<namespace>", "lxc.namespace.share.net = /proc/1/ns/net",
     lambda c: c.namespace_share == {"net": "/proc/1/ns/net"} and acted(c)),
    ("lxc.idmap", "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536",
     lambda c: [(m.kind, m.nsid, m.hostid, m.range) for m in c.idmaps]
     == [("u", 0, 100000, 65536), ("g", 0, 100000, 65536)]),
    ("lxc.apparmor.profile", "lxc.apparmor.profile = unconfined", recorded),
    ("lxc.apparmor.allow_incomplete", "lxc.apparmor.allow_incomplete = 1", recorded),
    ("lxc.apparmor.allow_nesting", "lxc.apparmor.allow_nesting = 1", recorded),
    ("lxc.apparmor.raw", "lxc.apparmor.raw = deny /x w,", recorded),
    ("lxc.selinux.context", "lxc.selinux.context = u:r:t:s0", recorded),
    ("lxc.selinux.context.keyring", "lxc.selinux.context.keyring = u:r:t:s0", recorded),
    ("lxc.seccomp.profile", f"lxc.seccomp.profile = {SECCOMP}",
     lambda c: c.seccomp is not None and acted(c)),
    ("lxc.seccomp.allow_nesting", "lxc.seccomp.allow_nesting = 1",
     lambda c: c.seccomp_allow_nesting is True),
    ("lxc.seccomp.notify.proxy", "lxc.seccomp.notify.proxy = unix:/run/s", recorded),
    ("lxc.seccomp.notify.cookie", "lxc.seccomp.notify.cookie = c", recorded),
    ("lxc.hook.pre-start", "lxc.hook.pre-start = /bin/a\nlxc.hook.pre-start = /bin/b",
     lambda c: c.hooks == {"pre-start": ["/bin/a", "/bin/b"]}),
    ("lxc.hook.pre-mount", "lxc.hook.pre-mount = /bin/a", lambda c: "pre-mount" in c.hooks),
    ("lxc.hook.mount", "lxc.hook.mount = /bin/a", lambda c: "mount" in c.hooks),
    ("lxc.hook.autodev", "lxc.hook.autodev = /bin/a", lambda c: "autodev" in c.hooks),
    ("lxc.hook.start", "lxc.hook.start = /bin/a", lambda c: "start" in c.hooks),
    ("lxc.hook.stop", "lxc.hook.stop = /bin/a", lambda c: "stop" in c.hooks),
    ("lxc.hook.post-stop", "lxc.hook.post-stop = /bin/a", lambda c: "post-stop" in c.hooks),
    ("lxc.hook.clone", "lxc.hook.clone = /bin/a",
     lambda c: c.hooks == {"clone": ["/bin/a"]} and acted(c)),
    ("lxc.hook.destroy", "lxc.hook.destroy = /bin/a", recorded),
    ("lxc.hook.start-host", "lxc.hook.start-host = /bin/a", recorded),
    ("lxc.hook", "lxc.hook.stop = /bin/a\nlxc.hook.clone = /bin/b\nlxc.hook =",
     lambda c: not c.hooks and acted(c)),
    ("lxc.hook.version", "lxc.hook.version = 1", lambda c: c.hook_version == 1),
    ("lxc.monitor.unshare", "lxc.monitor.unshare = 1", recorded),
    ("lxc.monitor.signal.pdeath", "lxc.monitor.signal.pdeath = SIGTERM", recorded),
    ("lxc.start.auto", "lxc.start.auto = 1", lambda c: c.start_auto is True),
    ("lxc.start.delay", "lxc.start.delay = 5", lambda c: c.start_delay == 5),
    ("lxc.start.order", "lxc.start.order = -3", lambda c: c.start_order == -3),
    ("lxc.group", "lxc.group = onboot web\nlxc.group = web db",
     lambda c: c.groups == ["onboot", "web", "db"]),
    ("lxc.log.file", "lxc.log.file = /var/log/c.log", lambda c: c.log_file == "/var/log/c.log"),
    ("lxc.log.level", "lxc.log.level = 3", lambda c: c.log_level == "NOTICE"),
    ("lxc.log.syslog", "lxc.log.syslog = local3", recorded),
]

# 2008 and LXC 1.x/2.x spellings: (config text, today's canonical key, check)
LEGACY: list[tuple[str, str, Check]] = [
    ("lxc.utsname = virtnode", "lxc.uts.name", lambda c: c.uts_name == "virtnode"),
    ("lxc.limit.nofile = 10", "lxc.prlimit.nofile", lambda c: c.prlimits == {"nofile": "10:10"}),
    ("lxc.init_cmd = /sbin/init -v", "lxc.init.cmd", lambda c: c.init_cmd == ["/sbin/init", "-v"]),
    ("lxc.init_uid = 5", "lxc.init.uid", lambda c: c.init_uid == 5),
    ("lxc.init_gid = 6", "lxc.init.gid", lambda c: c.init_gid == 6),
    ("lxc.haltsignal = SIGUSR1", "lxc.signal.halt", lambda c: c.signal_halt == signal.SIGUSR1),
    ("lxc.rebootsignal = INT", "lxc.signal.reboot", lambda c: c.signal_reboot == signal.SIGINT),
    ("lxc.stopsignal = KILL", "lxc.signal.stop", lambda c: c.signal_stop == signal.SIGKILL),
    (VETH + "lxc.network =", "lxc.net", lambda c: c.networks == []),
    ("lxc.network.0.type = veth\nlxc.network.0.ipv4 = 10.0.0.2/24", "lxc.net.0.ipv4.address",
     lambda c: str(net(c).ipv4[0].interface) == "10.0.0.2/24"),
    ("lxc.network.0.type = veth\nlxc.network.0.ipv6 = fd00::2", "lxc.net.0.ipv6.address",
     lambda c: str(net(c).ipv6[0]) == "fd00::2/64"),
    ("lxc.console = none", "lxc.console.path", lambda c: c.console_path == "none"),
    ("lxc.tty = 2", "lxc.tty.max", lambda c: c.tty_max == 2),
    ("lxc.devttydir = lxc", "lxc.tty.dir", lambda c: c.tty_dir == "lxc"),
    ("lxc.pts = 1", "lxc.pty.max", lambda c: c.pty_max == 1),
    ("lxc.rootfs = /srv/rootfs", "lxc.rootfs.path", lambda c: c.rootfs_path == "/srv/rootfs"),
    ("lxc.mount = ./fstab", "lxc.mount.fstab", lambda c: c.fstab == "/etc/lxc/fstab"),
    ("lxc.id_map = u 0 1000 1", "lxc.idmap", lambda c: c.idmaps[0].hostid == 1000),
    ("lxc.aa_profile = unconfined", "lxc.apparmor.profile", recorded),
    ("lxc.aa_allow_incomplete = 1", "lxc.apparmor.allow_incomplete", recorded),
    ("lxc.se_context = u:r:t", "lxc.selinux.context", recorded),
    (f"lxc.seccomp = {SECCOMP}", "lxc.seccomp.profile", lambda c: c.seccomp is not None),
    ("lxc.loglevel = DEBUG", "lxc.log.level", lambda c: c.log_level == "DEBUG"),
    ("lxc.logfile = /l", "lxc.log.file", lambda c: c.log_file == "/l"),
    ("lxc.syslog = daemon", "lxc.log.syslog", recorded),
]


@pytest.mark.parametrize(("name", "text", "check"), VALID, ids=[v[0] for v in VALID])
def test_every_key(name: str, text: str, check: Check) -> None:
    cfg = parse(text)
    assert check(cfg), cfg
    assert lookup(cfg.entries[-1].key).row.name == name  # type: ignore[union-attr]


def test_every_row_has_a_case() -> None:
    refused = {"lxc.net.<N>.ipvlan.mode", "lxc.net.<N>.ipvlan.isolation"}  # INVALID has them
    assert {k.name for k in KEYS} == {v[0] for v in VALID} | refused


@pytest.mark.parametrize(("text", "canonical", "check"), LEGACY, ids=[v[1] for v in LEGACY])
def test_every_legacy_key(text: str, canonical: str, check: Check) -> None:
    cfg = parse(text)
    assert check(cfg), cfg
    last = cfg.entries[-1]
    assert last.canonical == canonical
    assert canonical_key(last.key) == canonical
    # a clearing line (lxc.network =) leaves no value behind
    want = [last.value] if last.value else []
    assert config_values(cfg, last.key) == config_values(cfg, canonical) == want


def test_every_legacy_spelling_has_a_case() -> None:
    spellings = {s.replace("<resource>", "nofile").replace("<N>", "0")
                 for k in KEYS for s in k.legacy}
    tested = {parse(t).entries[-1].key for t, _, _ in LEGACY}
    assert spellings == tested


@pytest.mark.parametrize(("key", "today"), [
    ("lxc.utsname", "lxc.uts.name"),
    ("lxc.uts.name", "lxc.uts.name"),
    ("lxc.network.0.ipv4", "lxc.net.0.ipv4.address"),
    ("lxc.network.12.link", "lxc.net.12.link"),
    ("lxc.net.007.mtu", "lxc.net.7.mtu"),
    ("lxc.limit.nofile", "lxc.prlimit.nofile"),
    ("lxc.limit", "lxc.prlimit"),
    ("lxc.network", "lxc.net"),
    ("lxc.cgroup.memory.max", "lxc.cgroup.memory.max"),
    ("lxc.network.ipv4", "lxc.network.ipv4"),  # needs the file's context
    ("lxc.network.type", "lxc.network.type"),
    ("lxc.net.x.type", "lxc.net.x.type"),
    ("lxc.bogus", "lxc.bogus"),
    ("lxc.hook.bogus", "lxc.hook.bogus"),
])
def test_canonical_key(key: str, today: str) -> None:
    assert canonical_key(key) == today


def test_lookup_refuses_a_non_numeric_network_index() -> None:
    with pytest.raises(Invalid, match="'x' is not a network index"):
        lookup("lxc.net.x.type")
    assert lookup("lxc.net.0") is None
    assert lookup("lxc.net.0.bogus") is None


def test_rows_are_unique_and_the_not_acted_list_is_right() -> None:
    names = [k.name for k in KEYS]
    assert len(names) == len(set(names))
    spellings = [s for k in KEYS for s in (k.name, *k.legacy)]
    assert len(spellings) == len(set(spellings))
    for key in ("lxc.apparmor.profile", "lxc.hook.destroy",
                "lxc.net.<N>.ipvlan.mode", "lxc.log.syslog", "lxc.console.size"):
        assert key in KEYS_NOT_ACTED_ON
    for key in ("lxc.uts.name", "lxc.net.<N>.type", "lxc.mount.auto", "lxc.include", "lxc.net",
                "lxc.hook.autodev", "lxc.idmap", "lxc.cgroup.<file>", "lxc.prlimit.<resource>",
                "lxc.sysctl.<key>", "lxc.proc.<file>", "lxc.namespace.share.<namespace>",
                "lxc.hook.clone", "lxc.tty.dir", "lxc.seccomp.profile"):
        assert key not in KEYS_NOT_ACTED_ON


# (config text, message after "config:LINE: ")
INVALID: list[tuple[str, str]] = [
    ("lxc.uts.name = " + "x" * 65, "lxc.uts.name: '" + "x" * 65 + "' is longer than 64 bytes"),
    ("lxc.arch = foo", "lxc.arch: 'foo' is not one of"),
    ("lxc.environment = =1", "lxc.environment: '=1' has no variable name"),
    ("lxc.environment = LXCPY_SURELY_UNSET",
     "lxc.environment: 'LXCPY_SURELY_UNSET' is not set in the environment"),
    ("lxc.no_new_privs = 2", "lxc.no_new_privs: '2' is not 0 or 1"),
    ("lxc.autodev = 2", "lxc.autodev: '2' is not 0 or 1"),
    ("lxc.start.auto = 2", "lxc.start.auto: '2' is not 0 or 1"),
    ("lxc.ephemeral = yes", "lxc.ephemeral: 'yes' is not 0 or 1"),
    ("lxc.time.offset.boot = 10", "is not a time offset"),
    ("lxc.prlimit.nofile = abc", "lxc.prlimit.nofile: 'abc' is not a limit"),
    ("lxc.prlimit.nofile = 10:5", "the soft limit is above the hard limit"),
    ("lxc.prlimit.bogus = 1", "lxc.prlimit.bogus: 'bogus' is not a resource limit"),
    ("lxc.sysctl.net..x = 1", "is not a sysctl name"),
    ("lxc.sysctl.net/../../kernel/core_pattern = x", "is not a sysctl name"),
    ("lxc.proc.../x = 1", "is not a file of /proc/PID"),
    ("lxc.namespace.share.bogus = a", "'bogus' is not a namespace"),
    ("lxc.init.cmd = /bin/sh -c 'unbalanced", "lxc.init.cmd: cannot split"),
    ("lxc.init.uid = -1", "lxc.init.uid: '-1' is not a non-negative integer"),
    ("lxc.init.groups = 1,x", "lxc.init.groups: 'x' is not a non-negative integer"),
    ("lxc.signal.stop = SIGFOO", "lxc.signal.stop: 'SIGFOO' is not a signal"),
    ("lxc.signal.halt = 65", "lxc.signal.halt: '65' is not a signal"),
    ("lxc.signal.halt = SIGRTMIN+40", "is not a signal"),
    ("lxc.signal.halt = SIG_DFL", "is not a signal"),
    ("lxc.net = veth", "lxc.net: takes no value"),
    ("lxc.net.0.type = bogus", "lxc.net.0.type: 'bogus' is not one of veth, macvlan"),
    (VETH + "lxc.net.0.flags = upp", "lxc.net.0.flags: 'upp' is not a network flag"),
    (VETH + "lxc.net.0.mtu = abc", "lxc.net.0.mtu: 'abc' is not an integer in 68..65535"),
    (VETH + "lxc.net.0.mtu = 67", "'67' is not an integer in 68..65535"),
    (VETH + "lxc.net.0.mtu = 65536", "'65536' is not an integer in 68..65535"),
    (VETH + "lxc.net.0.name = abcdefghijklmnop",
     "lxc.net.0.name: interface name 'abcdefghijklmnop' is too long (at most 15 bytes)"),
    (VETH + "lxc.net.0.link = a/b", "lxc.net.0.link: 'a/b' is not a valid interface name"),
    (VETH + "lxc.net.0.hwaddr = zz:00:00:00:00:00", "lxc.net.0.hwaddr: 'zz:00:00:00:00:00' "
     "is not a MAC address"),
    (VETH + "lxc.net.0.hwaddr = 00:16:3e:00:00", "is not a MAC address"),
    (VETH + "lxc.net.0.hwaddr = 01:16:3e:00:00:01", "is a multicast MAC address"),
    (VETH + "lxc.net.0.ipv4.address = 10.0.0.300/24",
     "lxc.net.0.ipv4.address: '10.0.0.300/24' is not an IPv4 address"),
    (VETH + "lxc.net.0.ipv4.address = bogus", "'bogus' is not an IPv4 address"),
    (VETH + "lxc.net.0.ipv4.address = 10.0.0.1/33", "'10.0.0.1/33' is not an IPv4 address"),
    (VETH + "lxc.net.0.ipv4.address = 10.0.0.1/24 10.0.0.256",
     "'10.0.0.256' is not an IPv4 broadcast address"),
    (VETH + "lxc.net.0.ipv4.gateway = 10.0.0", "'10.0.0' is not an IPv4 gateway"),
    (VETH + "lxc.net.0.ipv6.address = zz::/64", "'zz::/64' is not an IPv6 address"),
    (VETH + "lxc.net.0.ipv6.address = fe80::1%eth0", "is not an IPv6 address"),
    (VETH + "lxc.net.0.ipv6.address = fd00::1/129", "is not an IPv6 address"),
    (VETH + "lxc.net.0.ipv6.gateway = 10.0.0.1", "'10.0.0.1' is not an IPv6 gateway"),
    (VETH + "lxc.net.0.veth.mode = bogus", "lxc.net.0.veth.mode: 'bogus' is not one of"),
    (VETH + "lxc.net.0.veth.ipv4.route = 10.0.0.0", "is not an IPv4 route"),
    (VETH + "lxc.net.0.veth.ipv6.route = 10.0.0.0/8", "is not an IPv6 route"),
    ("lxc.net.0.type = macvlan\nlxc.net.0.macvlan.mode = bogus", "'bogus' is not one of"),
    ("lxc.net.0.type = ipvlan", "lxc.net.0.type: ipvlan is not supported by lxcpy"),
    ("lxc.net.0.type = macvlan\nlxc.net.0.ipvlan.mode = l3", "ipvlan is not supported by"),
    ("lxc.net.0.type = macvlan\nlxc.net.0.ipvlan.isolation = vepa",
     "lxc.net.0.ipvlan.isolation: ipvlan is not supported by lxcpy"),
    ("lxc.net.0.type = vlan\nlxc.net.0.vlan.id = 99999",
     "'99999' is not an integer in 0..4094"),
    ("lxc.console.rotate = 2", "is not 0 or 1"),
    ("lxc.console.size = lots", "is not a size"),
    ("lxc.tty.max = abc", "lxc.tty.max: 'abc' is not a non-negative integer"),
    ("lxc.tty.max = -1", "lxc.tty.max: '-1' is not a non-negative integer"),
    ("lxc.pty.max = ²", "is not a non-negative integer"),
    ("lxc.tty.dir = a/b", "must be a single directory name"),
    ("lxc.rootfs.path = lvm:/dev/vg/lv", "storage backend 'lvm' is not supported"),
    ("lxc.mount.entry = /a b none", "is not a mount entry"),
    ("lxc.mount.entry = /a b none ro 0 0 0", "is not a mount entry"),
    ("lxc.mount.entry = /a b none ro x", "dump and pass must be numbers"),
    ("lxc.mount.auto = bogus", "lxc.mount.auto: 'bogus' is not a filesystem to automount"),
    ("lxc.mount.auto = proc:ro", "'proc:ro' is not a filesystem to automount"),
    ("lxc.mount.auto = shmounts:", "names no host path"),
    ("lxc.cgroup.driver = v3", "is not one of auto, v1, v2"),
    ("lxc.cgroup.dir = /abs", "must be a relative path"),
    ("lxc.cgroup.dir = a/../../b", "must be a relative path"),
    ("lxc.cgroup.dir.container.inner = a/b", "must be a single directory name"),
    ("lxc.cgroup.memory/../x = 1", "is not a cgroup file name"),
    ("lxc.cgroup = x", "lxc.cgroup: takes no value"),
    ("lxc.cap.drop = bogus", "lxc.cap.drop: 'bogus' is not a capability"),
    ("lxc.cap.drop = none", "'none' is not a capability"),
    ("lxc.cap.drop = CAP_SYS_ADMIN", "write capabilities without CAP_ ('sys_admin')"),
    ("lxc.cap.keep = 41", "'41' is not a capability"),
    ("lxc.namespace.keep = bogus", "lxc.namespace.keep: 'bogus' is not a namespace"),
    ("lxc.namespace.clone = net mount", "'mount' is not a namespace"),
    ("lxc.namespace.share.bogus = x", "'bogus' is not a namespace"),
    ("lxc.idmap = u 0 100000", "lxc.idmap: 'u 0 100000' is not an id map"),
    ("lxc.idmap = x 0 1 1", "is not an id map"),
    ("lxc.idmap = u 0 1 0", "the range must be at least 1"),
    ("lxc.seccomp.notify.proxy = /run/x", "is not unix:PATH"),
    ("lxc.hook = /bin/x", "lxc.hook: takes no value"),
    ("lxc.hook.version = 2", "lxc.hook.version: '2' is not an integer in 0..1"),
    ("lxc.start.order = x", "'x' is not an integer"),
    ("lxc.log.level = bogus", "lxc.log.level: 'bogus' is not a log level"),
    ("lxc.log.level = 9", "'9' is not a log level"),
    ("lxc.log.syslog = kern", "is not one of daemon, local0"),
    ("lxc.utsname = " + "y" * 65, "lxc.utsname: '" + "y" * 65 + "' is longer than 64 bytes"),
    ("lxc.network.type = veth\nlxc.network.ipv4 = 1.2.3", "lxc.network.ipv4: '1.2.3' is not "
     "an IPv4 address"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[t.split("\n")[-1][:40]
                                                              for t, _ in INVALID])
def test_bad_values_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, environ={})
    line = text.count("\n") + 1
    assert str(info.value).startswith(f"config:{line}: ")
    assert message in str(info.value)


@pytest.mark.parametrize(("value", "number"), [
    ("SIGPWR", signal.SIGPWR), ("PWR", signal.SIGPWR), ("sigterm", signal.SIGTERM),
    ("SIGRTMIN+3", signal.SIGRTMIN + 3), ("RTMAX-1", signal.SIGRTMAX - 1),
    ("SIGRTMIN", signal.SIGRTMIN), ("9", 9), ("64", 64), ("SIGIOT", signal.SIGABRT),
])
def test_signals(value: str, number: int) -> None:
    assert parse(f"lxc.signal.halt = {value}").signal_halt == number


def test_signal_zero_means_the_default() -> None:
    assert parse("lxc.signal.halt = 0").signal_halt is None


@pytest.mark.parametrize(("value", "level"), [("trace", "TRACE"), ("0", "TRACE"),
                                               ("8", "FATAL"), ("WARNING", "WARN"),
                                               ("warn", "WARN")])
def test_log_levels(value: str, level: str) -> None:
    assert parse(f"lxc.log.level = {value}").log_level == level


@pytest.mark.parametrize(("value", "limits"), [
    ("1024", (1024, 1024)), ("1:2", (1, 2)), ("unlimited", (None, None)),
    ("10:unlimited", (10, None)), (" 5 : 6 ", (5, 6)),
])
def test_prlimit_values(value: str, limits: tuple[int | None, int | None]) -> None:
    assert parse_prlimit(value) == limits


def test_environment_bare_name_takes_the_callers_value() -> None:
    cfg = parse("lxc.environment = FOO", environ={"FOO": "bar"})
    assert cfg.environment == [("FOO", "bar")]


def test_hwaddr_template_digits_are_random_hex_and_unicast() -> None:
    for _ in range(50):
        mac = randomize_hwaddr("xx:16:3e:xx:xx:XX")
        assert re.fullmatch(r"[0-9a-f]{2}:16:3e(:[0-9a-f]{2}){3}", mac), mac
        assert int(mac[:2], 16) & 1 == 0
    assert len({randomize_hwaddr("00:16:3e:xx:xx:xx") for _ in range(20)}) > 1


def test_ipv4_without_prefix_is_a_slash_24_and_ipv6_a_slash_64() -> None:
    cfg = parse(VETH + "lxc.net.0.ipv4.address = 1.2.3.5\nlxc.net.0.ipv6.address = fd00::5")
    assert str(net(cfg).ipv4[0].interface) == "1.2.3.5/24"
    assert net(cfg).ipv4[0].broadcast is None
    assert str(net(cfg).ipv6[0]) == "fd00::5/64"


def test_capabilities_are_the_kernels() -> None:
    cfg = parse("lxc.cap.drop = checkpoint_restore bpf perfmon chown")
    assert cfg.cap_drop == ["checkpoint_restore", "bpf", "perfmon", "chown"]


@pytest.mark.parametrize("token", ["proc", "proc:mixed", "proc:rw", "sys", "sys:ro",
                                   "sys:mixed", "sys:rw", "cgroup", "cgroup:mixed", "cgroup:ro",
                                   "cgroup:rw", "cgroup:force", "cgroup:mixed:force",
                                   "cgroup:ro:force", "cgroup:rw:force", "cgroup-full",
                                   "cgroup-full:mixed", "cgroup-full:ro", "cgroup-full:rw",
                                   "cgroup-full:force", "cgroup-full:rw:force"])
def test_mount_auto_values(token: str) -> None:
    assert parse(f"lxc.mount.auto = {token}").mount_auto == [token]


def test_mount_auto_shmounts_is_recorded_as_not_acted_on() -> None:
    cfg = parse("lxc.mount.auto = proc shmounts:/a:/b")
    assert cfg.mount_auto == ["proc", "shmounts:/a:/b"]
    assert [e.canonical for e in cfg.not_acted_on] == ["lxc.mount.auto"]


@pytest.mark.parametrize("arch", ["x86_64", "i686", "amd64", "aarch64", "linux32"])
def test_arches(arch: str) -> None:
    assert parse(f"lxc.arch = {arch}").arch == arch


@pytest.mark.parametrize(("value", "rootfs", "store"), [
    ("overlay:/l/a/rootfs:/l/b/delta0", "/l/b/rootfs", "overlay:/l/a/rootfs:/l/b/delta0"),
    ("overlayfs:/x:y:/l/b/delta0", "/l/b/rootfs", "overlay:/x:y:/l/b/delta0"),
    ("btrfs:/l/a/rootfs", "/l/a/rootfs", "btrfs:/l/a/rootfs"),
    ("loop:/l/a/rootdev", "/l/a/rootfs", "loop:/l/a/rootdev"),
    ("dir:/l/a/rootfs", "/l/a/rootfs", None),
])
def test_rootfs_path_backing_stores(value: str, rootfs: str, store: str | None) -> None:
    cfg = parse(f"lxc.rootfs.path = {value}")
    assert (cfg.rootfs_path, cfg.rootfs_store) == (rootfs, store)
    assert not cfg.not_acted_on
    cleared = parse(f"lxc.rootfs.path = {value}\nlxc.rootfs.path =")
    assert (cleared.rootfs_path, cleared.rootfs_store) == (None, None)


def test_overlay_or_loop_store_refused_with_idmap() -> None:
    cfg = parse("lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n"
                "lxc.rootfs.path = overlay:/a:/b/delta0")
    with pytest.raises(LxcError, match="^config:3: lxc.rootfs.path: an overlay store"):
        check_start(cfg)


def test_a_rootfs_path_may_contain_a_colon() -> None:
    assert parse("lxc.rootfs.path = /srv/a:b").rootfs_path == "/srv/a:b"
    assert parse("lxc.rootfs = dir:/x").rootfs_path == "/x"


# ---- every row is acted on, refused, or says why nothing is needed ------------------------
def _resolve(target: str) -> object:
    import importlib

    module, _, attrs = target.partition(":")
    obj: object = importlib.import_module(module)
    for attr in attrs.split("."):
        obj = getattr(obj, attr)  # a stale name fails here
    return obj


@pytest.mark.parametrize("row", KEYS, ids=[k.name for k in KEYS])
def test_every_row_names_what_applies_it(row) -> None:  # noqa: ANN001
    marker = row.applied_by
    assert marker, f"{row.name}: no applied_by (add it to keys.APPLIED_BY)"
    if marker in (REFUSED, WARNED):
        # a refused row stores nothing (or refuses some values: Key.acted): its lines reach
        # check_start through not_acted_on
        assert row.store is None or row.acted is not None, \
            f"{row.name} has a store but APPLIED_BY says {marker}"
    elif marker.startswith("stored: "):
        assert row.store is not None and len(marker) > len("stored: ") + 10
    else:
        assert row.store is not None, f"{row.name}: acted on by {marker} but stores nothing"
        assert callable(_resolve(marker)), marker


def test_applied_by_has_no_stale_rows() -> None:
    assert set(APPLIED_BY) == {k.name for k in KEYS}


@pytest.mark.parametrize("text", [
    "lxc.console.size = 1MB", "lxc.log.syslog = daemon",
    "lxc.hook.destroy = /bin/true", "lxc.kmsg = 1", "lxc.monitor.unshare = 1",
    VETH + "lxc.net.0.l2proxy = 1", VETH + "lxc.net.0.veth.ipv4.route = 10.0.0.0/24",
    "lxc.mount.auto = shmounts:/a",
    # LXC's check_cgroup_dir_config: .container and .monitor together, never with .dir
    "lxc.cgroup.dir = d\nlxc.cgroup.dir.monitor = m\nlxc.cgroup.dir.container = c",
    "lxc.cgroup.dir.container = c", "lxc.cgroup.dir.monitor = m",
    "lxc.cgroup.dir.container.inner = i",
    "lxc.cgroup.dir.container = c\nlxc.cgroup.dir.monitor = c/m",
    "lxc.rootfs.mount = /mnt/elsewhere",
])
def test_check_start_refuses_with_one_line_naming_file_line_and_key(text: str) -> None:
    cfg = parse(text)
    with pytest.raises(LxcError) as info:
        check_start(cfg)
    message = info.value.message
    line = len(text.splitlines())
    key = text.splitlines()[-1].split(" =")[0]
    assert message.startswith(f"config:{line}: {key}"), message
    assert "\n" not in message


@pytest.mark.parametrize("text", [
    "lxc.ephemeral = 0", "lxc.kmsg = 0", "lxc.pivotdir = x", "lxc.start.auto = 1",
    "lxc.group = onboot", "lxc.hook.clone = /x", "lxc.monitor.signal.pdeath = SIGKILL",
    "lxc.rootfs.mount = /usr/lib/x86_64-linux-gnu/lxc",
    VETH + "lxc.net.0.l2proxy = 0", "lxc.tty.dir = lxc",
])
def test_check_start_accepts(text: str) -> None:
    assert check_start(parse(text)) == []


def test_security_modules_warn_when_off_and_refuse_when_on(monkeypatch) -> None:  # noqa: ANN001
    from lxcpy.config import keys

    cfg = parse("lxc.apparmor.profile = generated\nlxc.selinux.context = u:r:t")
    monkeypatch.setattr(keys, "_lsm_enabled", lambda flag: False)
    warnings = check_start(cfg)
    assert warnings == [
        "config:1: lxc.apparmor.profile: AppArmor is not enabled on this host: ignored, "
        "as LXC does",
        "config:2: lxc.selinux.context: SELinux is not enabled on this host: ignored, "
        "as LXC does"]
    monkeypatch.setattr(keys, "_lsm_enabled", lambda flag: "apparmor" in flag)
    with pytest.raises(LxcError, match="config:1: lxc.apparmor.profile: AppArmor profiles"):
        check_start(cfg)


@pytest.mark.parametrize(("name", "ns"), [
    ("net.ipv4.ip_forward", "net"), ("kernel.shmmax", "ipc"), ("kernel.msgmax", "ipc"),
    ("kernel.sem", "ipc"), ("fs.mqueue.msg_max", "ipc"), ("kernel.hostname", "uts"),
    ("kernel.domainname", "uts"), ("user.max_user_namespaces", "user"),
    ("vm.swappiness", None), ("kernel.core_pattern", None), ("fs.file-max", None),
])
def test_sysctl_namespaces_follow_lxcs_rule(name: str, ns: str | None) -> None:
    from lxcpy.runtime.namespaces import sysctl_namespace

    assert sysctl_namespace(name) == ns


def test_namespaces_made_by_default_clone_keep_and_share() -> None:
    from lxcpy.runtime.namespaces import created

    assert created(parse("")) == ["mnt", "uts", "ipc", "pid", "net", "cgroup"]
    assert created(parse("lxc.namespace.keep = net ipc")) == ["mnt", "uts", "pid", "cgroup"]
    assert created(parse("lxc.namespace.clone = uts mnt time")) == ["mnt", "uts", "time"]
    assert created(parse("lxc.time.offset.boot = 1s"))[-1] == "time"
    assert "net" not in created(parse("lxc.namespace.share.net = 1"))
    assert "net" not in created(parse(VETH.replace("veth", "none")))


@pytest.mark.parametrize(("arch", "machine", "persona"), [
    ("i686", "x86_64", 8), ("linux32", "x86_64", 8), ("amd64", "x86_64", 0),
    ("armhf", "aarch64", 8), ("arm64", "aarch64", 0), ("ppc64el", "x86_64", None),
    ("armhf", "x86_64", None),
])
def test_arch_personalities(monkeypatch, arch: str, machine: str,  # noqa: ANN001
                            persona: int | None) -> None:
    import os

    from lxcpy.runtime import process

    monkeypatch.setattr(os, "uname", lambda: type("U", (), {"machine": machine})())
    cfg = parse(f"lxc.arch = {arch}")
    if persona is None:
        with pytest.raises(LxcError, match=f"config:1: lxc.arch: a '{arch}' container cannot "
                                           f"run on this {machine} host"):
            process.personality_of(cfg)
    else:
        assert process.personality_of(cfg) == persona

"""lxc-update-config: legacy keys to today's, like LXC's script (reference section 1.4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lxcpy.config import parse_text
from lxcpy.config.update import update_legacy_text
from tests.unit.seed_example import SEED

BIN = Path(sys.executable).parent

# The seed's 3.2 example, as written in 2008.

# Written by hand from the mapping: only the key lines change; comments stay as they are.
SEED_UPDATED = """\
# the fstab mount file.
lxc.mount.fstab = ./fstab

# the hostname to be set into the container
lxc.uts.name = virtnode

# the chroot if needed for the running application
lxc.chroot = /mnt/root

# The network has several of kind of configuration:
#
#  * veth : the network will use the veth virtual device, the
#              specified link must be a bridge
#  * macvlan : the network will use the macvlan device, the specified
#              link should be an existing interface, usually it is
#              eth0
#  * phys : the network will use a physical network device, the
#              specified link should be an existing interface
lxc.net.0.type = macvlan

# specify the flags to be used for the network, actually only <up> is
# allowed which mean the network should be set up when created. If the
# network is set up, the loopback is automatically set up too.
lxc.net.0.flags = up

# specify the physical network device which will communicate with the
# outside world
lxc.net.0.link = eth0

# NIC ethernet mac address
lxc.net.0.hwaddr = 4a:49:43:49:79:bd

# specify the ipv4 address of the container. Several lines are allowed
# and will mean several addresses will be assigned to the interface
lxc.net.0.ipv4.address = 1.2.3.5/24

# specify the ipv6 address of the container. Several lines are allowed
# and will mean several addresses will be assigned to the interface
lxc.net.0.ipv6.address = 2003:db8:1:0:214:1234:fe0b:3596
"""


def test_the_seeds_example() -> None:
    assert update_legacy_text(SEED) == SEED_UPDATED


def test_the_references_observed_conversion() -> None:
    legacy = ("lxc.rootfs.backend = dir\n"
              "lxc.rootfs = /var/lib/lxc/foo/rootfs\n"
              "lxc.network.type = veth\n"
              "lxc.network.flags = up\n"
              "lxc.network.hwaddr = 00:16:3e:xx:xx:xx\n"
              "lxc.network.ipv4 = 10.0.0.2/24\n"
              "lxc.network.ipv4.gateway = 10.0.0.1\n"
              "lxc.network.ipv6 = fd00::2/64\n"
              "lxc.network.veth.pair = vethfoo\n"
              "lxc.network.type = macvlan\n"
              "lxc.network.macvlan.mode = bridge\n"
              "lxc.network.0.type = empty\n"
              "lxc.mount.entry = /lib lib none ro,bind 0 0\n"
              "lxc.mount.auto = proc\n"
              "lxc.console.logfile = /l\n"
              "lxc.cgroup.devices.allow = a\n"
              "lxc.cap.drop = sys_time\n"
              "lxc.hook.pre-start = /x\n"
              "lxc.limit.nofile = 10\n")
    assert update_legacy_text(legacy) == (
        "lxc.rootfs.path = dir:/var/lib/lxc/foo/rootfs\n"
        "lxc.net.0.type = veth\n"
        "lxc.net.0.flags = up\n"
        "lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n"
        "lxc.net.0.ipv4.address = 10.0.0.2/24\n"
        "lxc.net.0.ipv4.gateway = 10.0.0.1\n"
        "lxc.net.0.ipv6.address = fd00::2/64\n"
        "lxc.net.0.veth.pair = vethfoo\n"
        "lxc.net.1.type = macvlan\n"
        "lxc.net.1.macvlan.mode = bridge\n"
        "lxc.net.0.type = empty\n"
        "lxc.mount.entry = /lib lib none ro,bind 0 0\n"
        "lxc.mount.auto = proc\n"
        "lxc.console.logfile = /l\n"
        "lxc.cgroup.devices.allow = a\n"
        "lxc.cap.drop = sys_time\n"
        "lxc.hook.pre-start = /x\n"
        "lxc.limit.nofile = 10\n")


@pytest.mark.parametrize(("legacy", "today"), [
    ("lxc.id_map = u 0 1 1", "lxc.idmap = u 0 1 1"),
    ("lxc.pts = 1", "lxc.pty.max = 1"),
    ("lxc.tty = 4", "lxc.tty.max = 4"),
    ("lxc.devttydir = lxc", "lxc.tty.dir = lxc"),
    ("lxc.aa_profile = unconfined", "lxc.apparmor.profile = unconfined"),
    ("lxc.aa_allow_incomplete = 1", "lxc.apparmor.allow_incomplete = 1"),
    ("lxc.se_context = x", "lxc.selinux.context = x"),
    ("lxc.mount = fstab", "lxc.mount.fstab = fstab"),
    ("lxc.utsname = a", "lxc.uts.name = a"),
    ("lxc.seccomp = /p", "lxc.seccomp.profile = /p"),
    ("lxc.console = none", "lxc.console.path = none"),
    ("lxc.haltsignal = SIGUSR1", "lxc.signal.halt = SIGUSR1"),
    ("lxc.rebootsignal = SIGINT", "lxc.signal.reboot = SIGINT"),
    ("lxc.stopsignal = SIGKILL", "lxc.signal.stop = SIGKILL"),
    ("lxc.syslog = daemon", "lxc.log.syslog = daemon"),
    ("lxc.loglevel = 3", "lxc.log.level = 3"),
    ("lxc.logfile = /l", "lxc.log.file = /l"),  # LXC's script writes 1lxc.log.file (a bug)
    ("lxc.init_cmd = /sbin/init", "lxc.init.cmd = /sbin/init"),
    ("lxc.init_uid = 1", "lxc.init.uid = 1"),
    ("lxc.init_gid = 1", "lxc.init.gid = 1"),
    ("lxc.limit = x", "lxc.prlimit = x"),
    ("lxc.limit.nofile = 1", "lxc.limit.nofile = 1"),  # not converted, like LXC
    ("lxc.network =", "lxc.net ="),
    ("lxc.network=", "lxc.net="),
    ("lxc.network.3.link = br0", "lxc.net.3.link = br0"),
    ("lxc.network.0.ipv4 = 1.2.3.4", "lxc.net.0.ipv4 = 1.2.3.4"),  # as LXC: no .address
    ("lxc.utsname=a", "lxc.uts.name=a"),
    ("  lxc.utsname   =   a", "  lxc.uts.name   =   a"),
    ("#lxc.utsname = a", "#lxc.uts.name = a"),
    ("# lxc.tty = 1", "# lxc.tty.max = 1"),
    ("lxc.tty.max = 1", "lxc.tty.max = 1"),
    ("lxc.mount.entry = a b c d", "lxc.mount.entry = a b c d"),
    ("lxc.mount.auto = proc", "lxc.mount.auto = proc"),
    ("lxc.console.logfile = /x", "lxc.console.logfile = /x"),
    ("lxc.utsnamex = a", "lxc.utsnamex = a"),
    ("lxc.hook.start = /bin/lxc.utsname = x", "lxc.hook.start = /bin/lxc.utsname = x"),
    ("lxc.rootfs = /r", "lxc.rootfs.path = dir:/r"),
    ("lxc.rootfs=/r", "lxc.rootfs.path=dir:/r"),
    ("lxc.rootfs = dir:/r", "lxc.rootfs.path = dir:/r"),
    ("lxc.rootfs.path = dir:/r", "lxc.rootfs.path = dir:/r"),
    ("lxc.rootfs.mount = /m", "lxc.rootfs.mount = /m"),
])
def test_mapping(legacy: str, today: str) -> None:
    assert update_legacy_text(legacy + "\n") == today + "\n"


def test_deleted_lines() -> None:
    text = ("lxc.utsname = a\nlxc.rootfs.backend = dir\n#lxc.pivotdir = x\nlxc.kmsg = 0\n"
            "lxc.kmsgx = 1\n")
    assert update_legacy_text(text) == "lxc.uts.name = a\nlxc.kmsgx = 1\n"


def test_rootfs_takes_the_last_backend() -> None:
    text = ("lxc.rootfs.backend = dir\nlxc.rootfs = /a\nlxc.rootfs.backend = btrfs\n"
            "lxc.utsname = x\n")
    assert update_legacy_text(text) == "lxc.rootfs.path = btrfs:/a\nlxc.uts.name = x\n"


def test_network_index_counts_type_lines_including_commented_ones() -> None:
    text = ("#lxc.network.type = veth\n#lxc.network.link = br0\n"
            "lxc.network.type = macvlan\nlxc.network.link = eth0\n"
            "lxc.network.ipv6 = fd00::1\n")
    assert update_legacy_text(text) == (
        "#lxc.net.0.type = veth\n#lxc.net.0.link = br0\n"
        "lxc.net.1.type = macvlan\nlxc.net.1.link = eth0\nlxc.net.1.ipv6.address = fd00::1\n")


def test_a_network_key_before_any_type_gets_index_minus_one_like_lxc() -> None:
    assert update_legacy_text("lxc.network.link = br0") == "lxc.net.-1.link = br0"


def test_no_trailing_newline_and_an_empty_file() -> None:
    assert update_legacy_text("lxc.utsname = a") == "lxc.uts.name = a"
    assert update_legacy_text("") == ""


def test_updated_config_parses_to_the_same_model() -> None:
    legacy = parse_text(SEED, "/etc/lxc/config")
    today = parse_text(update_legacy_text(SEED), "/etc/lxc/config")
    for field in ("uts_name", "fstab", "chroot"):
        assert getattr(legacy, field) == getattr(today, field)
    assert legacy.networks == today.networks
    assert [e.canonical for e in legacy.entries] == [e.canonical for e in today.entries]


# ---- the installed command ----------------------------------------------------------------
def run(*args: str) -> subprocess.CompletedProcess[str]:
    exe = BIN / "lxc-update-config"
    if not exe.exists():
        pytest.skip("lxc-update-config is not installed (pip install -e .)")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_command_converts_the_seed_in_place_and_keeps_a_backup(tmp_path: Path) -> None:
    conf = tmp_path / "config"
    conf.write_text(SEED)
    conf.chmod(0o640)
    result = run("-c", str(conf))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert conf.read_text() == SEED_UPDATED
    assert (tmp_path / "config.backup").read_text() == SEED
    assert os.stat(conf).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["config", "config.backup"]
    assert run("--config", str(conf)).returncode == 0
    assert conf.read_text() == SEED_UPDATED  # converting twice changes nothing


def test_command_missing_file(tmp_path: Path) -> None:
    result = run("-c", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert result.stderr == f"lxc-update-config: {tmp_path}/nope: No such file or directory\n"
    assert os.listdir(tmp_path) == []


def test_command_help_and_no_arguments() -> None:
    for args in ((), ("-h",), ("--help",)):
        result = run(*args)
        assert result.returncode == 0
        assert "-c, --config" in result.stdout


def test_command_takes_no_name() -> None:
    result = run("-n", "foo")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr

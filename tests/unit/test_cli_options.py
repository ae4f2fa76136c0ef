"""The pure parts of LXC 5's options: how each maps onto lxcpy's settings (issue 16).

The options themselves are tried through the installed commands in
tests/integration/test_cli_options.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lxcpy.cli import attach, checkconfig, config, create, start
from lxcpy.errors import UsageError


def test_start_options_are_config_settings() -> None:
    out = start.start_defines(("lxc.tty.max=1",), "/dev/tty8", "/var/log/c.log",
                              {"net": "web", "ipc": None, "uts": "42", "pid": None})
    assert out == ["lxc.tty.max=1", "lxc.console.path=/dev/tty8",
                   "lxc.console.logfile=/var/log/c.log", "lxc.namespace.share.net=web",
                   "lxc.namespace.share.uts=42"]
    assert start.start_defines((), None, None, {}) == []


def test_start_settings_parse_as_keys() -> None:
    from lxcpy.config import apply_overrides, parse_text

    cfg = apply_overrides(parse_text("", "x"), start.start_defines(
        (), "none", "/tmp/c.log", {"net": "web", "ipc": "12", "uts": None, "pid": None}))
    assert cfg.console_path == "none" and cfg.console_logfile == "/tmp/c.log"
    assert cfg.namespace_share == {"net": "web", "ipc": "12"}


@pytest.mark.parametrize(("text", "names"), [
    ("NETWORK", ["net"]), ("MOUNT|PID", ["mnt", "pid"]),
    ("UTSNAME|IPC|USER", ["uts", "ipc", "user"]),
    ("network|cgroup", ["net", "cgroup"]), ("net|uts", ["net", "uts"]),
])
def test_attach_namespace_lists(text: str, names: list[str]) -> None:
    assert attach.parse_namespaces(text) == names


@pytest.mark.parametrize("text", ["", "BOGUS", "NETWORK|", "NETWORK,IPC"])
def test_attach_bad_namespace_lists(text: str) -> None:
    with pytest.raises(UsageError):
        attach.parse_namespaces(text)


def test_attach_privileges() -> None:
    assert attach.parse_privileges("CGROUP|LSM") == ["CGROUP", "LSM"]
    assert attach.parse_privileges(attach.ALL_PRIVILEGES) == ["CGROUP", "CAP", "LSM"]
    assert attach.parse_privileges("cap") == ["CAP"]
    with pytest.raises(UsageError):
        attach.parse_privileges("ROOT")


def test_attach_arch() -> None:
    import os

    from lxcpy import kernel as k
    from lxcpy.errors import LxcError

    if os.uname().machine != "x86_64":
        pytest.skip("x86_64 personalities")
    assert attach.personality_of_arch("i686") == k.PER_LINUX32
    assert attach.personality_of_arch("x86_64") == k.PER_LINUX
    with pytest.raises(LxcError):
        attach.personality_of_arch("sparc")


@pytest.mark.parametrize("bdev", [None, "dir", "none", "best"])
def test_create_dir_stores(bdev: str | None) -> None:
    create.check_bdev(bdev, "/srv/rootfs", dict.fromkeys(("fstype", "fssize")))


@pytest.mark.parametrize("bdev", ["lvm", "zfs", "rbd"])
def test_create_other_stores_refused(bdev: str) -> None:
    with pytest.raises(UsageError, match=f"backing store {bdev} is not supported by lxcpy"):
        create.check_bdev(bdev, None, {})


@pytest.mark.parametrize(("bdev", "kind"), [("overlay", "overlay"), ("overlayfs", "overlay"),
                                            ("btrfs", "btrfs"), ("loop", "loop")])
def test_create_stores(bdev: str, kind: str) -> None:
    assert create.check_bdev(bdev, None, {"fssize": None}) == kind
    assert create.check_bdev("loop", None, {"fssize": "1G", "fstype": "ext4"}) == "loop"


def test_create_block_options_refused_with_dir() -> None:
    with pytest.raises(UsageError, match="--fssize"):
        create.check_bdev("dir", None, {"fssize": "1G", "fstype": None})
    with pytest.raises(UsageError, match="unknown backing store"):
        create.check_bdev("tape", None, {})


def test_config_items_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lxcpy import paths

    conf = tmp_path / "lxc.conf"
    conf.write_text("lxc.cgroup.pattern = lxc/%n\n# lxc.bdev.zfs.root = no\n")
    monkeypatch.setenv("LXC_GLOBAL_CONF", str(conf))
    monkeypatch.setattr(paths, "_GLOBAL", None)
    assert config.item_value("lxc.cgroup.pattern") == "lxc/%n"
    assert config.item_value("lxc.cgroup.use") is None
    assert config.item_value("lxc.bdev.zfs.root") == "lxc"
    assert config.item_value("lxc.default_config") == "/etc/lxc/default.conf"
    assert len(config.ITEMS) == 7


def test_checkconfig_from_a_config(tmp_path: Path) -> None:
    import gzip

    text = "CONFIG_NAMESPACES=y\nCONFIG_USER_NS=y\nCONFIG_VETH=m\n# CONFIG_MACVLAN is not set\n"
    plain = tmp_path / "config"
    plain.write_text(text)
    packed = tmp_path / "config.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert checkconfig.read_config(str(plain)) == checkconfig.read_config(str(packed)) == {
        "CONFIG_NAMESPACES": "y", "CONFIG_USER_NS": "y", "CONFIG_VETH": "m"}
    lines = checkconfig.report(checkconfig.read_config(str(plain)), colour=False)
    assert "Namespaces: enabled" in lines
    assert "Pid namespace: required" in lines  # mandatory and not set
    assert "Macvlan: missing" in lines
    assert any(line.startswith("Veth pair device: enabled") for line in lines)
    coloured = checkconfig.report({"CONFIG_NAMESPACES": "y"}, colour=True)
    assert "Namespaces: \033[1;32menabled\033[0;39m" in coloured
    assert "Ipc namespace: \033[1;31mrequired\033[0;39m" in coloured
    assert "Utsname namespace: \033[1;33mmissing\033[0;39m" in coloured


def test_checkconfig_probes_this_kernel() -> None:
    lines = checkconfig.report(None, colour=False)
    assert "Pid namespace: enabled" in lines and "Network namespace: enabled" in lines

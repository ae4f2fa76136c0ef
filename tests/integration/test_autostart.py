"""lxc-autostart through the installed commands: selection, LXC's order and groups (-L),
then real starts, shutdowns and kills."""

from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import lxc, make


def auto(lxcpath: Path, rootfs: Path, name: str, extra: str) -> str:
    # the probe rootfs has no /sbin/init: the init command is named
    return make(lxcpath, "lxc.init.cmd = sleep 300\nlxc.net.0.type = empty\n" + extra,
                name=name, rootfs=rootfs)


def listing(lxcpath: Path, *args: str) -> str:
    result = lxc("autostart", "-L", *args, lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def test_order_groups_and_selection(lxcpath: Path, probe_rootfs: Path) -> None:
    auto(lxcpath, probe_rootfs, "a1",
         "lxc.start.auto = 1\nlxc.start.order = 5\nlxc.start.delay = 3\n")
    auto(lxcpath, probe_rootfs, "a2", "lxc.start.auto = 1\nlxc.start.order = 1\n")
    auto(lxcpath, probe_rootfs, "a3", "lxc.start.auto = 1\nlxc.start.order = 1\n")
    auto(lxcpath, probe_rootfs, "b1",
         "lxc.start.auto = 1\nlxc.group = onboot\nlxc.start.order = 9\n")
    auto(lxcpath, probe_rootfs, "b2", "lxc.start.auto = 1\nlxc.group = onboot\nlxc.group = web\n")
    auto(lxcpath, probe_rootfs, "w1", "lxc.start.auto = 1\nlxc.group = web\n")
    auto(lxcpath, probe_rootfs, "off", "lxc.start.order = 0\n")  # not auto-started
    # default: only the containers in no group; lower order first, ties by name
    assert listing(lxcpath) == "a2 0\na3 0\na1 3\n"
    # the boot group first, then the ungrouped; each container once
    assert listing(lxcpath, "-g", "onboot,") == "b2 0\nb1 0\na2 0\na3 0\na1 3\n"
    assert listing(lxcpath, "-g", "web", "-g", "onboot") == "b2 0\nw1 0\nb1 0\n"
    # -a: every auto-started container regardless of group; -A: lxc.start.auto ignored
    assert listing(lxcpath, "-a") == "b2 0\nw1 0\na2 0\na3 0\na1 3\nb1 0\n"
    assert listing(lxcpath, "-A") == "off 0\na2 0\na3 0\na1 3\n"
    # nothing running: nothing to stop
    assert listing(lxcpath, "-s", "-a") == ""


def test_start_shutdown_kill(lxcpath: Path, probe_rootfs: Path) -> None:
    auto(lxcpath, probe_rootfs, "s1", "lxc.start.auto = 1\nlxc.start.order = 2\n")
    auto(lxcpath, probe_rootfs, "s2", "lxc.start.auto = 1\nlxc.start.order = 1\n")
    auto(lxcpath, probe_rootfs, "g1", "lxc.start.auto = 1\nlxc.group = grp\n")
    auto(lxcpath, probe_rootfs, "manual", "")
    result = lxc("autostart", lxcpath=lxcpath, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    state = {n: lxc("state", "-n", n, lxcpath=lxcpath).stdout.strip()
             for n in ("s1", "s2", "g1", "manual")}
    assert state == {"s1": "RUNNING", "s2": "RUNNING", "g1": "STOPPED", "manual": "STOPPED"}
    # running ones are left alone by a second start pass; -s lists in reverse order
    assert listing(lxcpath) == ""
    assert listing(lxcpath, "-s") == "s1\ns2\n"
    lxc("autostart", "-g", "grp", lxcpath=lxcpath, check=True, timeout=60)
    assert lxc("state", "-n", "g1", lxcpath=lxcpath).stdout == "RUNNING\n"
    # sleep as PID 1 ignores SIGPWR: -s -t 1 waits a second, then kills
    lxc("autostart", "-s", "-t", "1", lxcpath=lxcpath, check=True, timeout=60)
    assert [lxc("state", "-n", n, lxcpath=lxcpath).stdout for n in ("s1", "s2")] == \
        ["STOPPED\n", "STOPPED\n"]
    lxc("autostart", "-k", "-g", "grp", lxcpath=lxcpath, check=True, timeout=60)
    assert lxc("state", "-n", "g1", lxcpath=lxcpath).stdout == "STOPPED\n"


def test_options_exclude_each_other_and_bad_configs_are_named(
        lxcpath: Path, probe_rootfs: Path) -> None:
    result = lxc("autostart", "-k", "-s", lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, "lxc-autostart: -k, -r and -s exclude each other\n")
    auto(lxcpath, probe_rootfs, "ok", "lxc.start.auto = 1\n")
    bad = lxcpath / "bad"
    bad.mkdir()
    (bad / "config").write_text("lxc.start.auto = 2\n")
    result = lxc("autostart", "-L", lxcpath=lxcpath)
    assert result.stdout == "ok 0\n"
    assert result.returncode == 1 and result.stderr.startswith("lxc-autostart: bad: ")
    assert result.stderr.count("\n") == 1 and "lxc.start.auto" in result.stderr

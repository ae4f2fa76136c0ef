"""LXC's common ``--rcfile FILE`` through the installed commands (issue 16).

LXC 5's tools that load it (lxc_container_new, then clear_config + load_config(FILE), its
configfile = FILE: lxc-cgroup, -checkpoint, -console, -copy, -destroy, -device, -freeze,
-info, -snapshot, -stop, -unfreeze, -wait) take FILE as the container's config for that
command, and a FILE that does not load ends the command before it does anything. The ones
that only parse it (lxc-create, -ls, -monitor, -top, -autostart, -unshare) accept it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import HOST_DIR, bind_host, lxc, make, tool, unique, wait_until

pytestmark = pytest.mark.root

# the tools that act on --rcfile, with arguments that make each do its job
ACTING = {
    "info": ["-c", "lxc.uts.name"],
    "freeze": [],
    "unfreeze": [],
    "wait": ["-s", "RUNNING", "-t", "0"],
    "stop": ["-k"],
    "cgroup": ["pids.max"],
    "console": ["-t", "0"],
    "copy": ["-N", "copied"],
    "destroy": ["-f"],
    "snapshot": [],
    "checkpoint": ["-D", "/nonexistent-ckpt", "-s"],
    "device": ["add", "/dev/null", "/dev/rcnull"],
}


def start(lxcpath: Path, ct: str, *command: str) -> None:
    lxc("start", "-n", ct, "--", *command, lxcpath=lxcpath, check=True, timeout=30)


def state(lxcpath: Path, ct: str) -> str:
    return lxc("info", "-n", ct, "-sH", lxcpath=lxcpath).stdout.strip()


def test_info_reads_the_rcfile(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    rc = lxcpath.parent / "rc.conf"
    rc.write_text("lxc.uts.name = fromrc\nlxc.tty.max = 3\n")
    out = lxc("info", "-n", ct, "--rcfile", str(rc), "-c", "lxc.uts.name", "-c", "lxc.tty.max",
              lxcpath=lxcpath, check=True).stdout
    assert out == "lxc.uts.name = fromrc\nlxc.tty.max = 3\n"
    # without it, the container's own config
    assert lxc("info", "-n", ct, "-c", "lxc.uts.name", lxcpath=lxcpath,
               check=True).stdout == f"lxc.uts.name = {ct[:60]}\n"
    # LXC: the FILE makes a container of a name that has no config of its own
    ghost = lxc("info", "-n", unique("ghost"), "--rcfile", str(rc), "-c", "lxc.uts.name",
                lxcpath=lxcpath)
    assert (ghost.returncode, ghost.stdout) == (0, "lxc.uts.name = fromrc\n")


def test_a_bad_rcfile_stops_every_acting_tool_first(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, ct, "sleep", "100")
    bad = lxcpath.parent / "bad.conf"
    bad.write_text("lxc.uts.name = x\nlxc.bogus = 1\n")
    for name, args in ACTING.items():
        result = lxc(name, "-n", ct, "--rcfile", str(bad), *args, lxcpath=lxcpath, timeout=30)
        assert result.returncode == 1, (name, result.stderr)
        assert result.stderr.splitlines() == [f"lxc-{name}: {ct}: {bad}:2: unknown key "
                                              "'lxc.bogus'"], name
    # nothing was done: not frozen, stopped, destroyed, copied, given a device
    assert state(lxcpath, ct) == "RUNNING"
    assert (lxcpath / ct / "config").is_file() and not (lxcpath / "copied").exists()
    missing = lxc("freeze", "-n", ct, "--rcfile", str(lxcpath.parent / "none.conf"),
                  lxcpath=lxcpath)
    assert missing.returncode == 1 and "none.conf" in missing.stderr
    assert state(lxcpath, ct) == "RUNNING"


def test_running_container_commands_with_an_rcfile(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, ct, "sleep", "100")
    rc = lxcpath.parent / "rc.conf"
    rc.write_text((lxcpath / ct / "config").read_text())
    opt = ["-n", ct, "--rcfile", str(rc)]
    assert lxc("wait", *opt, "-s", "RUNNING", "-t", "0", lxcpath=lxcpath).returncode == 0
    assert lxc("cgroup", *opt, "pids.max", lxcpath=lxcpath, check=True).stdout.strip()
    lxc("freeze", *opt, lxcpath=lxcpath, check=True)
    assert state(lxcpath, ct) == "FROZEN"
    lxc("unfreeze", *opt, lxcpath=lxcpath, check=True)
    assert state(lxcpath, ct) == "RUNNING"
    lxc("stop", *opt, "-k", lxcpath=lxcpath, check=True)
    assert state(lxcpath, ct) == "STOPPED"
    assert lxc("snapshot", *opt, "-L", lxcpath=lxcpath, check=True).stdout == "No snapshots\n"


def test_stop_reboot_sends_the_rcfile_signal(lxcpath: Path, probe_rootfs: Path) -> None:
    # the container's own config says SIGUSR2 (ignored by the script); FILE says SIGUSR1
    ct = make(lxcpath, f"lxc.signal.reboot = SIGUSR2\n{bind_host(lxcpath.parent)}",
              rootfs=probe_rootfs)
    rc = lxcpath.parent / "rc.conf"
    rc.write_text((lxcpath / ct / "config").read_text().replace("SIGUSR2", "SIGUSR1"))
    got = lxcpath.parent / "got"
    start(lxcpath, ct, "sh", "-c", f"trap '' USR2; trap 'echo usr1 > {HOST_DIR}/got' USR1; "
                                   "while :; do sleep 0.1; done")
    assert wait_until(lambda: lxc("stop", "-n", ct, "-r", "--rcfile", str(rc),
                                  lxcpath=lxcpath).returncode == 0 and got.exists())
    assert got.read_text() == "usr1\n"


def test_stop_sends_the_rcfile_halt_signal(lxcpath: Path, probe_rootfs: Path) -> None:
    # LXC's shutdown sends the loaded config's lxc.signal.halt: FILE's SIGUSR1, not the
    # container's SIGUSR2 (which the script ignores: without FILE's, -t 5 ends in a kill)
    ct = make(lxcpath, f"lxc.signal.halt = SIGUSR2\n{bind_host(lxcpath.parent)}",
              rootfs=probe_rootfs)
    rc = lxcpath.parent / "rc.conf"
    rc.write_text((lxcpath / ct / "config").read_text().replace("SIGUSR2", "SIGUSR1"))
    got = lxcpath.parent / "got"
    start(lxcpath, ct, "sh", "-c", f"trap '' USR2; trap 'echo usr1 > {HOST_DIR}/got; exit 0' "
                                   f"USR1; echo up > {HOST_DIR}/up; while :; do sleep 0.1; done")
    assert wait_until(lambda: (lxcpath.parent / "up").exists())
    lxc("stop", "-n", ct, "--rcfile", str(rc), "-t", "5", lxcpath=lxcpath, check=True)
    assert got.read_text() == "usr1\n" and state(lxcpath, ct) == "STOPPED"


def test_copy_and_destroy_take_the_rcfile_config(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    rc = lxcpath.parent / "rc.conf"
    rc.write_text((lxcpath / ct / "config").read_text() + "lxc.environment = FROM_RC=1\n")
    new = unique("copy")
    lxc("copy", "-n", ct, "-N", new, "--rcfile", str(rc), lxcpath=lxcpath, check=True)
    assert "FROM_RC=1" in (lxcpath / new / "config").read_text()
    assert "FROM_RC" not in (lxcpath / ct / "config").read_text()
    # lxc-destroy with FILE: the container directory goes (the rootfs FILE names lies
    # outside it and stays: a store is removed only inside the container's directory)
    lxc("destroy", "-n", new, "--rcfile", str(rc), lxcpath=lxcpath, check=True)
    assert not (lxcpath / new).exists() and (probe_rootfs / "bin" / "busybox").exists()


def test_parse_only_tools_accept_it(lxcpath: Path, tmp_path: Path) -> None:
    never = str(tmp_path / "never-read.conf")  # LXC's tools never open it: nor do lxcpy's
    conf = tmp_path / "c.conf"
    conf.write_text("lxc.uts.name = made\n")
    ct = unique()
    lxc("create", "-n", ct, "-f", str(conf), "--rcfile", never, lxcpath=lxcpath, check=True)
    assert lxc("ls", "-1", "--rcfile", never, lxcpath=lxcpath, check=True).stdout == f"{ct}\n"
    assert lxc("autostart", "-L", "--rcfile", never, lxcpath=lxcpath).returncode == 0
    assert lxc("monitor", "-Q", "-n", ct, "--rcfile", never, lxcpath=lxcpath).returncode == 0
    assert lxc("top", "--rcfile", never, "--usage", lxcpath=lxcpath).returncode == 0
    unshare = subprocess.run([tool("lxc-unshare"), "--rcfile", never, "-s", "UTSNAME", "--",
                              "true"], capture_output=True, text=True, timeout=30)
    assert unshare.returncode == 0, unshare.stderr

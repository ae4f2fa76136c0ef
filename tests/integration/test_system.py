"""System containers: lxc-create -t busybox, lxc-start of busybox init, lxc-console.

Every container has a busybox rootfs in the temporary lxcpath and no network keys (no
network namespace is needed, none is touched); the lxcpath fixture kills and destroys
whatever a test leaves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.helpers import cgroup_leftovers, lxc, make, tool, wait_until

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")]


def create(lxcpath: Path, tmp_path: Path, extra: str = "") -> str:
    """A busybox container; its config has no lxc.uts.name (the template writes it)."""
    return make(lxcpath, f"# test\n{extra}", prefix="bb", template="busybox", uts=False)


def start(lxcpath: Path, name: str, *args: str) -> None:
    r = lxc("start", "-n", name, *args, lxcpath=lxcpath, timeout=20)
    assert r.returncode == 0, r.stderr
    assert lxc("info", "-n", name, "-s", lxcpath=lxcpath).stdout.split() == ["State:", "RUNNING"]


def attach(lxcpath: Path, name: str, script: str) -> subprocess.CompletedProcess[str]:
    return lxc("attach", "-n", name, "--clear-env", "--", "/bin/sh", "-c", script,
               lxcpath=lxcpath, timeout=20)


def rcs_done(lxcpath: Path, name: str) -> bool:
    """busybox init runs the ::sysinit script (rcS) to its end before it starts any
    ::respawn entry: a shell whose parent is init (the console's, a tty's) shows rcS is
    done. (An attached shell's parent is outside the container: its PPID reads 0.)"""
    out = attach(lxcpath, name, "ps -o ppid,comm").stdout
    return any(line.split() == ["1", "sh"] for line in out.splitlines())


def state(lxcpath: Path, name: str) -> str:
    return lxc("info", "-n", name, "-s", lxcpath=lxcpath).stdout.split()[-1]


def test_create_busybox(lxcpath: Path, tmp_path: Path) -> None:
    name = create(lxcpath, tmp_path, "lxc.console.logfile = /tmp/x.log\n")
    root = lxcpath / name / "rootfs"
    assert os.readlink(root / "sbin/init") == "/bin/busybox"
    assert (root / "bin/busybox").stat().st_size > 100_000
    assert (root / "etc/passwd").read_text().startswith("root:x:0:0:")
    assert len((root / "etc/machine-id").read_text().strip()) == 32
    rcs = (root / "etc/init.d/rcS").read_text().splitlines()
    assert rcs[0] == "#!/bin/sh"
    commands = [line.strip() for line in rcs if line.strip() and not line.lstrip().startswith("#")]
    assert "/bin/mount -a 2>/dev/null" in commands  # the lines that run are seen here
    assert [c for c in commands if "udhcpc" in c] == [], commands
    config = (lxcpath / name / "config").read_text()
    assert config.startswith("# test\nlxc.console.logfile = /tmp/x.log\n")
    for line in (f"lxc.rootfs.path = dir:{root}", "lxc.signal.halt = SIGUSR1",
                 f"lxc.uts.name = {name}", "lxc.autodev = 1", "lxc.tty.max = 5",
                 "lxc.mount.auto = cgroup:mixed proc:mixed sys:ro"):
        assert line in config.splitlines(), line
    assert "lxc.net" not in config and "lxcbr0" not in config
    r = lxc("create", "-n", "again", "-t", "busybox", "--", "--bogus", lxcpath=lxcpath)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "--bogus" in r.stderr and not (lxcpath / "again").exists()


def test_create_without_busybox_makes_nothing(lxcpath: Path, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"  # a PATH with python's console scripts but no busybox
    bindir.mkdir()
    env = {**os.environ, "PATH": str(bindir)}
    r = lxc("create", "-n", "nobb", "-t", "busybox", lxcpath=lxcpath, env=env)
    assert r.returncode == 1
    assert r.stderr.strip() == ("lxc-create: nobb: busybox is not installed on the host "
                                "(apt-get install busybox-static)")
    assert os.listdir(lxcpath) == []


def test_boot_attach_stop_destroy(lxcpath: Path, tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    name = create(lxcpath, tmp_path, f"lxc.console.logfile = {log}\n")
    marker = Path("/tmp") / f"lxcpy-host-marker-{uuid.uuid4().hex}"
    marker.write_text("host only\n")
    try:
        start(lxcpath, name)
        r = attach(lxcpath, name, f"hostname; cat /proc/1/cmdline; echo; readlink /proc/1/exe; "
                                  f"ps -o pid,comm; ls {marker} 2>&1; ls /dev")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == name
        assert lines[1].split("\0")[0] == "init"  # busybox init rewrites its argv[0]
        assert lines[2] == "/bin/busybox"  # /sbin/init, the rootfs's, not the host's
        ps = [line.split() for line in lines[3:] if line.split()[:1] != ["PID"]
              and line.split()[0].isdigit()]
        assert ["1", "init"] in ps
        assert "No such file or directory" in r.stdout
        dev = set(lines)
        assert {"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx",
                "pts", "tty1", "shm", "mqueue"} <= dev
        r = lxc("stop", "-n", name, lxcpath=lxcpath, timeout=90)
        assert r.returncode == 0, r.stderr
        # busybox init halted on SIGUSR1 by itself (its last words before reboot(2)),
        # not killed when lxc-stop's timeout ran out
        assert "Requesting system halt" in log.read_text(errors="replace")
        assert state(lxcpath, name) == "STOPPED"
        assert cgroup_leftovers(name) == []
        assert lxc("destroy", "-n", name, lxcpath=lxcpath).returncode == 0
        assert not (lxcpath / name).exists()
    finally:
        marker.unlink()


def test_missing_rootfs_aborts_cleanly(lxcpath: Path, tmp_path: Path) -> None:
    name = create(lxcpath, tmp_path)
    shutil.rmtree(lxcpath / name / "rootfs")
    r = lxc("start", "-n", name, lxcpath=lxcpath, timeout=20)
    assert r.returncode == 1
    assert str(lxcpath / name / "rootfs") in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert state(lxcpath, name) == "STOPPED"
    assert cgroup_leftovers(name) == []
    (lxcpath / name / "rootfs").write_text("not a directory")
    r = lxc("start", "-n", name, "-F", "--", "/bin/true", lxcpath=lxcpath, timeout=20)
    assert r.returncode == 1 and "rootfs" in r.stderr
    assert cgroup_leftovers(name) == []


def test_command_is_pid1_and_rootfs_read_only(lxcpath: Path, tmp_path: Path) -> None:
    name = create(lxcpath, tmp_path)
    r = lxc("start", "-n", name, "-F", "--", "/bin/sh", "-c", "echo $$; touch /f && echo rw",
            lxcpath=lxcpath, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "rw"]
    r = lxc("start", "-n", name, "-F", "-s", "lxc.rootfs.options = ro", "--",
            "/bin/sh", "-c", "touch /g || echo read-only; test -e /dev/console || echo no-console",
            lxcpath=lxcpath, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["read-only", "no-console"]  # no terminal: no /dev/console
    assert not (lxcpath / name / "rootfs" / "g").exists()
    assert state(lxcpath, name) == "STOPPED"


def test_console_without_a_terminal(lxcpath: Path, tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    name = create(lxcpath, tmp_path, f"lxc.console.logfile = {log}\n")
    start(lxcpath, name)
    assert attach(lxcpath, name, "echo written-to-console > /dev/console").returncode == 0
    # what the container printed before we came (replayed), then our input answered
    r = lxc("console", "-n", name, "-t", "0", lxcpath=lxcpath, input="echo answer-$((6*7))\n",
            timeout=15)
    assert r.returncode == 0, r.stderr
    assert "written-to-console" in r.stdout
    assert "answer-42" in r.stdout
    # a tty (lxc.tty.max = 5): its own shell
    r = lxc("console", "-n", name, "-t", "1", lxcpath=lxcpath, input="tty\n", timeout=15)
    assert r.returncode == 0, r.stderr
    assert "/dev/tty1" in r.stdout
    assert lxc("stop", "-n", name, lxcpath=lxcpath, timeout=30).returncode == 0
    text = log.read_text(errors="replace")
    assert "written-to-console" in text and "answer-42" in text
    assert "The system is going down" in text  # busybox init's halt, on the console
    r = lxc("console", "-n", name, "-t", "0", lxcpath=lxcpath, timeout=15)
    assert r.returncode != 0 and "not running" in r.stderr


def test_console_none(lxcpath: Path, tmp_path: Path) -> None:
    name = create(lxcpath, tmp_path, "lxc.console.path = none\nlxc.tty.max = 0\n")
    start(lxcpath, name)
    r = attach(lxcpath, name, "test -e /dev/console || echo none; ps -o comm | grep -c sh")
    assert r.stdout.split()[0] == "none"
    r = lxc("console", "-n", name, "-t", "0", lxcpath=lxcpath, timeout=15)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert lxc("stop", "-n", name, lxcpath=lxcpath, timeout=30).returncode == 0


def test_foreground_init_without_terminal(lxcpath: Path, tmp_path: Path) -> None:
    """busybox init on /dev/null: no console shell respawning every second; stops clean."""
    name = create(lxcpath, tmp_path, "lxc.tty.max = 0\n")
    proc = subprocess.Popen([tool("lxc-start"), "-P", str(lxcpath), "-n", name, "-F"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: state(lxcpath, name) == "RUNNING", timeout=10)
        assert wait_until(lambda: "sleep" in attach(lxcpath, name, "ps -o comm").stdout, 5)
        # init respawns an entry only when it exits: the console entry is the long wait (no
        # shell that reads EOF from /dev/null and exits), and no shell is a child of init
        ps = attach(lxcpath, name, "ps -o ppid,args").stdout.splitlines()
        of_init = sorted(line.split(None, 1)[1] for line in ps if line.split()[0] == "1")
        assert "/bin/sleep 2147483647" in of_init, ps
        assert [a for a in of_init if a.split()[0].lstrip("-").endswith("sh")] == [], ps
        assert lxc("stop", "-n", name, lxcpath=lxcpath, timeout=30).returncode == 0
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "The system is going down" in out + err  # init's stdio is the caller's
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_boot_keeps_the_static_address(lxcpath: Path, tmp_path: Path) -> None:
    """The template's boot script runs no DHCP client that would flush lxc.net addresses."""
    from tests.faults.hostnet import bridge

    with bridge("10.212.0.1/24") as br:
        name = create(lxcpath, tmp_path, "lxc.net.0.type = veth\n"
                                         f"lxc.net.0.link = {br}\n"
                                         "lxc.net.0.flags = up\n"
                                         "lxc.net.0.ipv4.address = 10.212.0.2/24\n")
        start(lxcpath, name, "-d")
        assert wait_until(lambda: rcs_done(lxcpath, name), 15)
        r = attach(lxcpath, name, "ip -o -4 addr show dev eth0; ping -c1 -W2 10.212.0.1")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "inet 10.212.0.2/24" in r.stdout
        assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30).returncode == 0

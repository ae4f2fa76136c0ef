"""lxc-unshare and lxc-device: new namespaces for a command, and a running container's
devices (network interfaces made here, in the test's own network namespace)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.hostnet import links, require_private_netns
from tests.integration.helpers import lxc, lxcpath_dir, make, tool, unique, wait_until

pytestmark = pytest.mark.root


def unshare(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("lxc-unshare"), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def veth() -> Iterator[tuple[str, str]]:
    """A veth pair made in the test's own netns (never the host's: require_private_netns)."""
    require_private_netns()
    before = links()
    a, b = unique("va")[:12], unique("vb")[:12]
    ip("link", "add", a, "type", "veth", "peer", "name", b)
    yield a, b
    ip("link", "del", a, check=False)
    # the kernel deletes a dead namespace's veth ends asynchronously: allow it a moment
    assert wait_until(lambda: links() == before, 5), links() ^ before




def test_namespaces_differ_and_status_passes() -> None:
    here = {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in ("mnt", "pid", "uts", "ipc", "net")}
    script = "for n in mnt pid uts ipc net; do readlink /proc/self/ns/$n; done; exit 7"
    r = unshare("-s", "MOUNT|PID|UTSNAME|IPC|NETWORK", "--", "sh", "-c", script)
    assert r.returncode == 7, r.stderr
    there = r.stdout.split()
    assert len(there) == 5
    for ns, link in zip(here, there, strict=True):
        assert link.startswith(f"{ns}:[") and link != here[ns], (ns, link)


def test_only_the_named_namespaces() -> None:
    r = unshare("-s", "UTSNAME", "--", "sh", "-c", "readlink /proc/self/ns/uts /proc/self/ns/net")
    assert r.returncode == 0, r.stderr
    uts, net = r.stdout.split()
    assert uts != os.readlink("/proc/self/ns/uts")
    assert net == os.readlink("/proc/self/ns/net")


def test_hostname() -> None:
    r = unshare("-s", "UTSNAME", "-H", "inside-box", "--", "hostname")
    assert (r.returncode, r.stdout) == (0, "inside-box\n"), r.stderr
    assert os.uname().nodename != "inside-box"


def sandboxed(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """lxc-unshare ARGS in a private mount namespace of the test whose /dev is a tmpfs with
    null/zero/random/urandom bound in and no shm or mqueue directory: -M makes those
    (as LXC's) there, never in the host's /dev."""
    hostdev = tmp_path / "hostdev"
    hostdev.mkdir()
    script = (f"set -e; mount --rbind /dev {hostdev}; mount -t tmpfs sandbox /dev; "
              f"for f in null zero random urandom; do touch /dev/$f; "
              f"mount --bind {hostdev}/$f /dev/$f; done; "
              '"$@"; echo "status=$?"; ls -d /dev/shm /dev/mqueue')
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           script, "sh", tool("lxc-unshare"), *args], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


def _mounts() -> list[tuple[str, str]]:
    """(mount point, fs type) of this process's mount table."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        out.append((fields[4], fields[fields.index("-") + 1]))
    return out


# what -M's command reports: its PID, how many processes its /proc shows, and the file
# system now on each of LXC's default mount points (the last mount on a path wins)
REPORT = ("echo $$; ls /proc | grep -c '^[0-9]'; "
          "for p in /proc /dev/shm /dev/mqueue /sys; do "
          "awk -v p=$p '$5 == p {t = $(NF - 2)} END {print p \"=\" t}' /proc/self/mountinfo; "
          "done")


def test_remount_default_fs_as_lxc(tmp_path: Path) -> None:
    """-M: LXC's default file systems, a new proc on /proc (PID 1's, with PID), a tmpfs
    on /dev/shm and mqueue on /dev/mqueue (made when missing), /sys left alone; none of it
    reaches the caller's mount table."""
    before = _mounts()
    mqueue_before = os.path.lexists("/dev/mqueue")
    r = sandboxed(tmp_path, "-s", "MOUNT|PID", "-M", "--", "sh", "-c", REPORT)
    assert r.returncode == 0, r.stderr
    pid, count, *fs, status, mqueue, shm = r.stdout.split()  # ls sorts them
    assert pid == "1" and int(count) <= 3, r.stdout
    sys_fs = next(t for p, t in reversed(before) if p == "/sys")
    assert fs == ["/proc=proc", "/dev/shm=tmpfs", "/dev/mqueue=mqueue", f"/sys={sys_fs}"]
    assert (status, shm, mqueue) == ("status=0", "/dev/shm", "/dev/mqueue")
    assert _mounts() == before and os.path.lexists("/dev/mqueue") == mqueue_before


def test_remount_needs_only_a_mount_namespace(tmp_path: Path) -> None:
    """LXC's -M needs MOUNT alone: without PID the new /proc shows the caller's PIDs."""
    r = sandboxed(tmp_path, "-s", "MOUNT", "-M", "--", "sh", "-c", REPORT)
    assert r.returncode == 0, r.stderr
    pid, count, proc, shm, mqueue, _sys, status, *_ = r.stdout.split()
    assert pid != "1" and int(count) > 3, r.stdout
    assert (proc, shm, mqueue, status) == ("/proc=proc", "/dev/shm=tmpfs",
                                           "/dev/mqueue=mqueue", "status=0")


def test_user_namespace_as_lxc() -> None:
    """C LXC 5.0.2 (tried): -s USER alone writes no map (the overflow uid inside); with -u
    UID, UID inside is the caller's uid and the command runs as it."""
    r = unshare("-s", "USER", "--", "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert (r.returncode, r.stdout.split()) == (0, ["65534"]), r.stderr
    r = unshare("-s", "USER", "-u", "1000", "--", "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    uid, *mapping = r.stdout.split()
    assert uid == "1000" and mapping == ["1000", str(os.getuid()), "1"]


def test_run_as_user() -> None:
    r = unshare("-s", "MOUNT", "-u", "nobody", "--", "id", "-un")
    assert (r.returncode, r.stdout) == (0, "nobody\n"), r.stderr


def test_interface_moves(veth: tuple[str, str]) -> None:
    a, _ = veth
    r = unshare("-s", "NETWORK", "-i", a, "--", "ip", "-o", "link", "show")
    assert r.returncode == 0, r.stderr
    assert f" {a}@" in r.stdout or f" {a}:" in r.stdout
    # the netns died with the command: its end of the pair went with it
    assert ip("link", "show", a, check=False).returncode != 0


def test_daemonize(tmp_path: Path) -> None:
    out = tmp_path / "done"
    r = unshare("-s", "UTSNAME", "-d", "--", "sh", "-c", f"sleep 0.2; hostname > {out}")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert wait_until(lambda: out.exists() and out.read_text() != "", timeout=10)


@pytest.mark.parametrize(("args", "line"), [
    (["-s", "MOUNT|BOGUS", "--", "true"],
     "lxc-unshare: -s MOUNT|BOGUS: unknown namespace 'BOGUS' (one of MOUNT, PID, UTSNAME, "
     "IPC, USER, NETWORK)"),
    (["-s", "MOUNT", "-H", "x", "--", "true"],
     "lxc-unshare: -H needs a new UTS namespace (-s UTSNAME)"),
    (["-s", "UTSNAME|PID", "-M", "--", "true"],
     "lxc-unshare: -M needs a new mount namespace (-s MOUNT)"),
    (["-s", "NETWORK", "-i", "nosuchif0", "--", "true"],
     "lxc-unshare: -i nosuchif0: no such network interface"),
    (["-s", "MOUNT", "--", "/nonexistent"],
     "lxc-unshare: /nonexistent: No such file or directory"),
    (["-s", "MOUNT"], "lxc-unshare: no command to run (lxc-unshare -s NAMESPACES -- COMMAND)"),
    (["--", "true"], "lxc-unshare: no namespace given (lxc-unshare -s NAMESPACES -- COMMAND)"),
])
def test_refusals_one_line(args: list[str], line: str) -> None:
    r = unshare(*args)
    assert r.returncode != 0 and (r.stdout, r.stderr) == ("", line + "\n")


# ---- lxc-device


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Path, str, int]]:
    """A running container with a network namespace of its own (no rootfs: the host's)."""
    require_private_netns()
    with lxcpath_dir(tmp_path) as lxcpath:
        name = make(lxcpath, "lxc.net.0.type = empty\n", prefix="dv")
        r = lxc("execute", "-n", name, "-d", "--", "sleep", "300", lxcpath=lxcpath)
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                          == "RUNNING\n", 15)
        pid = int(lxc("info", "-n", name, "-p", "-H", lxcpath=lxcpath, check=True).stdout)
        yield lxcpath, name, pid
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)


def links_of(pid: int) -> set[str]:
    lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    return {line.split(":")[0].strip() for line in lines}


def device(lxcpath: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return lxc("device", *args, lxcpath=lxcpath)


def test_device_moves_an_interface_in_and_back(running: tuple[Path, str, int],
                                               veth: tuple[str, str]) -> None:
    lxcpath, name, pid = running
    a, _ = veth
    r = device(lxcpath, "-n", name, "add", a, "eth7")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert "eth7" in links_of(pid) and a not in links_of(os.getpid())
    r = device(lxcpath, "-n", name, "del", "eth7", a)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert "eth7" not in links_of(pid) and a in links_of(os.getpid())


def test_device_without_action_adds(running: tuple[Path, str, int],
                                    veth: tuple[str, str]) -> None:
    lxcpath, name, pid = running
    a, _ = veth
    assert device(lxcpath, "-n", name, a).returncode == 0
    assert a in links_of(pid)
    assert device(lxcpath, "-n", name, "del", a).returncode == 0
    assert a in links_of(os.getpid())


def test_device_refusals_one_line(running: tuple[Path, str, int]) -> None:
    lxcpath, name, _ = running
    for args, line in [
        (["add", "nosuchif0"], f"lxc-device: {name}: nosuchif0: no such network interface"),
        (["del", "nosuchif0"],
         f"lxc-device: {name}: nosuchif0: no such network interface in the container"),
        (["add", "lo"],
         f"lxc-device: {name}: lo: a network interface of that name exists in the container"),
        (["add", "/dev/nosuchdev"],
         f"lxc-device: {name}: /dev/nosuchdev: No such file or directory"),
    ]:
        r = device(lxcpath, "-n", name, *args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", line + "\n"), args


def test_device_node_added_allowed_and_taken_back(tmp_path: Path) -> None:
    """A node made in a busybox container's own /dev and opened there; ``del`` removes it
    and denies it again (a node made behind lxc-device's back then cannot be opened)."""
    require_private_netns()
    with lxcpath_dir(tmp_path) as lxcpath:
        name = make(lxcpath, "lxc.net.0.type = empty\n", prefix="dn", template="busybox")
        r = lxc("execute", "-n", name, "-d", "--", "sleep", "300", lxcpath=lxcpath)
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                          == "RUNNING\n", 15)
        pid = int(lxc("info", "-n", name, "-p", "-H", lxcpath=lxcpath, check=True).stdout)
        node = Path(f"/proc/{pid}/root/dev/lc")
        assert not node.exists() and not Path("/dev/lc").exists()

        def open_inside() -> subprocess.CompletedProcess[str]:
            return lxc("attach", "-n", name, "--", "sh", "-c", ": < /dev/lc", lxcpath=lxcpath)

        r = device(lxcpath, "-n", name, "add", "/dev/loop-control", "/dev/lc")
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
        st = os.stat(node)
        assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (10, 237)
        assert open_inside().returncode == 0
        r = device(lxcpath, "-n", name, "del", "/dev/lc")
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
        assert not node.exists()
        os.mknod(node, 0o600 | 0o020000, os.makedev(10, 237))
        assert open_inside().returncode != 0
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)


def test_unshare_long_options() -> None:
    r = unshare("--namespaces", "UTSNAME", "--hostname", "long-box", "--", "hostname")
    assert (r.returncode, r.stdout) == (0, "long-box\n"), r.stderr

"""Unprivileged containers started by root (lxc.idmap): a user namespace whose root is host
uid 100000, seen from inside and from the host, with the attacks it must stop.

The rootfs of such a container must be reachable by host uid 100000 (as LXC needs): the
tests' lxcpath is a directory of their own with o+x on the way, not pytest's 0700 tmp_path.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import (
    cgroup_leftovers,
    cleanup_lxcpath,
    lxc,
    make,
    tool,
    unique,
    wait_until,
)

pytestmark = pytest.mark.root

HOST_ROOT = 100000
IDMAP = "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n"


@pytest.fixture
def upath() -> Iterator[Path]:
    """A throwaway lxcpath the mapped root can walk through (0711 down to it)."""
    base = Path(tempfile.mkdtemp(prefix="lxcpy-userns-", dir="/tmp"))
    base.chmod(0o711)
    path = base / "lxc"
    path.mkdir(mode=0o711)
    try:
        yield path
    finally:
        cleanup_lxcpath(path)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def execute(lxcpath: Path, name: str, script: str,
            **kwargs: object) -> subprocess.CompletedProcess[str]:
    return lxc("execute", "-n", name, "--", "sh", "-c", script, lxcpath=lxcpath, **kwargs)


def plain_rootfs(lxcpath: Path) -> Path:
    """A busybox rootfs owned by host root (a container without lxc.idmap)."""
    name = make(lxcpath, template="busybox", prefix="plain")
    (lxcpath / name).chmod(0o711)
    return lxcpath / name / "rootfs"


def idmapped(lxcpath: Path, rootfs: Path, extra: str = "") -> str:
    return make(lxcpath, IDMAP + f"lxc.rootfs.path = dir:{rootfs}\n"
                "lxc.rootfs.options = idmap=container\nlxc.autodev = 1\n"
                "lxc.mount.auto = proc:mixed sys:ro\n" + extra, prefix="idm")


def start(lxcpath: Path, name: str) -> int:
    lxc("start", "-n", name, "-d", lxcpath=lxcpath, check=True)
    lxc("wait", "-n", name, "-s", "RUNNING", "-t", "20", lxcpath=lxcpath, check=True)
    r = lxc("info", "-n", name, "-p", "-H", lxcpath=lxcpath, check=True)
    return int(r.stdout)


# ---- from inside ------------------------------------------------------------------------

def test_template_rootfs_is_shifted_and_root_inside_is_host_100000(upath: Path) -> None:
    name = make(upath, IDMAP, template="busybox", prefix="bb")
    rootfs = upath / name / "rootfs"
    # without an idmapped mount the template gave the tree to the mapped root (lchown)
    assert os.lstat(rootfs / "bin" / "busybox").st_uid == HOST_ROOT
    assert os.lstat(rootfs / "bin" / "sh").st_uid == HOST_ROOT  # a symlink, not followed
    assert os.lstat(rootfs / "etc" / "shadow").st_gid == HOST_ROOT
    assert os.stat(upath / name).st_uid == HOST_ROOT
    r = execute(upath, name, "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
                "stat -c %u /bin/busybox; touch /made-inside")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0].split() == ["0", "100000", "65536"]
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2:5] == ["0", "0", "0"]
    assert os.lstat(rootfs / "made-inside").st_uid == HOST_ROOT


def test_idmapped_rootfs_owned_by_host_root_is_root_inside(upath: Path) -> None:
    rootfs = plain_rootfs(upath)
    assert os.lstat(rootfs / "bin" / "busybox").st_uid == 0
    name = idmapped(upath, rootfs)
    r = execute(upath, name, "id -u; stat -c %u:%g /bin/busybox /etc/shadow; "
                "echo hi > /root/new && stat -c %u /root/new")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0:0", "0:0", "0"]
    # a file made by container root through the idmapped mount is host root's: no chown
    assert os.lstat(rootfs / "root" / "new").st_uid == 0
    assert os.lstat(rootfs / "bin" / "busybox").st_uid == 0  # the tree was never chowned


def test_idmapped_rootfs_through_another_user_namespace_file(upath: Path) -> None:
    """idmap=/proc/PID/ns/user: the maps of a namespace that exists already (here one
    lxc-usernsexec made with the same ranges)."""
    rootfs = plain_rootfs(upath)
    helper = subprocess.Popen([tool("lxc-usernsexec"), "-m", "b:0:100000:65536", "--",
                               "sleep", "60"], stdin=subprocess.DEVNULL)
    try:
        children = Path(f"/proc/{helper.pid}/task/{helper.pid}/children")

        def sleeping() -> bool:
            pids = children.read_text().split()
            return bool(pids) and Path(f"/proc/{pids[0]}/comm").read_text() == "sleep\n"

        assert wait_until(sleeping, 10)
        child = int(children.read_text().split()[0])
        name = make(upath, IDMAP + f"lxc.rootfs.path = dir:{rootfs}\n"
                    f"lxc.rootfs.options = idmap=/proc/{child}/ns/user\n", prefix="idf")
        r = execute(upath, name, "stat -c %u /bin/busybox")
        assert r.returncode == 0 and r.stdout == "0\n", r.stderr
    finally:
        for pid in Path(f"/proc/{helper.pid}/task/{helper.pid}/children").read_text().split():
            os.kill(int(pid), signal.SIGKILL)
        helper.wait(10)


def test_idmapped_rootfs_on_a_file_system_that_cannot(upath: Path) -> None:
    name = make(upath, IDMAP + "lxc.rootfs.path = /sys/kernel\n"
                "lxc.rootfs.options = idmap=container\n", prefix="nofs")
    r = lxc("execute", "-n", name, "--", "true", lxcpath=upath)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert "lxc.rootfs.options: idmap=container: cannot make an idmapped mount of " \
        "'/sys/kernel'" in r.stderr
    assert cgroup_leftovers(name) == []
    assert lxc("state", "-n", name, lxcpath=upath).stdout == "STOPPED\n"


def test_confinement_still_applies_in_the_user_namespace(upath: Path) -> None:
    name = make(upath, IDMAP, template="busybox", prefix="cf")
    # the template's lxc.cap.drop (sys_time = 25) and common.seccomp (filter mode 2)
    r = execute(upath, name, "grep -E '^(CapBnd|Seccomp):' /proc/self/status")
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert not int(fields["CapBnd"], 16) & (1 << 25)
    assert fields["Seccomp"] == "2"


def test_device_policy_still_applies(upath: Path) -> None:
    # /dev/net/tun (10:200, mode 0666) is not in the template's allow-list
    name = make(upath, IDMAP + "lxc.mount.entry = /dev/net/tun dev/tun none "
                "bind,create=file 0 0\n", template="busybox", prefix="dv")
    r = execute(upath, name, "exec 3<>/dev/tun && echo opened")
    assert r.returncode != 0 and "opened" not in r.stdout
    assert "not permitted" in r.stderr


# ---- from the host ----------------------------------------------------------------------

def test_host_sees_mapped_uid_attach_freeze_stop(upath: Path) -> None:
    name = make(upath, IDMAP, template="busybox", prefix="hs")
    pid = start(upath, name)
    ps = subprocess.run(["ps", "-o", "uid=", "-p", str(pid)], capture_output=True, text=True)
    assert ps.stdout.strip() == str(HOST_ROOT)
    # the supervisor gave the container's cgroups to its root (LXC: chown_mapped_root)
    # (the payload's: the supervisor's lxc.monitor.NAME stays root's, as in LXC)
    dirs = [d for d in cgroup_leftovers(name) if "/lxc.payload." in d]
    assert dirs and all(os.stat(d).st_uid == HOST_ROOT for d in dirs)
    assert all(os.stat(os.path.join(d, "cgroup.procs")).st_uid == HOST_ROOT for d in dirs)
    # lxc-attach enters the user namespace first and is its root
    r = lxc("attach", "-n", name, "--", "sh", "-c", "id -u; cat /proc/self/uid_map",
            lxcpath=upath)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "100000", "65536"]
    # the console and tty ptys the supervisor made belong to the container's root
    r = lxc("attach", "-n", name, "--", "sh", "-c",
            "stat -c %u /dev/console /dev/tty1 && echo via-console > /dev/console",
            lxcpath=upath)
    assert r.returncode == 0 and r.stdout.split() == ["0", "0"], r.stderr
    fancy = lxc("ls", "-f", lxcpath=upath, check=True).stdout.splitlines()
    header = fancy[0].split()
    row = next(line.split() for line in fancy if line.split()[0] == name)
    assert row[header.index("UNPRIVILEGED")] == "true"
    lxc("freeze", "-n", name, lxcpath=upath, check=True)
    assert lxc("state", "-n", name, lxcpath=upath).stdout == "FROZEN\n"
    lxc("unfreeze", "-n", name, lxcpath=upath, check=True)
    assert lxc("state", "-n", name, lxcpath=upath).stdout == "RUNNING\n"
    assert lxc("stop", "-n", name, "-t", "10", lxcpath=upath).returncode == 0
    assert lxc("state", "-n", name, lxcpath=upath).stdout == "STOPPED\n"
    assert not os.path.exists(f"/proc/{pid}")
    assert cgroup_leftovers(name) == []


def test_monitor_sees_an_unprivileged_container_like_any_other(upath: Path) -> None:
    from tests.integration._monitor_helpers import Monitor, states

    name = make(upath, IDMAP, template="busybox", prefix="mo")
    with Monitor(upath) as mon:
        r = execute(upath, name, "exit 7")
        assert r.returncode == 7, r.stderr
        got = mon.wait_for(name, 5)
    assert got == states(name, "STARTING", "RUNNING", "exit:7", "STOPPING", "STOPPED")


def test_root_inside_cannot_write_host_root_files(upath: Path, tmp_path: Path) -> None:
    """The attack: a host directory bound read-write into the container; its root-owned
    file must stay read-only (and a 0600 one unreadable) to root inside. The control (the
    same config without lxc.idmap) shows the test can fail."""
    shared = Path(tempfile.mkdtemp(prefix="lxcpy-userns-shared-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        (shared / "file").write_text("host\n")
        (shared / "file").chmod(0o644)
        (shared / "secret").write_text("s3cret\n")
        (shared / "secret").chmod(0o600)
        entry = f"lxc.mount.entry = {shared} mnt none bind,rw 0 0\n"
        script = ("echo pwned >> /mnt/file; cat /mnt/secret; "
                  "chmod 666 /mnt/file; rm -f /mnt/file; true")
        unpriv = make(upath, IDMAP + entry, template="busybox", prefix="at")
        r = execute(upath, unpriv, script)
        assert r.returncode == 0, r.stderr
        assert "s3cret" not in r.stdout
        assert (shared / "file").read_text() == "host\n"
        assert (shared / "file").stat().st_mode & 0o777 == 0o644
        control = make(upath, entry, template="busybox", prefix="ct")
        r = execute(upath, control, "echo pwned >> /mnt/file; cat /mnt/secret")
        assert "s3cret" in r.stdout and (shared / "file").read_text() == "host\npwned\n"
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=False)


def test_cgroup_rw_mount_inside_is_the_containers_own(upath: Path) -> None:
    """The supervisor chowned the container's cgroups to its root: a cgroup:rw mount
    inside lets it make sub-cgroups and move its processes (v2 delegation, LXC's way)."""
    name = make(upath, IDMAP + "lxc.mount.auto = cgroup:rw\n", template="busybox",
                prefix="cg")
    r = execute(upath, name, "cd /sys/fs/cgroup; v2=$(ls -d unified 2>/dev/null || echo .); "
                "stat -c %u $v2 $v2/cgroup.procs; mkdir $v2/sub && "
                "echo $$ > $v2/sub/cgroup.procs && grep -c sub /proc/self/cgroup")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "1"]
    assert cgroup_leftovers(name) == []


def test_veth_in_a_network_namespace_owned_by_the_user_namespace(upath: Path) -> None:
    pair = "uv" + unique("")[:8]
    net = ("lxc.net.0.type = veth\nlxc.net.0.name = eth0\nlxc.net.0.flags = up\n"
           f"lxc.net.0.veth.pair = {pair}\nlxc.net.0.ipv4.address = 10.213.0.2/24\n")
    name = make(upath, IDMAP + net, template="busybox", prefix="nv")
    # configured from inside (root of the user namespace); sysfs shows the container's netns
    r = execute(upath, name, "ip -4 -o addr show eth0; ls /sys/class/net; "
                f"ip link show {pair} >/dev/null 2>&1 && echo host-end-visible; "
                "cat /sys/class/net/eth0/operstate")
    assert r.returncode == 0, r.stderr
    assert "10.213.0.2/24" in r.stdout
    assert r.stdout.split("\n")[1:3] == ["eth0", "lo"]
    assert "host-end-visible" not in r.stdout
    gone = subprocess.run(["ip", "link", "show", pair], capture_output=True)
    assert gone.returncode != 0  # the host end went with the container


# ---- bad input: one line naming file:line and key, nothing made ---------------------------

@pytest.mark.parametrize("maps,expect", [
    ("lxc.idmap = u 0 100000 65536\nlxc.idmap = u 1000 300000 10\n",
     ":2: lxc.idmap: 'u 1000 300000 10' overlaps 'u 0 100000 65536' ("),
    ("lxc.idmap = g 0 100000 10\nlxc.idmap = g 10 100005 10\n", "in the host ids"),
])
def test_overlapping_maps_refused_at_create(upath: Path, maps: str, expect: str) -> None:
    name = unique("ov")
    conf = upath.parent / f"{name}.conf"
    conf.write_text(maps)
    r = lxc("create", "-n", name, "-f", str(conf), "-t", "busybox", lxcpath=upath)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"{conf}{expect}" in r.stderr or (str(conf) in r.stderr and expect in r.stderr)
    assert not (upath / name).exists()


@pytest.mark.parametrize("maps,expect", [
    ("lxc.idmap = u 1 100000 65535\nlxc.idmap = g 0 100000 65536\n",
     "no uid map for the container's root"),
    ("lxc.idmap = u 0 100000 65536\n", "no gid map for the container's root"),
])
def test_maps_without_root_refused_at_start(upath: Path, maps: str, expect: str) -> None:
    name = make(upath, maps + "lxc.rootfs.path = /\n", prefix="bad")
    r = lxc("execute", "-n", name, "--", "true", lxcpath=upath)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert expect in r.stderr and "lxc.idmap" in r.stderr
    assert str(upath / name / "config") + ":" in r.stderr
    assert cgroup_leftovers(name) == []
    assert lxc("state", "-n", name, lxcpath=upath).stdout == "STOPPED\n"


def test_idmap_option_without_idmap_refused(upath: Path) -> None:
    rootfs = plain_rootfs(upath)
    name = make(upath, f"lxc.rootfs.path = dir:{rootfs}\n"
                "lxc.rootfs.options = idmap=container\n", prefix="noid")
    r = lxc("execute", "-n", name, "--", "true", lxcpath=upath)
    assert r.returncode != 0 and "lxc.rootfs.options: idmap= needs lxc.idmap" in r.stderr
    assert cgroup_leftovers(name) == []


def test_rootfs_the_mapped_root_cannot_reach_refused(lxcpath: Path) -> None:
    # pytest's tmp_path is under a 0700 directory of host root
    name = make(lxcpath, IDMAP, template="busybox", prefix="far")
    r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath)
    assert r.returncode != 0
    assert "lxc.rootfs.path: '" in r.stderr and "not searchable by the container's root " \
        "(host uid 100000)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert cgroup_leftovers(name) == []


# ---- recovery -----------------------------------------------------------------------------

def test_killed_supervisor_takes_the_container_and_is_recovered(upath: Path) -> None:
    """The init's parent-death signal survives its switch to root of the user namespace
    (the kernel clears it on a credential change): a SIGKILLed supervisor ends it."""
    name = make(upath, IDMAP, template="busybox", prefix="rk")
    env = {**os.environ, "LXCPY_TEST_KILL_AT": "running"}
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(upath), "-n", name, "--", "sh",
                             "-c", "sleep 100 & exec sleep 100"], env=env,
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def empty() -> bool:
        for d in cgroup_leftovers(name):
            try:
                if Path(d, "cgroup.procs").read_text().strip():
                    return False
            except FileNotFoundError:
                pass
        return True

    assert wait_until(empty, 10)
    assert lxc("state", "-n", name, lxcpath=upath).stdout == "STOPPED\n"
    r = execute(upath, name, "id -u")  # the next start clears what the dead one left
    assert r.returncode == 0 and r.stdout == "0\n", r.stderr
    assert cgroup_leftovers(name) == []


# ---- lxc-usernsexec -----------------------------------------------------------------------

def usernsexec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("lxc-usernsexec"), *args], capture_output=True, text=True,
                          timeout=30)


def test_usernsexec_runs_as_root_of_the_maps(tmp_path: Path) -> None:
    r = usernsexec("-m", "b:0:100000:65536", "--", "sh", "-c",
                   "id -u; id -g; cat /proc/self/uid_map; exit 3")
    assert r.returncode == 3, r.stderr
    assert r.stdout.split() == ["0", "0", "0", "100000", "65536"]
    r = usernsexec("-s", "-m", "b:0:100000:10", "--", "cat", "/proc/self/uid_map")
    assert [line.split() for line in r.stdout.splitlines()] == [["0", "100000", "10"],
                                                                 ["10", "0", "1"]]
    # LXC's use: give a host file to a container's root
    target = Path(tempfile.mkdtemp(prefix="lxcpy-userns-", dir="/tmp"))
    try:
        target.chmod(0o777)
        (target / "f").write_text("x")
        (target / "f").chmod(0o666)
        r = usernsexec("-m", "b:0:100000:1", "-m", "b:1:0:1", "--", "chown", "0:0",
                       str(target / "f"))
        assert r.returncode == 0, r.stderr
        assert (target / "f").stat().st_uid == HOST_ROOT
    finally:
        subprocess.run(["rm", "-rf", str(target)], check=False)


@pytest.mark.parametrize("args,expect", [
    (("-m", "b:0:100000:10", "-m", "u:5:200000:1"), "overlaps"),
    (("-m", "u:0:100000:10",), "no gid map for id 0"),
    (("-m", "x:0:1",), "not a map"),
])
def test_usernsexec_bad_maps(args: tuple[str, ...], expect: str) -> None:
    r = usernsexec(*args, "--", "true")
    assert r.returncode == 1 and expect in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_usernsexec_command_not_found() -> None:
    r = usernsexec("-m", "b:0:100000:10", "--", "/nonexistent-" + unique())
    assert r.returncode == 127 and "No such file" in r.stderr


NOBODY = 54321  # a uid with no entry in the host's passwd; one in the private copy only


def as_non_root(*args: str, subuid: str = "h7user:200000:65536\n",
                hide_newuidmap: bool = False) -> subprocess.CompletedProcess[str]:
    """``lxc-usernsexec ARGS`` as uid NOBODY, in a mount namespace of its own in which
    private copies of /etc/passwd, /etc/subuid and /etc/subgid are bound: the host's files
    and users are never touched. setpriv execs it directly: this host's Python lives
    under root's 0700 home, reachable only while setpriv still holds its capabilities."""
    ids = Path(tempfile.mkdtemp(prefix="lxcpy-userns-ids-", dir="/tmp"))
    try:
        ids.chmod(0o755)
        (ids / "passwd").write_text(Path("/etc/passwd").read_text()
                                    + f"h7user:x:{NOBODY}:{NOBODY}::/nonexistent:/bin/sh\n")
        (ids / "subuid").write_text(subuid)
        (ids / "subgid").write_text(subuid)
        for f in ids.iterdir():
            f.chmod(0o644)
        binds = "".join(f"mount --bind {ids}/{f} /etc/{f} && "
                        for f in ("passwd", "subuid", "subgid"))
        if hide_newuidmap:
            binds += f"mount --bind /dev/null {shutil.which('newuidmap')} && "
        wrapped = (f'{binds}cd / && exec setpriv --reuid {NOBODY} --regid {NOBODY} '
                   '--clear-groups "$@"')
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               wrapped, "sh", tool("lxc-usernsexec"), *args],
                              capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(ids)


needs_uidmap = pytest.mark.skipif(shutil.which("newuidmap") is None,
                                  reason="Debian's uidmap (newuidmap) is not installed")


@needs_uidmap
def test_usernsexec_as_a_non_root_user_through_newuidmap() -> None:
    # default maps: the caller's /etc/subuid range from 0
    r = as_non_root("--", "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    assert [line.split() for line in r.stdout.splitlines()] == [["0"],
                                                                 ["0", "200000", "65536"]]
    r = as_non_root("-s", "-m", "b:0:200000:10", "--", "cat", "/proc/self/gid_map")
    assert r.returncode == 0, r.stderr
    assert [line.split() for line in r.stdout.splitlines()] == [["0", "200000", "10"],
                                                                 ["10", str(NOBODY), "1"]]


@needs_uidmap
def test_usernsexec_non_root_range_not_granted_refused() -> None:
    r = as_non_root("-m", "b:0:300000:10", "--", "touch", "/tmp/never")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("lxc-usernsexec: newgidmap: gid range [0-10) -> "
                               "[300000-300010) not allowed")
    r = as_non_root("--", "true", subuid="someoneelse:200000:65536\n")
    assert r.returncode == 1 and "no range for 'h7user' in /etc/subuid" in r.stderr


@needs_uidmap
def test_usernsexec_non_root_without_newuidmap_refused() -> None:
    r = as_non_root("-m", "b:0:200000:10", "--", "true", hide_newuidmap=True)
    assert r.returncode == 1
    assert r.stderr == ("lxc-usernsexec: newuidmap not found: a non-root user needs it to "
                        "map ids (apt-get install uidmap)\n")

"""Containment by default: what root inside a container can no longer reach.

Each test is an attack that worked before lxcpy contained by default: it looks from inside
(namespaces, /proc, /sys, the run directory) or plays the unprivileged user on the host.

Containers run on the probe rootfs (busybox) where the attack is about the container; the
ones about a container without a rootfs (the host's /sys, cgroups and run directory in
view) are rootfs-less on purpose, and the chroot escape runs the host's Python.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import lxc, rootfs_keys, tool, unique, write_config

pytestmark = pytest.mark.root

PYTHON = "/usr/bin/python3"


def execute(lxcpath: Path, config: str, *argv: str,
            rootfs: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a container of ``config`` on ``rootfs`` (None: the host's tree)."""
    name = unique("c")
    conf = write_config(lxcpath.parent, name, config + (rootfs_keys(rootfs) if rootfs else ""))
    return lxc("execute", "-n", name, "-f", str(conf), "--", *argv, lxcpath=lxcpath)


def host_ns(ns: str) -> str:
    return os.readlink(f"/proc/self/ns/{ns}")


# ---- 1. network: no lxc.net keys is an empty network namespace of its own --------------
def test_no_network_keys_is_an_empty_netns_of_its_own(lxcpath: Path, probe_rootfs: Path) -> None:
    result = execute(lxcpath, "lxc.uts.name = n\n", "sh", "-c",
                     "readlink /proc/self/ns/net; ip -o link | cut -d: -f2",
                     rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    netns, *links = result.stdout.split()
    assert netns != host_ns("net")
    assert links == ["lo"], result.stdout


def test_loopback_stays_down_like_lxc(lxcpath: Path, probe_rootfs: Path) -> None:
    result = execute(lxcpath, "", "ip", "-o", "link", "show", "lo", rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["1:", "lo:", "<LOOPBACK>"], result.stdout  # not UP


def test_type_none_shares_the_callers_netns(lxcpath: Path, probe_rootfs: Path) -> None:
    result = execute(lxcpath, "lxc.net.0.type = none\n", "readlink", "/proc/self/ns/net",
                     rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == host_ns("net")


def test_namespace_keep_net_shares_the_callers_netns(lxcpath: Path, probe_rootfs: Path) -> None:
    result = execute(lxcpath, "lxc.namespace.keep = net\n", "readlink", "/proc/self/ns/net",
                     rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == host_ns("net")


def test_root_inside_cannot_take_the_callers_interfaces_down(
        lxcpath: Path, probe_rootfs: Path) -> None:
    # the test runs in a network namespace of its own whose lo is up: that is the "host"
    result = execute(lxcpath, "", "ip", "link", "set", "lo", "down", rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    flags = int(Path("/sys/class/net/lo/flags").read_text(), 16)
    assert flags & 1, "the caller's lo was taken down from inside the container"


# ---- 3. /proc and /sys --------------------------------------------------------------------
# open for writing, write nothing (a test never writes a host-global setting); not test -w,
# which in busybox says yes to root for every file
WRITABLE = ("for f in {}; do if (: >> $f) 2>/dev/null; then echo $f=rw; else echo $f=ro; fi; "
            "done")


@pytest.mark.parametrize("auto", ["", "lxc.mount.auto = proc\n", "lxc.mount.auto = proc:mixed\n"])
def test_host_global_sysctls_are_read_only(lxcpath: Path, probe_rootfs: Path, auto: str) -> None:
    result = execute(lxcpath, auto, "sh", "-c",
                     WRITABLE.format("/proc/sys/kernel/core_pattern /proc/sys/vm/drop_caches"),
                     rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/proc/sys/kernel/core_pattern=ro",
                                     "/proc/sys/vm/drop_caches=ro"]


def test_proc_rw_is_what_the_user_asked_for(lxcpath: Path, probe_rootfs: Path) -> None:
    result = execute(lxcpath, "lxc.mount.auto = proc:rw\n", "sh", "-c",
                     WRITABLE.format("/proc/sys/kernel/core_pattern"),
                     rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/proc/sys/kernel/core_pattern=rw"]


def test_network_sysctls_of_its_own_netns_stay_writable(lxcpath: Path, probe_rootfs: Path) -> None:
    before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    flipped = "0" if before.strip() == "1" else "1"
    result = execute(lxcpath, "", "sh", "-c",
                     f"echo {flipped} > /proc/sys/net/ipv4/ip_forward && "
                     "cat /proc/sys/net/ipv4/ip_forward",
                     rootfs=probe_rootfs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == flipped
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == before


def test_rootfs_less_container_sees_sys_and_cgroups_read_only(lxcpath: Path) -> None:
    procs = next(p for p in ("/sys/fs/cgroup/unified/cgroup.procs", "/sys/fs/cgroup/cgroup.procs")
                 if os.path.exists(p))
    result = execute(lxcpath, "", "sh", "-c",
                     WRITABLE.format(f"{procs} /sys/kernel/mm/transparent_hugepage/enabled"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"{procs}=ro",
                                     "/sys/kernel/mm/transparent_hugepage/enabled=ro"]


# ---- 7. the run directory: no container reaches another's command socket -------------------
def test_run_directory_is_masked_inside_a_rootfs_less_container(lxcpath: Path) -> None:
    from lxcpy.container import Container

    victim = unique("v")
    conf = write_config(lxcpath.parent, victim, "")
    started = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath),
                                "-n", victim, "-f", str(conf), "--", "sleep", "60"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        assert lxc("wait", "-n", victim, "-s", "RUNNING", "-t", "30", lxcpath=lxcpath,
                   timeout=40).returncode == 0
        socket_path = Container(victim, str(lxcpath)).paths.socket
        assert os.path.exists(socket_path)
        attack = (f"test -e {socket_path} && echo reachable; "
                  f"ls -A {os.path.dirname(os.path.dirname(socket_path))} | wc -l")
        result = execute(lxcpath, "", "sh", "-c", attack)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["0"]
        assert lxc("state", "-n", victim, lxcpath=lxcpath).stdout.strip() == "RUNNING"
    finally:
        lxc("stop", "-n", victim, "-k", lxcpath=lxcpath)
        started.wait(30)


# ---- 7. lxc.chroot gives the confinement of a rootfs --------------------------------------
ESCAPE = """
import os
os.mkdir("/jail")
fd = os.open("/", os.O_RDONLY)
os.chroot("/jail")
os.fchdir(fd)
for _ in range(64):
    os.chdir("..")
os.chroot(".")
print("escaped" if os.path.exists(MARKER) else "held")
"""


@pytest.mark.parametrize("key", ["lxc.chroot", "lxc.rootfs.path"])
def test_the_classic_chroot_escape_does_not_reach_host_files(lxcpath: Path, tmp_path: Path,
                                                             key: str) -> None:
    marker = tmp_path / "host-only-marker"
    marker.write_text("host\n")
    rootfs = tmp_path / "rootfs"
    for d in ("usr", "lib", "lib64", "bin", "proc", "sys", "dev", "tmp"):
        (rootfs / d).mkdir(parents=True)
    # the host's python, read-only, so the attack needs no compiler
    config = (f"{key} = {rootfs}\n"
              "lxc.mount.entry = /usr usr none ro,bind 0 0\n"
              "lxc.mount.entry = /lib lib none ro,bind 0 0\n"
              "lxc.mount.entry = /lib64 lib64 none ro,bind,optional 0 0\n"
              "lxc.mount.entry = /bin bin none ro,bind 0 0\n")
    code = ESCAPE.replace("MARKER", repr(str(marker)))
    result = execute(lxcpath, config, PYTHON, "-I", "-S", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "held"


# ---- 7. files written by root in a directory another user can write ------------------------
def test_update_config_never_writes_through_a_planted_symlink(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o1777)
    secret = tmp_path / "root-only"
    secret.write_text("secret\n")
    os.chmod(secret, 0o600)
    config = shared / "config"
    config.write_text("lxc.utsname = old\n")
    os.chown(config, nobody.pw_uid, nobody.pw_gid)
    # what the unprivileged user plants: the backup name, pointing at a root-only file
    os.symlink(secret, shared / "config.backup")
    result = subprocess.run([tool("lxc-update-config"), "-c",
                             str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert secret.read_text() == "secret\n"
    assert (shared / "config.backup").read_text() == "lxc.utsname = old\n"
    assert not (shared / "config.backup").is_symlink()
    assert "lxc.uts.name = old" in config.read_text()
    assert sorted(p.name for p in shared.iterdir()) == ["config", "config.backup"]


# ---- 1. LXC's lxc.conf and default.conf ----------------------------------------------------
def test_lxc_conf_names_the_lxcpath_and_the_default_config(tmp_path: Path) -> None:
    where = tmp_path / "containers"
    default = tmp_path / "default.conf"
    default.write_text("lxc.net.0.type = empty\nlxc.tty.max = 2\n")
    global_conf = tmp_path / "lxc.conf"
    global_conf.write_text(f"lxc.lxcpath = {where}\nlxc.default_config = {default}\n")
    env = {**os.environ, "LXC_GLOBAL_CONF": str(global_conf)}
    env.pop("LXC_LXCPATH", None)
    name = unique("d")
    try:
        result = subprocess.run([tool("lxc-create"), "-n", name,
                                 "-t", "none"], capture_output=True, text=True, env=env,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        text = (where / name / "config").read_text()
        assert "lxc.net.0.type = empty" in text and "lxc.tty.max = 2" in text
    finally:
        shutil.rmtree(where, ignore_errors=True)

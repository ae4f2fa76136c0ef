"""lxc.seccomp.profile for real: the filter is in the container and does what LXC's does.

The containers run on the probe rootfs (busybox), except the ones whose probe is a Python
program making raw system calls, which run this interpreter in the host's tree."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from lxcpy.paths import ContainerPaths
from tests.integration.helpers import (
    HOST_DIR,
    bind_host,
    cgroup_leftovers,
    lxc,
    rootfs_keys,
    unique,
)

pytestmark = pytest.mark.root

COMMON = Path(__file__).resolve().parents[1] / "data" / "lxc-5.0.2" / "common.seccomp"

# The attack: read a host file by handle (open_by_handle_at, the "shocker" escape), and
# load a kernel module. Prints "status=N obh=ERRNO finit=ERRNO" (0: the call succeeded).
PROBE = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class FH(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint), ("type", ctypes.c_int), ("h", ctypes.c_ubyte * 128)]
fh, mnt = FH(128), ctypes.c_int()
assert libc.name_to_handle_at(-100, b"/etc/hostname", ctypes.byref(fh), ctypes.byref(mnt), 0) == 0
root = os.open("/", os.O_RDONLY)
fd = libc.open_by_handle_at(root, ctypes.byref(fh), os.O_RDONLY)
obh = 0 if fd >= 0 else ctypes.get_errno()
libc.syscall(313, -1, b"", 0)  # finit_module (x86_64)
finit = ctypes.get_errno()
mode = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0]
print(f"status={mode} obh={obh} finit={finit}")
"""


def probe(tmp_path: Path) -> list[str]:
    path = tmp_path / "probe.py"
    path.write_text(PROBE)
    return [sys.executable, str(path)]


def conf(tmp_path: Path, name: str, extra: str, rootfs: Path | None = None) -> str:
    """The config: ``extra`` from line 2 on, then the rootfs's keys (``rootfs``: the probe
    rootfs; None: the host's tree, for a Python probe)."""
    path = tmp_path / f"{name}.conf"
    path.write_text(f"lxc.uts.name = {name}\n{extra}{rootfs_keys(rootfs) if rootfs else ''}")
    return str(path)


def profile(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.seccomp"
    path.write_text(text)
    return str(path)


def execute(lxcpath: Path, name: str, config: str, *cmd: str, defines: tuple[str, ...] = ()):  # noqa: ANN201
    args = ["-n", name, "-f", config]
    for d in defines:
        args += ["-s", d]
    return lxc("execute", *args, "--", *cmd, lxcpath=lxcpath)


needs_x86_64 = pytest.mark.skipif(sys.platform != "linux" or __import__("os").uname().machine
                                  != "x86_64", reason="syscall numbers of x86_64")


@needs_x86_64
def test_lxc_common_profile_blocks_open_by_handle_at_and_module_loading(
        lxcpath: Path, tmp_path: Path) -> None:
    name = unique("sc")
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {COMMON}\n")
    r = execute(lxcpath, name, config, *probe(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["status=2", "obh=1", "finit=1"]  # EPERM: errno 1
    # the same container without the profile: the attack works (the test can fail)
    r = execute(lxcpath, name, config, *probe(tmp_path), defines=("lxc.seccomp.profile=",))
    assert r.returncode == 0, r.stderr
    status, obh, finit = r.stdout.split()
    assert status == "status=0" and obh == "obh=0" and finit != "finit=1"


def test_filter_covers_the_command_and_its_children_in_start_mode(
        lxcpath: Path, tmp_path: Path, probe_rootfs: Path) -> None:
    name = unique("sc")
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {COMMON}\n", probe_rootfs)
    r = lxc("start", "-n", name, "-f", config, "-F", "--", "sh", "-c",
            "grep Seccomp: /proc/1/status; sh -c 'grep Seccomp: /proc/self/status'",
            lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["Seccomp:", "2", "Seccomp:", "2"]


@needs_x86_64
def test_argument_filters_errno_and_kill(lxcpath: Path, tmp_path: Path) -> None:
    name = unique("sc")
    path = profile(tmp_path, "2\ndenylist\n# AF_INET6 sockets fail, AF_INET ones work\n"
                   "socket errno 97 [0,10,==]\ngetcpu kill\n")
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {path}\n")
    script = ("import socket\nsocket.socket(socket.AF_INET).close()\n"
              "try:\n    socket.socket(socket.AF_INET6)\nexcept OSError as e:\n"
              "    print(e.errno)\n")
    r = execute(lxcpath, name, config, sys.executable, "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["97"]
    r = execute(lxcpath, name, config, sys.executable, "-c",
                "import ctypes; ctypes.CDLL(None).syscall(309, 0, 0, 0); print('alive')")
    assert r.returncode == 128 + 31 and "alive" not in r.stdout  # SIGSYS: killed


def test_cap_drop_of_sys_admin_without_no_new_privs_still_loads_the_filter(
        lxcpath: Path, tmp_path: Path, probe_rootfs: Path) -> None:
    name = unique("sc")
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {COMMON}\nlxc.cap.drop = sys_admin\n",
                  probe_rootfs)
    r = execute(lxcpath, name, config, "grep", "-E", "^(Seccomp|CapEff|CapBnd|NoNewPrivs):",
                "/proc/self/status")
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert fields["Seccomp"] == "2" and fields["NoNewPrivs"] == "0"
    sys_admin = 1 << 21
    assert not int(fields["CapBnd"], 16) & sys_admin
    assert not int(fields["CapEff"], 16) & sys_admin  # held only until the filter was in


def test_allow_nesting_lets_the_container_add_its_own_filter(lxcpath: Path,
                                                            tmp_path: Path) -> None:
    name = unique("sc")
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {COMMON}\n"
                  "lxc.seccomp.allow_nesting = 1\n")
    nested = profile(tmp_path, "2\ndenylist\nkexec_load errno 1\n")
    script = (f"from lxcpy.config.seccomp import read_policy\n"
              "from lxcpy.kernel.seccomp import compile_policy, load\n"
              "from lxcpy import kernel as k\n"
              "k.prctl(k.PR_SET_NO_NEW_PRIVS, 1)\n"
              f"load(compile_policy(read_policy({nested!r})))\n"
              "print(open('/proc/self/status').read().split('Seccomp_filters:')[1].split()[0])\n")
    r = execute(lxcpath, name, config, sys.executable, "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2"]


def test_allow_nesting_refuses_a_profile_that_blocks_seccomp(
        lxcpath: Path, tmp_path: Path, probe_rootfs: Path) -> None:
    name = unique("sc")
    path = profile(tmp_path, "2\ndenylist\nseccomp errno 1\n")
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {path}\n"
                  "lxc.seccomp.allow_nesting = 1\n", probe_rootfs)
    r = execute(lxcpath, name, config, "true")
    assert r.returncode == 1
    assert "lxc.seccomp.allow_nesting = 1, but the profile" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert cgroup_leftovers(name) == []


@pytest.mark.parametrize(("text", "line", "message"), [
    ("2\ndenylist\nkexec_load errno 1\nopen_by_handle_att errno 1\n", 4,
     "unknown system call 'open_by_handle_att'"),
    ("2\ndenylist\nkexec_load errno\n", 3, "errno needs a number"),
    ("2\ndenylist\nkexec_load notify\n", 3, "the notify action needs a seccomp notify proxy"),
    ("7\n", 1, "line 1 must be the policy version 1 or 2"),
])
def test_a_bad_profile_fails_before_anything_starts(lxcpath: Path, tmp_path: Path,
                                                    probe_rootfs: Path, text: str,
                                                    line: int, message: str) -> None:
    name = unique("sc")
    path = profile(tmp_path, text)
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {path}\n{bind_host(tmp_path)}",
                  probe_rootfs)
    r = execute(lxcpath, name, config, "touch", f"{HOST_DIR}/ran")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"{path}:{line}: {message}" in lines[0]
    assert f"(profile of lxc.seccomp.profile at {config}:2)" in lines[0]
    assert not (tmp_path / "ran").exists()
    assert cgroup_leftovers(name) == []
    assert not Path(ContainerPaths(name, str(lxcpath)).seccomp).exists()


def test_a_missing_profile_names_the_config_line(lxcpath: Path, tmp_path: Path,
                                                 probe_rootfs: Path) -> None:
    name = unique("sc")
    config = conf(tmp_path, name, f"lxc.seccomp.profile = {tmp_path}/nothing\n", probe_rootfs)
    r = execute(lxcpath, name, config, "true")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"lxc-execute: {name}: {config}:2: lxc.seccomp.profile: cannot read seccomp profile "
        f"'{tmp_path}/nothing': No such file or directory"]


def _block_device() -> str | None:
    """major:minor of a host block device with data on it (the thing a container must not read)."""
    base = Path("/sys/dev/block")
    for entry in sorted(base.iterdir()) if base.is_dir() else []:
        try:
            if int((entry / "size").read_text()) > 0:
                return entry.name
        except (OSError, ValueError):
            continue
    return None


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")
def test_busybox_template_containers_get_lxc_common_confinement(lxcpath: Path) -> None:
    name = unique("bb")
    lxc("create", "-n", name, "-t", "busybox", lxcpath=lxcpath, check=True)
    lxc("start", "-n", name, "-d", lxcpath=lxcpath, check=True)
    try:
        r = lxc("attach", "-n", name, "--", "cat", "/proc/1/status", lxcpath=lxcpath)
        assert r.returncode == 0, r.stderr
        init = dict(line.split(":\t", 1) for line in r.stdout.splitlines() if ":\t" in line)
        assert init["Seccomp"] == "2"
        bounding = int(init["CapBnd"], 16)
        for cap in (16, 17, 25, 32, 33):  # sys_module sys_rawio sys_time mac_override mac_admin
            assert not bounding & (1 << cap), cap
        r = lxc("attach", "-n", name, "--", "sh", "-c", "echo x > /dev/null && echo null-ok",
                lxcpath=lxcpath)
        assert r.stdout.strip() == "null-ok", r.stderr
        device = _block_device()
        if device is not None:  # the device allow-list: no raw access to the host's disks
            major, minor = device.split(":")
            r = lxc("attach", "-n", name, "--", "sh", "-c",
                    f"mknod /tmp/disk b {major} {minor} && head -c1 /tmp/disk >/dev/null",
                    lxcpath=lxcpath)
            assert r.returncode != 0 and "Operation not permitted" in r.stderr, r.stderr
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)

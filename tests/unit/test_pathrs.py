"""lxcpy.rootfs.pathrs: every path inside a rootfs resolves inside it, unmounts included.

The attack: a rootfs whose ``sys`` is an absolute symlink to a host path. The container
sees /sys/fs/cgroup at ROOTFS/HOSTPATH/fs/cgroup; the host's kernel, given the string
ROOTFS + "/sys/fs/cgroup", follows the symlink to HOSTPATH/fs/cgroup on the host. Each
case runs in a private mount namespace of its own (``unshare -m``): nothing it mounts or
unmounts is seen outside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")

PRELUDE = """
import os, sys
from lxcpy import kernel as k
rootfs, host = sys.argv[1], sys.argv[2]
os.makedirs(rootfs)
os.symlink(host, rootfs + "/sys")  # absolute: the container's /sys is ROOTFS/HOST
os.makedirs(host + "/fs/cgroup")
k.mount("sentinel", host + "/fs/cgroup", "tmpfs", 0, "size=4k")  # the host's mount


def mounted():
    return {line.split()[4]: line.split(" - ")[1].split()[0]
            for line in open("/proc/self/mountinfo")}
"""


def _run(tmp_path: Path, body: str) -> list[str]:
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "--", sys.executable, "-c",
         PRELUDE + body, str(tmp_path / "rootfs"), str(tmp_path / "host")],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_umount_in_the_root_never_unmounts_the_host_path(tmp_path: Path) -> None:
    host_at, inside_at = _run(tmp_path, """
from lxcpy.rootfs.pathrs import Root
inner = rootfs + host + "/fs/cgroup"
os.makedirs(inner)
k.mount("inner", inner, "tmpfs", 0, "size=4k")
root = Root(rootfs)
root.umount("/sys/fs/cgroup")
now = mounted()
print(host + "/fs/cgroup" in now, inner in now)
""")
    assert (host_at, inside_at) == ("True", "False")


def test_mount_cgroups_on_a_v2_host_replaces_its_tmpfs_inside_the_root(tmp_path: Path) -> None:
    """mount_cgroups (cgroup:rw, cgroup2-only layout): the tmpfs it mounted first goes, the
    host's mount at the symlink's host-side target stays."""
    host_at, inside_fs = _run(tmp_path, """
import lxcpy.cgroups
from lxcpy.cgroups.detect import HostLayout
from lxcpy.rootfs import mounts
from lxcpy.rootfs.pathrs import Root
lxcpy.cgroups.detect = lambda: HostLayout(kind="unified", v2_mount="/sys/fs/cgroup")
os.makedirs(rootfs + host + "/fs")  # the container's /sys/fs (sysfs would have it)
mounts.mount_cgroups(Root(rootfs), "rw")
now = mounted()
print(now.get(host + "/fs/cgroup"), now.get(rootfs + host + "/fs/cgroup"))
""")
    assert (host_at, inside_fs) == ("tmpfs", "cgroup2")


def test_exists_resolves_inside_the_root(tmp_path: Path) -> None:
    """A file that exists only on the host side of the symlink does not exist in the root."""
    found = _run(tmp_path, """
from lxcpy.rootfs.pathrs import Root
open(host + "/only-on-host", "w").close()
root = Root(rootfs)
print(root.exists("/sys/only-on-host"), os.path.exists(rootfs + "/sys/only-on-host"))
""")
    assert found == ["False", "True"]

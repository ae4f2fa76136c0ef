"""Parsing /proc/self/mountinfo into a cgroup layout: legacy, hybrid and unified hosts."""

from __future__ import annotations

from lxcpy.cgroups import parse_mountinfo

COMMON = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
"""

# this VM: cpu and cpuacct mounted separately, cgroup2 at .../unified
HYBRID = COMMON + """\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

# a systemd legacy host (Debian 9 style): co-mounted cpu,cpuacct, optional fields, xattr
LEGACY = COMMON + """\
25 31 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup \
rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
28 31 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup \
cgroup rw,cpu,cpuacct
29 31 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:11 - \
cgroup cgroup rw,net_cls,net_prio
30 31 0:28 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup \
rw,freezer
33 31 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup \
rw,cpuset,clone_children
"""

# Debian 12 default: cgroup2 at /sys/fs/cgroup, nothing else
UNIFIED = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
26 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 \
rw,nsdelegate,memory_recursiveprot
"""


def test_hybrid() -> None:
    layout = parse_mountinfo(HYBRID)
    assert layout.kind == "hybrid"
    assert layout.v2_mount == "/sys/fs/cgroup/unified"
    assert layout.v1[frozenset({"cpu"})] == "/sys/fs/cgroup/cpu"
    assert layout.v1[frozenset({"name=systemd"})] == "/sys/fs/cgroup/systemd"
    assert len(layout.v1) == 9
    assert layout.v1_mount("cpuacct") == "/sys/fs/cgroup/cpuacct"
    assert layout.v1_mount("hugetlb") is None
    assert "pids" in layout.v1_controllers


def test_legacy_co_mounted_controllers() -> None:
    layout = parse_mountinfo(LEGACY)
    assert layout.kind == "legacy"
    assert layout.v2_mount is None
    assert layout.v1_mount("cpu") == layout.v1_mount("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct"
    assert layout.v1[frozenset({"name=systemd"})] == "/sys/fs/cgroup/systemd"  # options dropped
    assert layout.v1[frozenset({"cpuset"})] == "/sys/fs/cgroup/cpuset"  # clone_children dropped
    assert layout.v1[frozenset({"net_cls", "net_prio"})] == "/sys/fs/cgroup/net_cls,net_prio"


def test_unified() -> None:
    layout = parse_mountinfo(UNIFIED)
    assert layout.kind == "unified"
    assert layout.v2_mount == "/sys/fs/cgroup"
    assert layout.v1 == {}


def test_unified_with_a_named_v1_hierarchy_is_still_unified() -> None:
    text = UNIFIED + "50 26 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
    layout = parse_mountinfo(text)
    assert layout.kind == "unified"
    assert layout.v1 == {frozenset({"name=systemd"}): "/sys/fs/cgroup/systemd"}


def test_binds_of_sub_cgroups_and_duplicates_are_ignored() -> None:
    text = HYBRID + (
        # a container's view: a sub-cgroup bound somewhere else, and a second mount
        "60 27 0:32 /lxc.payload.x /mnt/memory rw - cgroup cgroup rw,memory\n"
        "61 27 0:32 / /mnt/memory2 rw - cgroup cgroup rw,memory\n"
        "62 27 0:38 /sub /mnt/unified rw - cgroup2 cgroup2 rw\n")
    layout = parse_mountinfo(text)
    assert layout.v1_mount("memory") == "/sys/fs/cgroup/memory"
    assert layout.v2_mount == "/sys/fs/cgroup/unified"


def test_escaped_mount_points_and_no_cgroups() -> None:
    text = COMMON + r"70 31 0:50 / /sys/fs/cgroup/my\040freezer rw - cgroup cgroup rw,freezer"
    assert parse_mountinfo(text).v1_mount("freezer") == "/sys/fs/cgroup/my freezer"
    empty = parse_mountinfo(COMMON + "garbage line\n")
    assert empty.kind == "legacy" and empty.v1 == {} and empty.v2_mount is None

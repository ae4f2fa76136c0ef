"""Resource control through the commands a user types: lxc-cgroup, lxc-freeze/-unfreeze,
lxc-info's usage lines, and a config key the kernel has no file for — on the host's
driver and on the v2 driver forced onto this hybrid host's cgroup2 mount."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.helpers import (
    cgroup_file,
    cgroup_key,
    cgroup_leftovers,
    cgroup_version,
    lxc,
    rootfs_keys,
    unique,
    write_config,
)

pytestmark = pytest.mark.root

# driver -> (config line, the file it wrote and its value, a file lxc-cgroup sets)
# "host": the host's own driver, with its version's keys. On a hybrid host every controller
# is bound to v1: the forced v2 driver has only the cgroup2 core files (freeze, kill,
# attach and limits like cgroup.max.descendants).
DRIVERS = {
    "host": (cgroup_key("memory.limit_in_bytes", "memory.max") + " = 64M",
             cgroup_file("memory.limit_in_bytes", "memory.max"), "67108864", "pids.max"),
    "v2": ("lxc.cgroup2.cgroup.max.descendants = 5", "cgroup.max.descendants", "5",
           "cgroup.max.depth"),
}


def one_line(stderr: str) -> bool:
    return len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_cgroup_get_set_freeze_and_usage(lxcpath: Path, tmp_path: Path, probe_rootfs: Path,
                                         driver: str) -> None:
    line, readback, value, settable = DRIVERS[driver]
    env = {**os.environ, "LXCPY_CGROUP_DRIVER": "v2"} if driver == "v2" else None
    name = unique("cg")
    conf = write_config(tmp_path, name, f"lxc.uts.name = {name}\n{rootfs_keys(probe_rootfs)}"
                                        f"{line}\n")
    lxc("create", "-n", name, "-f", str(conf), lxcpath=lxcpath, check=True)

    r = lxc("freeze", "-n", name, lxcpath=lxcpath)
    assert r.returncode == 1 and one_line(r.stderr) and "not running" in r.stderr

    lxc("execute", "-n", name, "-d", "--", "sleep", "100", lxcpath=lxcpath, check=True, env=env)
    try:
        assert lxc("cgroup", "-n", name, readback, lxcpath=lxcpath).stdout == f"{value}\n"
        assert lxc("cgroup", "-n", name, settable, "20", lxcpath=lxcpath).returncode == 0
        assert lxc("cgroup", "-n", name, settable, lxcpath=lxcpath).stdout == "20\n"
        r = lxc("cgroup", "-n", name, "memory.bogus", lxcpath=lxcpath)
        assert r.returncode == 1 and one_line(r.stderr) and "memory.bogus" in r.stderr

        # LXC 5: thawing a running container, or freezing a frozen one, succeeds
        r = lxc("unfreeze", "-n", name, lxcpath=lxcpath)
        assert (r.returncode, r.stderr) == (0, "")
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "RUNNING\n"
        assert lxc("freeze", "-n", name, lxcpath=lxcpath).returncode == 0
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "FROZEN\n"
        r = lxc("freeze", "-n", name, lxcpath=lxcpath)
        assert (r.returncode, r.stderr) == (0, "")
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "FROZEN\n"

        info = lxc("info", "-n", name, lxcpath=lxcpath).stdout.splitlines()
        labels = [line.split(":")[0] for line in info]
        assert labels[:3] == ["Name", "State", "PID"]
        # like LXC, a line only for what the host's controllers can tell
        usage = {"CPU use"}
        if driver == "host":  # v2: io.stat only where io is enabled (no key here needs it)
            usage |= {"Memory use", "BlkIO use"} if cgroup_version() == 1 else {"Memory use"}
        assert usage <= set(labels)
        stats = lxc("info", "-n", name, "-S", lxcpath=lxcpath).stdout.splitlines()
        assert stats and all(not line.startswith(("Name", "State", "PID")) for line in stats)

        assert lxc("unfreeze", "-n", name, lxcpath=lxcpath).returncode == 0
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "RUNNING\n"
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
    assert cgroup_leftovers(name) == []


def test_a_key_without_a_cgroup_file_aborts_and_leaves_nothing(
        lxcpath: Path, tmp_path: Path, probe_rootfs: Path) -> None:
    name = unique("cg")
    bogus = cgroup_key("memory.bogus")
    conf = write_config(tmp_path, name, f"{rootfs_keys(probe_rootfs)}{bogus} = 1\n")
    lxc("create", "-n", name, "-f", str(conf), lxcpath=lxcpath, check=True)
    r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath)
    assert r.returncode == 1 and one_line(r.stderr)
    assert bogus in r.stderr and "memory.bogus" in r.stderr
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
    assert cgroup_leftovers(name) == []

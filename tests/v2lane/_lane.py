"""Helpers of the v2 lane: commands get emulator-sized timeouts, cgroups are read on the host."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.integration.helpers import cgroup_leftovers, lxc, remove_rundir

ROOT = Path("/sys/fs/cgroup")
# under TCG one command takes 5-30 s; a stuck one still fails the test, not the lane
SLOW = 240.0


def run(cmd: str, *args: str, lxcpath: Path, check: bool = False,
        **kwargs: object) -> subprocess.CompletedProcess[str]:
    return lxc(cmd, *args, lxcpath=lxcpath, check=check, timeout=SLOW, **kwargs)


def cgroup(name: str) -> Path:
    """The container's cgroup as LXC lays it out on v2: ``lxc.payload.<name>``."""
    return ROOT / f"lxc.payload.{name}"


def read(path: Path) -> str:
    return path.read_text().strip()


def flat(path: Path) -> dict[str, str]:
    """A flat-keyed cgroup file (memory.events, pids.events, cgroup.events)."""
    return dict(line.split(" ", 1) for line in path.read_text().splitlines() if line)


def one_line(stderr: str) -> bool:
    return len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def define(lxcpath: Path, name: str, *keys: str) -> None:
    """Define container ``name`` as lxc-create -f would (its directory and config file),
    without lxc-create's ~15 s under emulation."""
    directory = lxcpath / name
    directory.mkdir(mode=0o770)
    (directory / "config").write_text(
        "".join(f"{k}\n" for k in (f"lxc.uts.name = {name}", *keys)))


def clean(lxcpath: Path) -> None:
    """cleanup_lxcpath's work with the emulator's timeouts: ``lxc-destroy -f`` (it stops a
    running one first) for a container that may still hold something on the host (a
    cgroup, a command socket); a stopped one's directory goes without a command (~20 s
    each under emulation). Then the lxcpath and its run directory."""
    from lxcpy.paths import ContainerPaths

    for entry in lxcpath.iterdir():
        name = entry.name
        socket = ContainerPaths(name, str(lxcpath)).socket
        if (entry / "config").exists() and (cgroup_leftovers(name) or os.path.exists(socket)):
            run("destroy", "-n", name, "-f", lxcpath=lxcpath)
    shutil.rmtree(lxcpath, ignore_errors=True)
    remove_rundir(lxcpath)

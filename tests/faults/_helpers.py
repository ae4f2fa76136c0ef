"""Shared pieces of the fault suite: snapshots of what a test made, checks.

Builds on tests/integration/helpers.py (containers: ``make``; the probe rootfs:
``busybox_rootfs``; leftover cgroups: ``cgroup_leftovers``). A snapshot holds only what the
test itself can have made (its container's cgroups, mounts under its own directories, links
of its private netns): other work on the same host changes nothing in it.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.hostnet import bridge, in_private_netns, links, require_private_netns
from tests.integration.helpers import cgroup_leftovers, tool


# ---- the network layer (landing from another engineer) ---------------------------------
def net_available() -> bool:
    try:
        import lxcpy.net as net
    except ImportError:
        return False
    return hasattr(net, "host_setup") and hasattr(net, "host_teardown")


def require_net() -> None:
    """Veth variants fail (not skip) until lxcpy.net lands: they are part of the issue."""
    if not net_available():
        pytest.fail("lxcpy.net (host_setup/host_teardown) has not landed yet: the veth "
                    "variant cannot run", pytrace=False)
    require_private_netns()


def veth_keys(br: str, address: str = "10.210.0.2/24") -> str:
    return ("lxc.net.0.type = veth\n"
            f"lxc.net.0.link = {br}\n"
            "lxc.net.0.flags = up\n"
            f"lxc.net.0.ipv4.address = {address}\n")


@contextmanager
def network(net: str, subnet: str = "10.210.0") -> Iterator[str]:
    """The config's network keys: ``"veth"`` on a fresh bridge ``subnet.1/24`` (the
    container gets ``subnet.2``), or ``"none"``: no network keys at all."""
    if net == "none":
        yield ""
        return
    require_net()
    with bridge(f"{subnet}.1/24") as br:
        yield veth_keys(br, f"{subnet}.2/24")


# ---- what the test made on the host ------------------------------------------------------
def mountinfo_points(text: str) -> Counter[str]:
    points: Counter[str] = Counter()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4:
            points[fields[4].encode().decode("unicode_escape")] += 1
    return points


def host_mounts() -> Counter[str]:
    return mountinfo_points(Path("/proc/self/mountinfo").read_text())


def mounts_at(under: tuple[str | Path, ...], exact: tuple[str, ...] = ()) -> Counter[str]:
    """The host's mounts on or below the test's own directories ``under``, and on the
    points ``exact`` (e.g. "/etc", which a hostile symlink aims at); nobody else's."""
    roots = [str(p).rstrip("/") for p in under]
    return Counter({point: n for point, n in host_mounts().items()
                    if point in exact or any(point == r or point.startswith(r + "/")
                                             for r in roots)})


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def snapshot(name: str, lxcpath: Path, monitor_pid: int | None = None) -> dict[str, object]:
    """What container ``name`` of ``lxcpath`` can have left on the host: its cgroups, the
    mounts below the test's directory and its run directory, the links of the test's own
    network namespace, the open fds of a monitor the test started."""
    from lxcpy.paths import lxcpath_rundir

    snap: dict[str, object] = {
        "cgroups": cgroup_leftovers(name),
        "mounts": sorted(mounts_at((Path(lxcpath).parent,
                                    lxcpath_rundir(str(lxcpath)))).elements()),
    }
    if in_private_netns():
        snap["links"] = sorted(links())
    if monitor_pid is not None:
        snap["monitor_fds"] = fd_count(monitor_pid)
    return snap


def tree(path: Path) -> list[str]:
    """A recursive listing (names and types) to prove nothing was made or changed."""
    out = []
    for dirpath, dirs, files in os.walk(path):
        for entry in sorted(dirs + files):
            full = os.path.join(dirpath, entry)
            kind = "l" if os.path.islink(full) else "d" if os.path.isdir(full) else "f"
            out.append(f"{kind} {os.path.relpath(full, path)}")
    return sorted(out)


# ---- checks ----------------------------------------------------------------------------
def assert_one_line_error(r: subprocess.CompletedProcess[str], what: str = "") -> str:
    """A refused command: non-zero exit, exactly one line on stderr, no traceback."""
    assert r.returncode != 0, f"{what}: succeeded: {r.stdout!r}"
    assert "Traceback" not in r.stderr, f"{what}: {r.stderr}"
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{what}: expected one line, got {r.stderr!r}"
    return lines[0]


def run_tool(prog: str, *args: str, timeout: float = 30,
             **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run an installed script with a timeout; a hang is a test failure, not a stuck suite."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([tool(prog), *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)  # type: ignore[call-overload]


def kill_tree(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """SIGKILL a process we started (by its pid) and reap it."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children first), from /proc/PID/task/*/children."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def kill_pids(pids: list[int]) -> None:
    """SIGKILL processes we started (by PID); gone ones are fine."""
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass

"""100 start/stop cycles leave the host as they found it.

What the container can leave on the host -- the links of the test's network namespace,
its lxc.payload cgroups, mounts below the test's directories and run directory, the open
fds of a long-running lxc-monitor (started before the first cycle) -- is the same before
and after; the monitor saw every cycle. Each cycle is one ``lxc-execute -- true``. Only
what this test can have made is compared: other containers may run on the host meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults._helpers import kill_tree, network, snapshot
from tests.integration.helpers import cgroup_key, lxc, make, tool, wait_until

pytestmark = pytest.mark.root

CYCLES = 100


@contextmanager
def monitor(lxcpath: Path, out: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(out, "wb") as f:
        proc = subprocess.Popen([tool("lxc-monitor"), "-P", str(lxcpath)],
                                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.PIPE)
    try:
        # it is listening once its socket is in the run directory
        from lxcpy.paths import monitor_dir

        directory = monitor_dir(str(lxcpath))
        assert wait_until(lambda: os.path.isdir(directory) and any(
            e.startswith(f"{proc.pid}-") for e in os.listdir(directory)), 10)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        kill_tree(proc)


def rundir_files(lxcpath: Path) -> list[str]:
    from lxcpy.paths import lxcpath_rundir

    directory = lxcpath_rundir(str(lxcpath))
    try:
        return sorted(e for e in os.listdir(directory) if e != "monitors")
    except FileNotFoundError:
        return []


@pytest.mark.parametrize("net", ["none", "veth"])
def test_hundred_cycles_leave_nothing(lxcpath: Path, probe_rootfs: Path, tmp_path: Path, net: str,
                                      record_property) -> None:  # noqa: ANN001
    with network(net, "10.211.0") as keys:
        name = make(lxcpath, keys + f"{cgroup_key('pids.max')} = 50\n", prefix="cy",
                    rootfs=probe_rootfs)
        with monitor(lxcpath, tmp_path / "monitor.out") as mon:
            before = snapshot(name, lxcpath, mon.pid)
            files_before = rundir_files(lxcpath)
            started = time.monotonic()
            for cycle in range(CYCLES):
                r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath, timeout=30)
                assert r.returncode == 0, f"cycle {cycle}: {r.stderr}"
                assert r.stderr == "", f"cycle {cycle}: {r.stderr}"
            elapsed = time.monotonic() - started
            # the kernel deletes a dead namespace's veth asynchronously: allow it a moment
            assert wait_until(lambda: snapshot(name, lxcpath, mon.pid) == before, 5), (
                before, snapshot(name, lxcpath, mon.pid))
            after = snapshot(name, lxcpath, mon.pid)
            assert rundir_files(lxcpath) == files_before
            assert mon.poll() is None, mon.stderr.read()  # type: ignore[union-attr]
            out = tmp_path / "monitor.out"
            assert wait_until(lambda: out.read_text().count("[RUNNING]") == CYCLES, 5), \
                out.read_text().count("[RUNNING]")
            assert out.read_text().count("[STOPPED]") == CYCLES
    per_cycle = elapsed / CYCLES
    summary = (f"{net}: {CYCLES} cycles in {elapsed:.1f} s ({per_cycle * 1000:.0f} ms/cycle); "
               f"links {len(before.get('links', []))}->{len(after.get('links', []))}, "  # type: ignore[arg-type]
               f"cgroups {len(before['cgroups'])}->{len(after['cgroups'])}, "  # type: ignore[arg-type]
               f"mounts {len(before['mounts'])}->{len(after['mounts'])}, "  # type: ignore[arg-type]
               f"monitor fds {before['monitor_fds']}->{after['monitor_fds']}")
    record_property("cycles", summary)
    print(summary)

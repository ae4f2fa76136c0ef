"""Issue 13 item 4: the benchmark's parallel-start and parallel-stop cases on the v2 driver.

Under emulation a start takes tens of seconds, so this is lxcpy's own numbers (no C LXC in
the guest): N containers started at once until every one is RUNNING, then stopped at once
until every cgroup is gone. guest.sh copies the V2LANE-BENCH line into the lane summary.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.helpers import cgroup_leftovers, tool, unique
from tests.v2lane._lane import SLOW, define, run

pytestmark = pytest.mark.root

COUNT = 4  # two per guest CPU: enough to show contention, small enough for TCG


def test_parallel_starts_and_stops(lxcpath: Path) -> None:
    names = [unique("par") for _ in range(COUNT)]
    for name in names:
        define(lxcpath, name, "lxc.cgroup2.pids.max = 20")
    t0 = time.perf_counter()
    starts = [subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "-d",
                                "--", "sleep", "600"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
              for name in names]
    for proc in starts:
        _, err = proc.communicate(timeout=SLOW)
        assert proc.returncode == 0, err
    for name in names:
        waited = run("wait", "-n", name, "-s", "RUNNING", "-t", str(int(SLOW)), lxcpath=lxcpath)
        assert waited.returncode == 0, waited.stderr
    started = time.perf_counter() - t0
    for name in names:  # each in a cgroup of its own, with the limit applied
        assert (Path("/sys/fs/cgroup") / f"lxc.payload.{name}" / "pids.max").read_text() \
            == "20\n"
    t1 = time.perf_counter()
    stops = [subprocess.Popen([tool("lxc-stop"), "-P", str(lxcpath), "-n", name, "-k"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for name in names]
    for proc in stops:
        _, err = proc.communicate(timeout=SLOW)
        assert proc.returncode == 0, err
    stopped = time.perf_counter() - t1
    assert [n for n in names if cgroup_leftovers(n)] == []
    print(f"\nV2LANE-BENCH {COUNT} parallel starts until RUNNING {started:.1f} s, "
          f"{COUNT} parallel stops {stopped:.1f} s (TCG)")

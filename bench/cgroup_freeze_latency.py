"""Freeze/thaw latency of the cgroup drivers for 1, 100 and 1000 sleeping processes.

    sudo .venv/bin/python bench/cgroup_freeze_latency.py [--rounds 5] [--sizes 1,100,1000]

For each driver available here (v1, and v2 — forced on a hybrid host), N ``sleep``
processes are started inside a fresh ``lxcpybench-<random>`` cgroup; freeze() and thaw()
are timed (each returns only once every process is frozen/thawed), median of the rounds.
destroy() (kill everything + rmdir) is timed once at the end. Everything is removed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
import uuid

from lxcpy.cgroups import CgroupManager, detect, manager_for

PAUSE = 0.05  # between operations: a user's freeze and thaw are not back to back


def start_sleepers(mgr: CgroupManager, n: int) -> subprocess.Popen[bytes]:
    """A shell inside the cgroup that starts n-1 background sleeps and becomes the n-th."""
    script = f"i=1; while [ $i -lt {n} ]; do sleep 1000 & i=$((i+1)); done; exec sleep 1000"
    proc = subprocess.Popen(["sh", "-c", script], preexec_fn=lambda: mgr.attach(os.getpid()))
    deadline = time.monotonic() + 60
    while len(mgr.procs()) != n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(mgr.procs())} of {n} processes started")
        time.sleep(0.01)
    return proc


def measure(driver: str, n: int, rounds: int) -> tuple[float, float, float]:
    mgr = manager_for(f"lxcpybench-{uuid.uuid4().hex[:8]}", driver)
    mgr.create()
    proc = None
    try:
        proc = start_sleepers(mgr, n)
        freezes, thaws = [], []
        for _ in range(rounds):
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            mgr.freeze()
            freezes.append(time.perf_counter() - t0)
            assert mgr.is_frozen()
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            mgr.thaw()
            thaws.append(time.perf_counter() - t0)
            assert not mgr.is_frozen()
        t0 = time.perf_counter()
        mgr.destroy()
        destroy = time.perf_counter() - t0
        return statistics.median(freezes), statistics.median(thaws), destroy
    finally:
        mgr.destroy()
        if proc is not None:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1,100,1000")
    args = parser.parse_args()
    layout = detect()
    drivers = [d for d, ok in (("v1", bool(layout.v1)), ("v2", layout.v2_mount)) if ok]
    print(f"host: {layout.kind}; cgroup2 at {layout.v2_mount}; rounds: {args.rounds}")
    print("| driver | processes | freeze (median) | thaw (median) | destroy (once) |")
    print("|---|---:|---:|---:|---:|")
    for driver in drivers:
        for n in (int(s) for s in args.sizes.split(",")):
            freeze, thaw, destroy = measure(driver, n, args.rounds)
            print(f"| {driver} | {n} | {freeze * 1e3:.3f} ms | {thaw * 1e3:.3f} ms "
                  f"| {destroy * 1e3:.2f} ms |", flush=True)


if __name__ == "__main__":
    main()

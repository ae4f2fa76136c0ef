"""Limits a pure v2 host enforces: memory.max (OOM kill inside the limit) and pids.max."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import cgroup_leftovers, unique, wait_until
from tests.v2lane._lane import cgroup, define, flat, read, run

pytestmark = pytest.mark.root

LIMIT = 32 << 20
HOG = 'x = "x" * (256 << 20)'  # a str is written, so every page is really used


def test_memory_max_oom_kills_the_hog_inside_the_limit(lxcpath: Path, tmp_path: Path) -> None:
    name = unique("mem")
    done = tmp_path / "hog-status"
    define(lxcpath, name, f"lxc.cgroup2.memory.max = {LIMIT}", "lxc.cgroup2.memory.swap.max = 0")
    script = f"python3 -c '{HOG}'; echo $? > {done}; exec sleep 600"
    run("execute", "-n", name, "-d", "--", "sh", "-c", script,
        lxcpath=lxcpath, check=True)
    try:
        assert wait_until(done.exists, 180, 0.5), "the hog never ended"
        assert wait_until(lambda: done.read_text().strip() != "", 10)
        # inside: the hog died by SIGKILL, the shell that started it lives on
        assert done.read_text().strip() == "137"
        # host side: the limit is the configured one, the kill was this cgroup's OOM
        directory = cgroup(name)
        assert read(directory / "memory.max") == str(LIMIT)
        assert read(directory / "memory.swap.max") == "0"
        events = flat(directory / "memory.events")
        assert int(events["oom_kill"]) >= 1, events
        assert int(events["max"]) >= 1, events
        assert int(read(directory / "memory.peak")) <= LIMIT
        # the container (its init and shell) survived, the host too
        assert run("state", "-n", name, lxcpath=lxcpath).stdout == "RUNNING\n"
    finally:
        run("stop", "-n", name, "-k", lxcpath=lxcpath)
    assert cgroup_leftovers(name) == []


FORKER = """
import errno, json, os
r, w = os.pipe()
kids, err = [], None
for _ in range(64):
    try:
        pid = os.fork()
    except OSError as exc:
        err = errno.errorcode.get(exc.errno)
        break
    if pid == 0:
        os.close(w); os.read(r, 1); os._exit(0)
    kids.append(pid)
os.close(w)
for pid in kids:
    os.waitpid(pid, 0)
root = "/sys/fs/cgroup/lxc.payload.%s/" % os.uname().nodename
events = dict(l.split() for l in open(root + "pids.events"))
print(json.dumps({"forks": len(kids), "err": err, "max": open(root + "pids.max").read().strip(),
                  "events": events}))
"""


def test_pids_max_fork_fails_at_the_limit(lxcpath: Path) -> None:
    name = unique("pid")
    define(lxcpath, name, "lxc.cgroup2.pids.max = 8")
    r = run("execute", "-n", name, "--", "python3", "-c", FORKER,
            lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    # the init and python hold 2 of the 8: a fork fails with EAGAIN after at most 6
    assert got["err"] == "EAGAIN", got
    assert 1 <= got["forks"] <= 6, got
    assert got["max"] == "8"
    assert int(got["events"]["max"]) >= 1, got
    # the limit was the container's alone: the host forks on, the cgroup is gone
    assert run("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
    assert cgroup_leftovers(name) == []

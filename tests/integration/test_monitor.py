"""lxc-monitor and lxc-wait against real containers: exact LXC lines, no event lost."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from lxcpy.paths import monitor_dir
from tests.integration._monitor_helpers import Monitor, start_daemon, states
from tests.integration.helpers import cleanup_lxcpath, lxc, make, tool, unique, wait_until

pytestmark = pytest.mark.root


def listening(lxcpath: Path, pid: int | None = None) -> bool:
    """A monitor (or lxc-wait) of ``lxcpath`` has bound its socket: process ``pid``'s, or
    anyone's (the lxcpath is the test's own)."""
    try:
        socks = os.listdir(monitor_dir(str(lxcpath)))
    except FileNotFoundError:
        return False
    return any(pid is None or s.startswith(f"{pid}-") for s in socks)


def drain(lxcpath: Path, rootfs: Path, *monitors: Monitor, name: str | None = None) -> str:
    """Run one more container to its end and wait until every monitor has its last line:
    the datagrams of earlier events are queued before it, so every line that was coming
    has come (no sleep). Returns the name of that sentinel container."""
    sentinel = make(lxcpath, name=name, rootfs=rootfs)
    assert lxc("execute", "-n", sentinel, "--", "true", lxcpath=lxcpath).returncode == 0
    for mon in monitors:
        assert mon.wait_line(states(sentinel, "STOPPED")[0]), mon.lines
    return sentinel


def execute_bg(lxcpath: Path, name: str, *cmd: str) -> subprocess.Popen[str]:
    """A foreground lxc-execute, run in the background like `lxc-execute ... &`."""
    return subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", *cmd],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_execute_exit_7(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    with Monitor(lxcpath) as mon:
        r = lxc("execute", "-n", name, "--", "sh", "-c", "exit 7", lxcpath=lxcpath)
        assert r.returncode == 7, r.stderr
        got = mon.wait_for(name, 5)
    assert got == states(name, "STARTING", "RUNNING", "exit:7", "STOPPING", "STOPPED")


def test_stop_of_a_running_container(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    with Monitor(lxcpath) as mon:
        proc = execute_bg(lxcpath, name, "sleep", "30")
        assert mon.wait_line(states(name, "RUNNING")[0]), proc.stderr
        assert lxc("stop", "-n", name, "-t", "5", lxcpath=lxcpath).returncode == 0
        rc = proc.wait(timeout=10)
        got = mon.wait_for(name, 5)
    # the exit line carries what lxc-execute itself exits with
    assert got == states(name, "STARTING", "RUNNING", f"exit:{rc}", "STOPPING", "STOPPED")


def test_freeze_and_unfreeze(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    start_daemon(lxcpath, name)
    with Monitor(lxcpath) as mon:
        assert lxc("freeze", "-n", name, lxcpath=lxcpath).returncode == 0
        assert lxc("unfreeze", "-n", name, lxcpath=lxcpath).returncode == 0
        got = mon.wait_for(name, 4)
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
    assert got == states(name, "FREEZING", "FROZEN", "THAWED", "RUNNING")


def test_aborted_start(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.hook.pre-start = /bin/false\n", rootfs=probe_rootfs)
    with Monitor(lxcpath) as mon:
        r = lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath)
        assert r.returncode != 0
        drain(lxcpath, probe_rootfs, mon)  # nothing more may follow
        got = mon.for_name(name)
    assert got == states(name, "STARTING", "ABORTING", "STOPPED")


def test_name_regex_is_anchored_and_may_repeat(lxcpath: Path, probe_rootfs: Path) -> None:
    tag = unique("")
    a, xa, b = (make(lxcpath, name=f"{p}{tag}", rootfs=probe_rootfs) for p in ("a", "xa", "b"))
    with Monitor(lxcpath, args=("-n", "a.*")) as only_a, \
            Monitor(lxcpath, args=("-n", "a.*", "-n", f"b{tag}")) as a_and_b:
        for name in (a, xa, b):
            assert lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath).returncode == 0
        last = drain(lxcpath, probe_rootfs, only_a, a_and_b, name=f"a{tag}z")  # seen by both
    assert {ln.split("'")[1] for ln in only_a.lines} == {a, last}  # not xa...: anchored
    assert {ln.split("'")[1] for ln in a_and_b.lines} == {a, b, last}


def test_several_lxcpaths(lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    try:
        one, two = make(lxcpath, rootfs=probe_rootfs), make(other, rootfs=probe_rootfs)
        with Monitor(lxcpath, other) as mon:
            for path, name in ((lxcpath, one), (other, two)):
                assert lxc("execute", "-n", name, "--", "true", lxcpath=path).returncode == 0
            assert len(mon.wait_for(one, 5)) == 5
            assert len(mon.wait_for(two, 5)) == 5
    finally:
        cleanup_lxcpath(other)


def test_late_monitor_sees_nothing_stale(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    start_daemon(lxcpath, name)
    other = make(lxcpath, rootfs=probe_rootfs)
    assert lxc("execute", "-n", other, "--", "true", lxcpath=lxcpath).returncode == 0
    with Monitor(lxcpath) as mon:
        last = drain(lxcpath, probe_rootfs, mon)
        assert {ln.split("'")[1] for ln in mon.lines} == {last}  # nothing stale came
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
        got = mon.wait_for(name, 3)
    assert got[-2:] == states(name, "STOPPING", "STOPPED")
    assert {ln.split("'")[1] for ln in mon.lines} == {name, last}


def test_stress_20_containers_3_monitors(lxcpath: Path, probe_rootfs: Path) -> None:
    names = [make(lxcpath, prefix="s", rootfs=probe_rootfs) for _ in range(20)]
    monitors = [Monitor(lxcpath) for _ in range(3)]
    try:
        procs = [execute_bg(lxcpath, n, "sh", "-c", "sleep 0.5; exit 3") for n in names]
        for proc in procs:
            assert proc.wait(timeout=45) == 3, proc.stderr.read() if proc.stderr else ""
        for mon in monitors:
            for n in names:
                mon.wait_for(n, 5, timeout=5)
    finally:
        for mon in monitors:
            mon.stop()
    expected = {n: states(n, "STARTING", "RUNNING", "exit:3", "STOPPING", "STOPPED")
                for n in names}
    for mon in monitors:
        assert len(mon.lines) == 100
        for n in names:
            assert mon.for_name(n) == expected[n]
    delays = sorted(d for mon in monitors for d in mon.delays_ms)
    print(f"\nmonitor delay over {len(delays)} lines: median {statistics.median(delays):.3f} ms,"
          f" p95 {delays[int(len(delays) * 0.95)]:.3f} ms, worst {delays[-1]:.3f} ms")


def test_interrupt_exits_quietly_and_removes_its_socket(lxcpath: Path) -> None:
    for sig, code in ((signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, -signal.SIGTERM)):
        mon = Monitor(lxcpath)
        pid = mon.proc.pid
        assert mon.stop(sig) == code  # died of the signal, like a C tool: $? = 128+N
        assert mon.stderr == ""
        assert not [e for e in os.listdir(mon.socket_dir) if e.startswith(f"{pid}-")]


def test_quit_option_and_bad_regex(lxcpath: Path) -> None:
    r = lxc("monitor", "-Q", lxcpath=lxcpath, timeout=10)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = lxc("monitor", "-n", "(", lxcpath=lxcpath, timeout=10)
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and "regular expression" in r.stderr


def test_pipe_to_a_reading_loop(lxcpath: Path, probe_rootfs: Path) -> None:
    """`lxc-monitor | while read` gets each line at once (no buffering until exit)."""
    name = make(lxcpath, rootfs=probe_rootfs)
    script = (f"{tool('lxc-monitor')} -P {lxcpath} -n {name} | "
              "while read -r line; do echo \"got $line\"; "
              "case $line in *STOPPED*) exit 0;; esac; done")
    # its own process group: the finally can end the monitor too, not only bash
    reader = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        # the monitor listens once its socket is in the lxcpath's (private) monitor dir
        assert wait_until(lambda: listening(lxcpath), 10)
        assert lxc("execute", "-n", name, "--", "true", lxcpath=lxcpath).returncode == 0
        # the loop exits at STOPPED; the monitor notices its reader is gone and ends too
        out, _ = reader.communicate(timeout=10)
    finally:
        try:
            os.killpg(reader.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reader.wait()
    assert out.splitlines() == ["got " + ln for ln in states(
        name, "STARTING", "RUNNING", "exit:0", "STOPPING", "STOPPED")]


# ---- lxc-wait --------------------------------------------------------------------------

def timed(*args: str, lxcpath: Path) -> tuple[int, float, str]:
    t0 = time.monotonic()
    r = lxc("wait", *args, lxcpath=lxcpath, timeout=30)
    return r.returncode, time.monotonic() - t0, r.stderr


def test_wait_already_in_state(lxcpath: Path, probe_rootfs: Path) -> None:
    """No -t: lxc-wait would wait for ever; it returns (a hang is the run's timeout)."""
    name = make(lxcpath, rootfs=probe_rootfs)
    rc, _, err = timed("-n", name, "-s", "STOPPED", lxcpath=lxcpath)
    assert (rc, err) == (0, "")
    start_daemon(lxcpath, name)
    for wanted in ("RUNNING", "STOPPED|RUNNING", "running"):
        rc, _, err = timed("-n", name, "-s", wanted, lxcpath=lxcpath)
        assert (rc, err) == (0, "")


def test_wait_for_a_change(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    start_daemon(lxcpath, name)
    waiter = subprocess.Popen([tool("lxc-wait"), "-P", str(lxcpath), "-n", name,
                               "-s", "STOPPED"])
    try:
        assert wait_until(lambda: listening(lxcpath, waiter.pid), 10)  # bound: sees the change
        assert waiter.poll() is None  # still waiting: it is the stop that ends it
        assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath).returncode == 0
        assert waiter.wait(timeout=10) == 0
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()


def test_wait_timeout(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    start_daemon(lxcpath, name)
    rc, took, _ = timed("-n", name, "-s", "STOPPED", "-t", "1", lxcpath=lxcpath)
    assert rc == 1 and took >= 0.9  # it did wait the second
    rc, _, _ = timed("-n", name, "-s", "FROZEN", "-t", "0", lxcpath=lxcpath)
    assert rc == 1  # -t 0: look once, do not wait (waiting would be the run's timeout)
    rc, _, _ = timed("-n", name, "-s", "RUNNING", "-t", "0", lxcpath=lxcpath)
    assert rc == 0


def test_wait_invalid_state(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("wait", "-n", name, "-s", "BOGUS", lxcpath=lxcpath, timeout=10)
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and "invalid state 'BOGUS'" in r.stderr
    r = lxc("wait", "-n", name, lxcpath=lxcpath, timeout=10)  # no -s
    assert r.returncode != 0 and r.stderr

"""lxc-execute for real: namespaces, PID 1 init, exit codes, signals, /proc, mounts, caps.

The containers run on the probe rootfs (busybox, the same tools on every host), except the
ones about lxc-execute without a rootfs, which LXC supports on purpose: the command runs in
the host's tree (test_no_rootfs_*)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.helpers import (
    HOST_DIR,
    bind_host,
    cgroup_leftovers,
    children,
    init_pid,
    lxc,
    make,
    tool,
    wait_until,
)

pytestmark = pytest.mark.root


def execute(lxcpath: Path, name: str, *cmd: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return lxc("execute", "-n", name, "--", *cmd, lxcpath=lxcpath, **kw)  # type: ignore[arg-type]


def test_hostname_pid1_and_private_proc(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = execute(lxcpath, name, "sh", "-c",
                "hostname; echo $$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'")
    assert r.returncode == 0, r.stderr
    host, pid, comm, nprocs = r.stdout.split()
    assert host == name
    assert pid == "2"  # the command runs under our init, as in LXC
    assert comm == "init"
    assert int(nprocs) <= 4  # only the container's processes: init, sh, ls, grep


@pytest.mark.parametrize(("script", "code"), [
    ("exit 0", 0), ("exit 7", 7), ("kill -9 $$", 137), ("kill -TERM $$", 143)])
def test_exit_codes(lxcpath: Path, probe_rootfs: Path, script: str, code: int) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    assert execute(lxcpath, name, "sh", "-c", script).returncode == code


def test_missing_command_is_127_with_a_message(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = execute(lxcpath, name, "/nonexistent")
    assert r.returncode == 127
    assert "/nonexistent: No such file or directory" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_no_command_is_a_usage_error(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, lxcpath=lxcpath)
    assert r.returncode == 1
    assert "no command" in r.stderr


def test_execute_cmd_from_config(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.execute.cmd = /bin/sh -c \"echo from-config; exit 4\"\n",
                rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, lxcpath=lxcpath)
    assert (r.returncode, r.stdout.strip()) == (4, "from-config")


def test_environment_is_cleared(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.environment = FOO=bar\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "env", env={**os.environ, "SECRET": "x"})
    env = dict(line.split("=", 1) for line in r.stdout.splitlines())
    assert env["container"] == "lxc" and env["FOO"] == "bar" and "PATH" in env
    assert "SECRET" not in env


def test_stdin_is_the_callers(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "--", "cat", lxcpath=lxcpath, input="hello\n")
    assert r.stdout == "hello\n"


def test_only_stdio_fds_inside(lxcpath: Path, probe_rootfs: Path) -> None:
    """The command gets stdin, stdout and stderr and nothing else (seen from the host,
    so no tool inside adds fds of its own to what is listed)."""
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "-d", "--", "sleep", "100", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    command = children(init_pid(lxcpath, name))
    assert len(command) == 1
    assert sorted(os.listdir(f"/proc/{command[0]}/fd"), key=int) == ["0", "1", "2"]


def test_mount_entry_visible_inside_not_outside(lxcpath: Path, probe_rootfs: Path) -> None:
    target = probe_rootfs / "mnt"
    name = make(lxcpath, "lxc.mount.entry = tmpfs mnt tmpfs size=1m 0 0\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "sh", "-c", "grep -c ' /mnt ' /proc/self/mountinfo; "
                                           "touch /mnt/inside")
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    assert not (target / "inside").exists()
    assert str(target) not in Path("/proc/self/mountinfo").read_text()


def test_caps_dropped(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.cap.drop = sys_admin net_raw\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "grep", "CapBnd", "/proc/self/status")
    bnd = int(r.stdout.split()[1], 16)
    assert not bnd & (1 << 21)  # CAP_SYS_ADMIN
    assert not bnd & (1 << 13)  # CAP_NET_RAW
    assert bnd & (1 << 0)  # CAP_CHOWN kept


def test_signal_forwarding(lxcpath: Path, tmp_path: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, bind_host(tmp_path), rootfs=probe_rootfs)
    ready = tmp_path / "trapped"
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", "sh",
                             "-c", f"trap 'exit 42' USR1; touch {HOST_DIR}/trapped; "
                                   "while :; do sleep 0.05; done"],
                            stdin=subprocess.DEVNULL)
    try:
        # the shell has its trap (it wrote the file after setting it); the init had its
        # forwarders before it reported RUNNING; the supervisor has taken that report (a
        # signal before it aborts the start, even with the command already running)
        assert wait_until(lambda: ready.exists(), 15)
        assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                          == "RUNNING\n", 15)
        proc.send_signal(signal.SIGUSR1)
        assert proc.wait(10) == 42
    finally:
        proc.kill()
        proc.wait()


def test_life_cycle_states_stop_and_kill(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                             "sleep", "100"], stdin=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                          == "RUNNING\n")
        info = lxc("info", "-n", name, lxcpath=lxcpath).stdout.splitlines()
        assert info[0] == f"Name:           {name}"
        assert info[1] == "State:          RUNNING"
        pid = int(lxc("info", "-n", name, "-pH", lxcpath=lxcpath).stdout)
        # the init: the supervisor's (this lxc-execute's) child, PID 1 of its namespace
        assert children(proc.pid) == [pid]
        nspid = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("NSpid:"))
        assert nspid.split()[1:] == [str(pid), "1"]
        again = execute(lxcpath, name, "true")
        assert again.returncode == 1
        assert f"container '{name}' is already running" in again.stderr
        r = lxc("stop", "-n", name, "-t", "5", lxcpath=lxcpath)
        assert r.returncode == 0, r.stderr
        assert proc.wait(10) == 143
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
        assert lxc("stop", "-n", name, lxcpath=lxcpath).returncode == 2
        assert cgroup_leftovers(name) == []
    finally:
        proc.kill()
        proc.wait()


def test_stop_k_and_lxc_kill_every_process(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", "sh",
                             "-c", "trap : TERM USR2; sleep 100 & sleep 100 & "
                                   "while :; do sleep 0.1; done"],
                            stdin=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                          == "RUNNING\n")
        r = lxc("kill", "-n", name, "-s", "BOGUS", lxcpath=lxcpath)
        assert r.returncode == 1 and "unknown signal 'BOGUS'" in r.stderr
        r = lxc("kill", "-n", name, "USR2", lxcpath=lxcpath)  # every sleep dies of it
        assert r.returncode == 0, r.stderr

        def sleepers() -> int:
            ps = lxc("attach", "-n", name, "--", "ps", "-eo", "args", lxcpath=lxcpath).stdout
            return sum(1 for line in ps.splitlines() if line.strip() == "sleep 100")

        assert wait_until(lambda: sleepers() == 0, 5)
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "RUNNING\n"
        r = lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
        assert r.returncode == 0, r.stderr
        proc.wait(10)
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
        assert lxc("kill", "-n", name, "TERM", lxcpath=lxcpath).returncode != 0
    finally:
        proc.kill()
        proc.wait()


def test_stop_timeout_then_kill(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "-d", "--", "sh", "-c", "trap '' TERM; while :; do sleep 1; "
                                                           "done", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    start = time.monotonic()
    r = lxc("stop", "-n", name, "-t", "1", lxcpath=lxcpath, timeout=30)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - start > 0.9  # it did wait for the second before the kill
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"


def test_supervisor_sigkill_then_recovery(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    proc = subprocess.Popen([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--", "sh",
                             "-c", "sleep 100 & sleep 100"], stdin=subprocess.DEVNULL)
    assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout == "RUNNING\n")
    init = int(lxc("info", "-n", name, "-pH", lxcpath=lxcpath).stdout)
    proc.kill()
    proc.wait()
    assert wait_until(lambda: not os.path.exists(f"/proc/{init}"), 5)
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
    assert cgroup_leftovers(name) == []
    assert execute(lxcpath, name, "true").returncode == 0


def test_failing_pre_start_hook_aborts_cleanly(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.hook.pre-start = /bin/false\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "true")
    assert r.returncode == 1
    assert "pre-start" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert cgroup_leftovers(name) == []
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"


def test_hook_environment(lxcpath: Path, tmp_path: Path, probe_rootfs: Path) -> None:
    out = tmp_path / "hook.out"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$LXC_NAME $LXC_HOOK_TYPE $*\" >> {out}\n")
    hook.chmod(0o755)
    name = make(lxcpath, f"lxc.hook.pre-start = {hook}\nlxc.hook.post-stop = {hook}\n",
                rootfs=probe_rootfs)
    assert execute(lxcpath, name, "true").returncode == 0
    assert out.read_text().splitlines() == [f"{name} pre-start {name} lxc pre-start",
                                            f"{name} post-stop {name} lxc post-stop"]


def test_no_rootfs_no_command_start_is_refused(lxcpath: Path) -> None:
    name = make(lxcpath)  # no rootfs on purpose: lxc-start would boot the host's /sbin/init
    r = lxc("start", "-n", name, lxcpath=lxcpath)
    assert r.returncode == 1
    assert "refusing" in r.stderr
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"


def test_attach(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "-d", "--", "sleep", "100", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    r = lxc("attach", "-n", name, "--", "sh", "-c", "hostname; ls /proc | grep -c '^[0-9]'",
            lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == name
    assert lxc("attach", "-n", name, "--", "sh", "-c", "exit 9", lxcpath=lxcpath).returncode == 9
    assert lxc("attach", "-n", name, "--", "sh", "-c", "kill -9 $$",
               lxcpath=lxcpath).returncode == 137
    r = lxc("attach", "-n", name, "--", "/nonexistent", lxcpath=lxcpath)
    assert r.returncode == 127 and "No such file" in r.stderr
    lxc("stop", "-n", name, "-k", lxcpath=lxcpath, check=True)
    assert lxc("attach", "-n", name, "--", "true", lxcpath=lxcpath).returncode == 1


def test_no_rootfs_runs_in_the_hosts_tree(lxcpath: Path, tmp_path: Path) -> None:
    """LXC's lxc-execute without a rootfs: the command runs in the host's tree (its own
    mount namespace), with the container's hostname and PID namespace."""
    marker = tmp_path / "marker"
    marker.write_text("host file\n")
    name = make(lxcpath)  # no rootfs on purpose
    r = execute(lxcpath, name, "sh", "-c", f"cat {marker}; hostname; echo $$")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["host file", name, "2"]

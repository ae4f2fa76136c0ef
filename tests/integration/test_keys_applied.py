"""Every key is acted on or refused: checked from inside real containers.

prlimit (ulimit -n), sysctl (/proc/sys inside, the host's value untouched), lxc.proc,
namespace clone/keep/share (readlink /proc/self/ns/*), lxc.arch (uname -m), the autodev
hook, lxc.tty.dir, lxc.signal.stop / lxc-stop -r, the -o log file (content, mode), and the
one-line refusals that leave nothing behind (no cgroup, no run files).
"""

from __future__ import annotations

import os
import resource
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from lxcpy.paths import ContainerPaths
from tests.integration.helpers import cgroup_leftovers, lxc, make, wait_until

pytestmark = pytest.mark.root


def execute(lxcpath: Path, name: str, script: str, *opts: str,
            **kw: object) -> subprocess.CompletedProcess[str]:
    return lxc("execute", "-n", name, *opts, "--", "sh", "-c", script,  # type: ignore[arg-type]
               lxcpath=lxcpath, timeout=30, **kw)


def config_line(lxcpath: Path, name: str, key: str) -> str:
    """``CONFIG:LINE: key`` as a one-line error names it."""
    path = lxcpath / name / "config"
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.split("=")[0].strip() == key:
            return f"{path}:{number}: {key}"
    raise AssertionError(f"{key} not in {path}")


def assert_refused(r: subprocess.CompletedProcess[str], lxcpath: Path, name: str,
                   key: str, why: str) -> None:
    """One line naming file:line and key, exit 1, nothing left behind."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert config_line(lxcpath, name, key) in lines[0], lines[0]
    assert why in lines[0], lines[0]
    assert cgroup_leftovers(name) == []
    paths = ContainerPaths(name, str(lxcpath))
    for left in (paths.socket, paths.resources):
        assert not os.path.exists(left), left
    assert r.stdout == ""  # nothing ran


# busybox's readlink takes one file
READLINK_NS = "for ns in {}; do readlink /proc/self/ns/$ns; done"


def host_ns(ns: str) -> str:
    return os.readlink(f"/proc/self/ns/{ns}")


# ---- lxc.prlimit.* ----------------------------------------------------------------------
def test_prlimit_lowers_the_limits_inside(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.prlimit.nofile = 100:200\nlxc.prlimit.core = 0\n",
                rootfs=probe_rootfs)
    r = execute(lxcpath, name, "ulimit -n; ulimit -Hn; ulimit -c")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["100", "200", "0"]


def test_prlimit_raising_the_hard_limit_is_one_line_and_nothing_starts(lxcpath: Path,
                                                                       probe_rootfs: Path) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    name = make(lxcpath, f"lxc.prlimit.nofile = {hard + 1}\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert_refused(r, lxcpath, name, "lxc.prlimit.nofile", "CAP_SYS_RESOURCE")


# ---- lxc.sysctl.* -----------------------------------------------------------------------
def test_sysctls_are_written_in_the_containers_namespaces(lxcpath: Path,
                                                          probe_rootfs: Path) -> None:
    forward = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    shmmax = Path("/proc/sys/kernel/shmmax").read_text().strip()
    want_forward = "0" if forward == "1" else "1"
    name = make(lxcpath, f"lxc.sysctl.net.ipv4.ip_forward = {want_forward}\n"
                                   "lxc.sysctl.kernel.shmmax = 12345678\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [want_forward, "12345678"]
    # the host's (only read, never written by this test)
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == forward
    assert Path("/proc/sys/kernel/shmmax").read_text().strip() == shmmax


@pytest.mark.parametrize(("extra", "key", "why"), [
    ("lxc.sysctl.vm.swappiness = 10\n", "lxc.sysctl.vm.swappiness", "not namespaced"),
    ("lxc.namespace.keep = net\nlxc.sysctl.net.ipv4.ip_forward = 1\n",
     "lxc.sysctl.net.ipv4.ip_forward", "no net namespace of its own"),
    ("lxc.sysctl.net.ipv4.ip_forward = bogus\n", "lxc.sysctl.net.ipv4.ip_forward",
     "the kernel refuses 'bogus'"),
    ("lxc.sysctl.net.ipv4.no_such_thing = 1\n", "lxc.sysctl.net.ipv4.no_such_thing",
     "No such file"),
])
def test_bad_sysctls_are_one_line_and_nothing_starts(lxcpath: Path, probe_rootfs: Path, extra: str,
                                                     key: str, why: str) -> None:
    swappiness = Path("/proc/sys/vm/swappiness").read_text()
    name = make(lxcpath, extra, rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert_refused(r, lxcpath, name, key, why.replace("not namespaced", "it is not namespaced"))
    assert Path("/proc/sys/vm/swappiness").read_text() == swappiness


def test_a_refused_sysctl_leaves_no_veth_behind(lxcpath: Path, probe_rootfs: Path) -> None:
    before = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                            check=True).stdout
    name = make(lxcpath, "lxc.net.0.type = veth\nlxc.net.0.flags = up\n"
                                   "lxc.sysctl.net.ipv4.conf.all.forwarding = bogus\n",
                                   rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert_refused(r, lxcpath, name, "lxc.sysctl.net.ipv4.conf.all.forwarding",
                   "the kernel refuses 'bogus'")
    after = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in after.splitlines()]
    assert names == [line.split(":")[1].strip().split("@")[0] for line in before.splitlines()]


def test_lxc_proc_is_written_for_the_init(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.proc.oom_score_adj = 321\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "cat /proc/self/oom_score_adj")
    assert (r.returncode, r.stdout.strip()) == (0, "321"), r.stderr


SESSION_KEYRING = ("import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
                   "print(libc.syscall(250, 0, -3, 0))")  # KEYCTL_GET_KEYRING_ID, session


def test_the_init_gets_a_new_session_keyring(lxcpath: Path) -> None:
    """No rootfs on purpose: the probe is this Python (keyctl through ctypes)."""
    import sys

    mine = subprocess.run([sys.executable, "-c", SESSION_KEYRING], capture_output=True,
                          text=True, check=True).stdout.strip()
    name = make(lxcpath)
    r = lxc("execute", "-n", name, "--", sys.executable, "-c", SESSION_KEYRING,
            lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() not in (mine, "-1")  # the caller's keys are out of reach
    name = make(lxcpath, "lxc.keyring.session = 0\n")
    r = lxc("execute", "-n", name, "--", sys.executable, "-c", SESSION_KEYRING,
            lxcpath=lxcpath)
    assert r.stdout.strip() == mine


# ---- namespaces -------------------------------------------------------------------------
def test_namespace_clone_makes_only_those(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.namespace.clone = mnt pid uts cgroup\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, READLINK_NS.format("net ipc uts"))
    assert r.returncode == 0, r.stderr
    net, ipc, uts = r.stdout.split()
    assert (net, ipc) == (host_ns("net"), host_ns("ipc"))
    assert uts != host_ns("uts")


def test_namespace_keep_and_default(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.namespace.keep = ipc\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, READLINK_NS.format("net ipc"))
    net, ipc = r.stdout.split()
    assert net != host_ns("net") and ipc == host_ns("ipc")


@pytest.mark.parametrize(("extra", "key", "why"), [
    ("lxc.namespace.clone = pid uts\n", "lxc.namespace.clone", "mount namespace"),
    ("lxc.namespace.keep = mnt\n", "lxc.namespace.keep", "mount namespace"),
    ("lxc.namespace.clone = mnt user\n", "lxc.namespace.clone", "a user namespace needs lxc.idmap"),
    ("lxc.namespace.clone = mnt\nlxc.namespace.keep = net\n", "lxc.namespace.clone",
     "cannot be combined"),
    ("lxc.namespace.share.net = nosuchcontainer\n", "lxc.namespace.share.net",
     "'nosuchcontainer' is not running"),
    ("lxc.namespace.share.pid = 1\n", "lxc.namespace.share.pid", "not supported"),
    ("lxc.namespace.share.net = /etc/passwd\n", "lxc.namespace.share.net",
     "is not a net namespace"),
    ("lxc.namespace.keep = net\nlxc.net.0.type = veth\n", "lxc.net.0.type",
     "no network namespace of its own"),
    ("lxc.namespace.clone = mnt pid\nlxc.net.0.type = empty\n", "lxc.net.0.type",
     "no network namespace of its own"),
])
def test_bad_namespace_keys_are_one_line(lxcpath: Path, probe_rootfs: Path, extra: str, key: str,
                                         why: str) -> None:
    name = make(lxcpath, extra, rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert_refused(r, lxcpath, name, key, why)


def test_namespace_share_joins_a_running_container(lxcpath: Path, probe_rootfs: Path) -> None:
    other = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("execute", "-n", other, "-d", "--", "sleep", "60", lxcpath=lxcpath, timeout=30)
    assert r.returncode == 0, r.stderr
    pid = lxc("info", "-n", other, "-p", "-H", lxcpath=lxcpath).stdout.strip()
    assert pid.isdigit(), pid
    theirs = os.readlink(f"/proc/{pid}/ns/net")
    assert theirs != host_ns("net")
    by_name = make(lxcpath, f"lxc.namespace.share.net = {other}\n", rootfs=probe_rootfs)
    by_pid = make(lxcpath, f"lxc.namespace.share.net = {pid}\n"
                                     f"lxc.namespace.share.ipc = /proc/{pid}/ns/ipc\n",
                                     rootfs=probe_rootfs)
    for name in (by_name, by_pid):
        r = execute(lxcpath, name, READLINK_NS.format("net ipc"))
        assert r.returncode == 0, r.stderr
        net, ipc = r.stdout.split()
        assert net == theirs
        assert (ipc == os.readlink(f"/proc/{pid}/ns/ipc")) == (name == by_pid)
    # the joined network namespace is still the other container's, untouched
    assert lxc("info", "-n", other, "-s", lxcpath=lxcpath).stdout.split()[-1] == "RUNNING"
    assert os.readlink(f"/proc/{pid}/ns/net") == theirs


def test_time_offsets_in_a_time_namespace(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.time.offset.boot = 1000000s\n"
                                   "lxc.time.offset.monotonic = -500ms\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "cat /proc/uptime; cat /proc/self/timens_offsets; "
                               "readlink /proc/self/ns/time")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    host_uptime = float(Path("/proc/uptime").read_text().split()[0])
    assert float(lines[0].split()[0]) >= host_uptime + 1000000 - 5
    assert sorted(" ".join(x.split()) for x in lines[1:3]) == ["boottime 1000000 0",
                                                                "monotonic -1 500000000"]
    assert lines[3] != host_ns("time")


# ---- lxc.arch ---------------------------------------------------------------------------
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="personality table of x86_64")
def test_arch_i686_runs_under_linux32(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.arch = i686\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "uname -m")
    assert (r.returncode, r.stdout.strip()) == (0, "i686"), r.stderr
    name = make(lxcpath, "lxc.arch = x86_64\n", rootfs=probe_rootfs)
    assert execute(lxcpath, name, "uname -m").stdout.strip() == "x86_64"


def test_arch_this_host_cannot_run_is_refused(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.arch = ppc64el\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert_refused(r, lxcpath, name, "lxc.arch", "cannot run on this")


# ---- keys lxcpy does not implement: refused at start, never ignored ----------------------
@pytest.mark.parametrize(("extra", "key"), [
    ("lxc.log.syslog = daemon\n", "lxc.log.syslog"),
    ("lxc.console.size = 1MB\n", "lxc.console.size"),
    ("lxc.hook.destroy = /bin/true\n", "lxc.hook.destroy"),
    ("lxc.rootfs.mount = /mnt\n", "lxc.rootfs.mount"),
])
def test_unsupported_keys_are_refused(lxcpath: Path, probe_rootfs: Path, extra: str,
                                      key: str) -> None:
    name = make(lxcpath, extra, rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert_refused(r, lxcpath, name, key, "lxcpy")


def test_autostart_keys_and_clone_hook_need_nothing_at_start(lxcpath: Path,
                                                             probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.start.auto = 1\nlxc.start.delay = 5\n"
                                   "lxc.group = onboot\nlxc.hook.clone = /bin/false\n",
                                   rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert (r.returncode, r.stdout, r.stderr) == (0, "ran\n", "")


# ---- logs -------------------------------------------------------------------------------
def test_log_file_has_the_start_phases_and_mode_0640(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    log = tmp_path / "start.log"
    old = os.umask(0)
    try:
        r = execute(lxcpath, name, "true", "-o", str(log))
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o640
    text = log.read_text()
    assert " INFO " in text and "Cloning namespaces: mnt uts ipc pid net cgroup" in text, text
    assert f'Container "{name}" passed its start checks' in text


def test_log_file_refuses_a_symlink(lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    link = tmp_path / "link.log"
    link.symlink_to(victim)
    r = execute(lxcpath, name, "echo ran", "-o", str(link))
    assert r.returncode == 1 and "symbolic link" in r.stderr
    assert victim.read_text() == "keep\n"


def test_lxc_log_file_and_level_from_the_config(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    log = tmp_path / "cfg.log"
    name = make(lxcpath, f"lxc.log.file = {log}\nlxc.log.level = INFO\n", rootfs=probe_rootfs)
    r = execute(lxcpath, name, "echo ran")
    assert (r.returncode, r.stdout) == (0, "ran\n"), r.stderr
    assert "Cloning namespaces" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) & 0o007 == 0


# ---- system containers: autodev hook, tty.dir, signals, warnings with -d ------------------
busybox = pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")


def create_busybox(lxcpath: Path, extra: str) -> str:
    return make(lxcpath, extra, prefix="kb", template="busybox", uts=False)


def attach(lxcpath: Path, name: str, script: str) -> subprocess.CompletedProcess[str]:
    return lxc("attach", "-n", name, "--clear-env", "--", "/bin/sh", "-c", script,
               lxcpath=lxcpath, timeout=20)


@busybox
def test_autodev_hook_tty_dir_and_warnings_before_daemonising(lxcpath: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\n"
                    f'echo "$* $LXC_NAME $LXC_HOOK_TYPE $LXC_ROOTFS_MOUNT" > {out}\n'
                    f'[ -c "$LXC_ROOTFS_MOUNT/dev/null" ] && echo populated >> {out}\n')
    hook.chmod(0o755)
    name = create_busybox(lxcpath, f"lxc.hook.autodev = {hook}\nlxc.tty.dir = lxc\n"
                                             "lxc.apparmor.profile = generated\n"
                                             "lxc.autodev.tmpfs.size = 1048576\n")
    r = lxc("start", "-n", name, lxcpath=lxcpath, timeout=30)  # -d is lxc-start's default
    assert r.returncode == 0, r.stderr
    apparmor_on = Path("/sys/module/apparmor/parameters/enabled").exists() and \
        Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    if not apparmor_on:  # the warning reaches the caller although the supervisor detached
        assert r.stderr.strip() == (f"{config_line(lxcpath, name, 'lxc.apparmor.profile')}: "
                                    "AppArmor is not enabled on this host: ignored, as LXC does")
    rootfs = lxcpath / name / "rootfs"
    assert out.read_text().split("\n")[:2] == [f"{name} lxc autodev {name} autodev {rootfs}",
                                               "populated"]
    r = attach(lxcpath, name,
               "readlink /dev/console; readlink /dev/tty1; [ -c /dev/lxc/tty1 ] && echo c")
    assert r.stdout.split() == ["lxc/console", "lxc/tty1", "c"], r.stderr
    r = attach(lxcpath, name, "grep ' /dev tmpfs ' /proc/mounts")
    assert "size=1024k" in r.stdout, r.stdout  # lxc.autodev.tmpfs.size, in bytes as in LXC
    assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath).returncode == 0


@busybox
def test_signal_stop_and_reboot_go_to_the_init(lxcpath: Path, tmp_path: Path) -> None:
    # the init traps the two signals: lxc.signal.reboot notes it, lxc.signal.stop ends it
    script = ("trap 'echo reboot > /tmp/got' USR2; trap 'echo stop >> /tmp/got; exit 0' USR1; "
              "echo up > /tmp/got; while :; do sleep 1 & wait; done")
    name = create_busybox(lxcpath, "lxc.signal.stop = SIGUSR1\n"
                                             "lxc.signal.reboot = SIGUSR2\n"
                                             f"lxc.init.cmd = /bin/sh -c \"{script}\"\n")
    r = lxc("start", "-n", name, lxcpath=lxcpath, timeout=30)
    assert r.returncode == 0, r.stderr
    got = lxcpath / name / "rootfs" / "tmp" / "got"
    assert wait_until(lambda: got.exists() and got.read_text() == "up\n")
    r = lxc("stop", "-n", name, "-r", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: got.read_text() == "reboot\n")
    assert lxc("info", "-n", name, "-s", lxcpath=lxcpath).stdout.split()[-1] == "RUNNING"
    r = lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert got.read_text() == "reboot\nstop\n"  # SIGUSR1, not SIGKILL: the trap ran
    assert lxc("info", "-n", name, "-s", lxcpath=lxcpath).stdout.split()[-1] == "STOPPED"
    assert cgroup_leftovers(name) == []


def test_reboot_of_a_stopped_container_is_exit_2(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("stop", "-n", name, "-r", lxcpath=lxcpath)
    assert r.returncode == 2 and "not running" in r.stderr

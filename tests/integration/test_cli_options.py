"""LXC 5's command line, option by option, through the installed commands (issue 16).

Each test runs one option of one tool as a user would and checks its exit code and its
effect on the container (or the host files it names). The containers live in a
throwaway lxcpath; every one is killed and destroyed afterwards.
"""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import (
    HOST_DIR,
    bind_host,
    init_pid,
    lxc,
    make,
    tool,
    unique,
    wait_until,
)

pytestmark = pytest.mark.root

TOOLS = ("create", "destroy", "execute", "start", "stop", "freeze", "unfreeze", "kill",
         "monitor", "wait", "state", "info", "ps", "ls", "attach", "cgroup", "console",
         "update-config", "config", "checkconfig")
busybox = pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")


def run(name: str, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(f"lxc-{name}"), *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]


def start(lxcpath: Path, name: str, *args: str) -> None:
    """``lxc-start -d`` of the command named in ``args`` (the probe rootfs has no init)."""
    lxc("start", "-n", name, *args, lxcpath=lxcpath, check=True, timeout=30)


def ns_of(pid: int, ns: str) -> int:
    return os.stat(f"/proc/{pid}/ns/{ns}").st_ino


# ---- every tool -------------------------------------------------------------------------

@pytest.mark.parametrize("name", TOOLS)
def test_usage_help_and_version(name: str) -> None:
    usage = run(name, "--usage")
    assert usage.returncode == 0, usage.stderr
    assert usage.stdout.startswith(f"Usage: lxc-{name} ") and len(usage.stdout.splitlines()) == 1
    helped = run(name, "-?")
    assert helped.returncode == 0 and helped.stdout.startswith(f"Usage: lxc-{name} ")
    assert len(helped.stdout.splitlines()) > 2  # the whole help, as -h
    assert helped.stdout == run(name, "-h").stdout
    if name != "update-config":  # LXC's is a shell script without --version
        version = run(name, "--version")
        assert (version.returncode, version.stdout) == (0, "5.0.2\n")


# Every command-specific option LXC 5's man pages document for the tools lxcpy has (plus
# lxc-attach's -L/-c and lxc-start's --share-pid of lxc_attach.c / lxc_start.c), short and
# long spellings, with a value where it takes one
LXC5_OPTIONS = {
    "attach": ["-f F", "--rcfile F", "-a x86_64", "--arch x86_64", "-e", "-eCAP",
               "--elevated-privileges=CAP", "-s NETWORK", "--namespaces NETWORK", "-R",
               "--remount-sys-proc", "--keep-env", "--clear-env", "-v A=1", "--set-var A=1",
               "--keep-var A", "-u 1", "--uid 1", "-g 1", "--gid 1", "-L F", "--pty-log F",
               "-c C", "--context C"],
    "start": ["-d", "--daemon", "-F", "--foreground", "-p F", "--pidfile F", "-f F",
              "--rcfile F", "-c C", "--console C", "-L F", "--console-log F", "-s a=b",
              "--define a=b", "-C", "--close-all-fds", "--share-net x", "--share-ipc x",
              "--share-uts x", "--share-pid x"],
    "create": ["-f F", "--config F", "-t T", "--template T", "-B dir", "--bdev dir", "--dir D",
               "--lvname x", "--vgname x", "--thinpool x", "--fstype x", "--fssize x",
               "--rbdname x", "--rbdpool x", "--zfsroot x"],
    "destroy": ["-f", "--force", "-s", "--snapshots"],
    "execute": ["-f F", "--rcfile F", "-s a=b", "--define a=b", "-d", "--daemon", "-u 1",
                "--uid 1", "-g 1", "--gid 1"],
    "stop": ["-r", "--reboot", "-k", "--kill", "--nokill", "--nolock", "-W", "--nowait",
             "-t 1", "--timeout 1"],
    "info": ["-c k", "--config k", "-s", "--state", "-p", "--pid", "-i", "--ips", "-S",
             "--stats", "-H", "--no-humanize"],
    "wait": ["-s RUNNING", "--state RUNNING", "-t 1", "--timeout 1"],
    "monitor": ["-Q", "--quit"],
    "ls": ["-1", "--active", "--frozen", "--running", "--stopped", "--defined", "-f",
           "--fancy", "-F NAME", "--fancy-format NAME", "-g g", "--groups g", "--nesting=1",
           "--filter=x"],
    "console": ["-e a", "--escape a", "-t 0", "--tty 0"],
}


@pytest.mark.parametrize("name", sorted(LXC5_OPTIONS))
def test_every_lxc5_option_is_declared(name: str) -> None:
    """Parsed, not run: --usage ends the command once its line parsed (an unknown option
    fails first). What each one does is the business of the tests below."""
    for option in LXC5_OPTIONS[name]:
        result = run(name, "-n", "x", *option.split(), "--usage")
        assert (result.returncode, result.stderr) == (0, ""), (option, result.stderr)


def test_config_and_update_config_options_are_declared() -> None:
    for tool_name, option in (("config", "-l"), ("update-config", "-c /dev/null"),
                              ("update-config", "--config /dev/null")):
        assert run(tool_name, *option.split(), "--usage").returncode == 0


@pytest.mark.parametrize("name", ("start", "execute", "attach"))
def test_unknown_option_is_a_usage_error_never_a_command(
        name: str, probe_rootfs: Path, lxcpath: Path) -> None:
    """`lxc-start -z F` used to exec '-z'; now one line, exit 1, nothing run."""
    ct = make(lxcpath, rootfs=probe_rootfs)
    marker = lxcpath.parent / "ran"
    result = lxc(name, "-n", ct, "-z", "--", "sh", "-c", f"touch {marker}", lxcpath=lxcpath)
    assert result.returncode == 1
    assert result.stderr == f"lxc-{name}: No such option '-z'.\n"
    assert not marker.exists()
    assert lxc("state", "-n", ct, lxcpath=lxcpath).stdout == "STOPPED\n"


# ---- lxc-start --------------------------------------------------------------------------

def test_start_pidfile(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    pidfile = lxcpath.parent / "ct.pid"
    start(lxcpath, ct, "-p", str(pidfile), "--", "sleep", "100")
    supervisor = int(pidfile.read_text())
    # LXC writes the monitor's PID: the init's parent
    with open(f"/proc/{init_pid(lxcpath, ct)}/stat") as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == supervisor
    lxc("stop", "-n", ct, "-k", lxcpath=lxcpath, check=True)
    assert wait_until(lambda: not pidfile.exists())


def test_start_pidfile_unwritable_fails(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    result = lxc("start", "-n", ct, "-p", str(lxcpath.parent / "no" / "such" / "f"), "--",
                 "sleep", "100", lxcpath=lxcpath)
    assert result.returncode == 1 and "failed to write pidfile" in result.stderr
    assert lxc("state", "-n", ct, lxcpath=lxcpath).stdout == "STOPPED\n"


def test_start_console_log(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    log = lxcpath.parent / "console.log"
    start(lxcpath, ct, "-L", str(log), "--", "sh", "-c", "echo hello-console; sleep 100")
    assert wait_until(lambda: log.exists() and "hello-console" in log.read_text())


def test_start_console_none(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, ct, "-c", "none", "--", "sleep", "100")
    result = lxc("console", "-n", ct, "-t", "0", lxcpath=lxcpath, timeout=10)
    assert result.returncode == 1 and "no console" in result.stderr


def test_start_close_all_fds(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    secret = os.open(str(lxcpath.parent), os.O_RDONLY)  # a host directory: a way out
    try:
        subprocess.run([tool("lxc-start"), "-P", str(lxcpath), "-n", ct, "-C", "--",
                        "sleep", "100"], check=True, pass_fds=(secret,), timeout=30,
                       stdin=subprocess.DEVNULL, capture_output=True)
    finally:
        os.close(secret)
    fds = os.listdir(f"/proc/{init_pid(lxcpath, ct)}/fd")
    assert str(secret) not in fds or secret <= 2
    assert all(int(fd) <= 2 for fd in fds), fds


@pytest.mark.parametrize("ns", ("net", "ipc", "uts"))
def test_start_share_namespace(lxcpath: Path, probe_rootfs: Path, ns: str) -> None:
    first = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, first, "--", "sleep", "100")
    second = make(lxcpath, uts=ns != "uts",
                  rootfs=probe_rootfs)  # joining a uts namespace: no name of its own
    start(lxcpath, second, f"--share-{ns}", first, "--", "sleep", "100")
    one, two = init_pid(lxcpath, first), init_pid(lxcpath, second)
    assert ns_of(one, ns) == ns_of(two, ns)
    other = "ipc" if ns != "ipc" else "net"
    assert ns_of(one, other) != ns_of(two, other)


def test_start_share_by_pid(lxcpath: Path, probe_rootfs: Path) -> None:
    first = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, first, "--", "sleep", "100")
    second = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, second, "--share-net", str(init_pid(lxcpath, first)), "--", "sleep", "100")
    assert ns_of(init_pid(lxcpath, first), "net") == ns_of(init_pid(lxcpath, second), "net")


def test_start_share_pid_is_refused(lxcpath: Path, probe_rootfs: Path) -> None:
    first = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, first, "--", "sleep", "100")
    second = make(lxcpath, rootfs=probe_rootfs)
    result = lxc("start", "-n", second, "--share-pid", first, "--", "sleep", "100",
                 lxcpath=lxcpath)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "lxc.namespace.share.pid" in result.stderr
    assert lxc("state", "-n", second, lxcpath=lxcpath).stdout == "STOPPED\n"


def test_start_running_container_succeeds(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, ct, "--", "sleep", "100")
    pid = init_pid(lxcpath, ct)
    result = lxc("start", "-n", ct, "--", "sleep", "100", lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (0, f"lxc-start: {ct}: Container is already "
                                                     "running\n")
    assert init_pid(lxcpath, ct) == pid


# ---- lxc-create / lxc-destroy ---------------------------------------------------------

@pytest.mark.parametrize("bdev", ("dir", "none"))
def test_create_bdev_dir(lxcpath: Path, bdev: str) -> None:
    name = unique()
    lxc("create", "-n", name, "-t", "none", "-B", bdev, lxcpath=lxcpath, check=True)
    assert (lxcpath / name / "config").is_file()


@pytest.mark.parametrize("bdev", ("lvm", "zfs", "rbd"))
def test_create_other_bdevs_are_refused(lxcpath: Path, bdev: str) -> None:
    name = unique()
    result = lxc("create", "-n", name, "-t", "none", "-B", bdev, lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, f"lxc-create: {name}: backing store {bdev} is not supported by lxcpy "
           "(dir, overlay, btrfs, loop)\n")
    assert not (lxcpath / name).exists()


def test_create_block_options_need_a_block_store(lxcpath: Path) -> None:
    name = unique()
    result = lxc("create", "-n", name, "-t", "none", "-B", "dir", "--fssize", "1G",
                 lxcpath=lxcpath)
    assert result.returncode == 1 and "--fssize" in result.stderr
    assert not (lxcpath / name).exists()


@busybox
def test_create_dir_puts_the_rootfs_there(lxcpath: Path) -> None:
    name = unique()
    rootfs = lxcpath.parent / "elsewhere"
    lxc("create", "-n", name, "-t", "busybox", "-B", "dir", "--dir", str(rootfs),
        lxcpath=lxcpath, check=True, timeout=120)
    assert (rootfs / "bin" / "busybox").is_file()
    assert not (lxcpath / name / "rootfs").exists()
    config = (lxcpath / name / "config").read_text()
    assert f"lxc.rootfs.path = dir:{rootfs}\n" in config
    shutil.rmtree(rootfs)


def test_create_lxc_template_directory(lxcpath: Path, tmp_path: Path) -> None:
    """-t NAME runs LXC's lxc-NAME from its templates directory with LXC's arguments."""
    templates = tmp_path / "templates"
    templates.mkdir()
    script = templates / "lxc-fake"
    script.write_text("#!/bin/sh\n"
                      'echo "$@" > "$LXC_PATH/args"\n'
                      'mkdir -p "$LXC_ROOTFS_PATH/bin"\n'
                      'echo "lxc.environment = MADE_BY=fake" >> "$LXC_CONFIG_FILE"\n')
    script.chmod(0o755)
    name = unique()
    env = {**os.environ, "LXCPY_TEMPLATE_DIR": str(templates)}
    lxc("create", "-n", name, "-t", "fake", "--", "--release", "x", lxcpath=lxcpath,
        check=True, env=env)
    ct = lxcpath / name
    assert (ct / "args").read_text() == (f"--path={ct} --name={name} --rootfs={ct}/rootfs "
                                         "--release x\n")
    assert (ct / "rootfs" / "bin").is_dir()
    assert "lxc.environment = MADE_BY=fake\n" in (ct / "config").read_text()
    missing = lxc("create", "-n", unique(), "-t", "nosuch", lxcpath=lxcpath, env=env)
    assert missing.returncode == 1 and "template 'nosuch' not found" in missing.stderr


def test_destroy_snapshots(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    lxc("destroy", "-n", ct, "-s", lxcpath=lxcpath, check=True)
    assert not (lxcpath / ct).exists()


def test_stop_reboot_sends_the_reboot_signal(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, f"lxc.signal.reboot = SIGUSR1\n{bind_host(lxcpath.parent)}",
              rootfs=probe_rootfs)
    got = lxcpath.parent / "got"
    start(lxcpath, ct, "--", "sh", "-c", f"trap 'echo usr1 > {HOST_DIR}/got' USR1; "
                                         "while :; do sleep 0.1; done")
    assert wait_until(lambda: lxc("stop", "-n", ct, "-r", lxcpath=lxcpath).returncode == 0
                      and got.exists())
    assert got.read_text() == "usr1\n"
    stopped = make(lxcpath, rootfs=probe_rootfs)
    assert lxc("stop", "-n", stopped, "-r", lxcpath=lxcpath).returncode == 2


# ---- lxc-info ---------------------------------------------------------------------------

def test_info_raw_single_values(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, "lxc.tty.max = 3\n", rootfs=probe_rootfs)
    assert lxc("info", "-n", ct, "-sH", lxcpath=lxcpath).stdout == "STOPPED\n"
    start(lxcpath, ct, "--", "sleep", "100")
    assert lxc("info", "-n", ct, "-sH", lxcpath=lxcpath).stdout == "RUNNING\n"
    script = f'[ "$({tool("lxc-info")} -P {lxcpath} -n {ct} -sH)" = RUNNING ]'
    assert subprocess.run(["sh", "-c", script], timeout=30).returncode == 0
    pid = init_pid(lxcpath, ct)
    assert lxc("info", "-n", ct, "-p", "-H", lxcpath=lxcpath).stdout == f"{pid}\n"
    both = lxc("info", "-n", ct, "-s", "-p", "-H", lxcpath=lxcpath).stdout
    assert both == f"State:          RUNNING\nPID:            {pid}\n"  # two: labelled
    assert lxc("info", "-n", ct, "-H", "-c", "lxc.tty.max", lxcpath=lxcpath).stdout == "3\n"
    assert lxc("info", "-n", ct, "-c", "lxc.tty.max", lxcpath=lxcpath).stdout == \
        "lxc.tty.max = 3\n"
    two = lxc("info", "-n", ct, "-H", "-c", "lxc.tty.max", "-c", "lxc.tty.max",
              lxcpath=lxcpath).stdout
    assert two == "lxc.tty.max = 3\nlxc.tty.max = 3\n"


@busybox
def test_info_link_lines(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, "lxc.net.0.type = veth\nlxc.net.0.flags = up\n"
                       "lxc.net.0.ipv4.address = 10.77.0.2/24\n", rootfs=probe_rootfs)
    start(lxcpath, ct, "--", "sleep", "100")
    out = lxc("info", "-n", ct, lxcpath=lxcpath, check=True).stdout
    link = re.search(r"^Link:           (\S+)\n TX bytes:      (\d+) bytes\n"
                     r" RX bytes:      (\d+) bytes\n Total bytes:   (\d+) bytes$", out, re.M)
    assert link, out
    host = link.group(1)
    assert host in proc_net_dev()  # the host end of the veth
    tx, rx, total = (int(link.group(i)) for i in (2, 3, 4))
    assert total == tx + rx
    # the container sends: its TX bytes are what the host end received
    before = proc_net_dev()[host][0]
    lxc("attach", "-n", ct, "--", "busybox", "ping", "-c1", "-W1", "10.77.0.9",
        lxcpath=lxcpath, timeout=30)
    assert wait_until(lambda: proc_net_dev()[host][0] > before)
    received = proc_net_dev()[host][0]
    raw = lxc("info", "-n", ct, "-S", "-H", lxcpath=lxcpath, check=True).stdout
    block = re.search(rf"^Link:           {host}\n TX bytes:      (\d+)\n"
                      r" RX bytes:      (\d+)\n Total bytes:   (\d+)$", raw, re.M)
    assert block, raw
    # (the container's IPv6 autoconfiguration may send a packet meanwhile)
    assert received <= int(block.group(1)) <= proc_net_dev()[host][0]
    assert int(block.group(3)) == int(block.group(1)) + int(block.group(2))


def proc_net_dev() -> dict[str, tuple[int, int]]:
    """interface -> (rx_bytes, tx_bytes) of the test's network namespace."""
    out = {}
    for text in Path("/proc/self/net/dev").read_text().splitlines()[2:]:
        name, _, fields = text.partition(":")
        values = fields.split()
        out[name.strip()] = (int(values[0]), int(values[8]))
    return out


# ---- freeze / unfreeze / wait -----------------------------------------------------------

def test_second_freeze_and_unfreeze_succeed(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    start(lxcpath, ct, "--", "sleep", "100")
    for _ in range(2):
        assert lxc("freeze", "-n", ct, lxcpath=lxcpath).returncode == 0
        assert lxc("state", "-n", ct, lxcpath=lxcpath).stdout == "FROZEN\n"
    for _ in range(2):
        assert lxc("unfreeze", "-n", ct, lxcpath=lxcpath).returncode == 0
        assert lxc("state", "-n", ct, lxcpath=lxcpath).stdout == "RUNNING\n"


def test_wait_timeout_prints_one_line(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    result = lxc("wait", "-n", ct, "-s", "RUNNING", "-t", "0.2", lxcpath=lxcpath)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"lxc-wait: {ct}: timed out after 0.2 seconds waiting for state "
                             "RUNNING\n")


def test_ls_nesting(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, rootfs=probe_rootfs)
    plain = lxc("ls", "-1", lxcpath=lxcpath, check=True).stdout
    assert plain == f"{ct}\n"
    assert lxc("ls", "-1", "--nesting=2", lxcpath=lxcpath, check=True).stdout == plain


# ---- lxc-attach -------------------------------------------------------------------------

def attach(lxcpath: Path, ct: str, *args: str,
           **kwargs: object) -> subprocess.CompletedProcess[str]:
    return lxc("attach", "-n", ct, *args, lxcpath=lxcpath, timeout=30, **kwargs)


@pytest.fixture
def running(lxcpath: Path, probe_rootfs: Path) -> str:
    ct = make(lxcpath, "lxc.mount.auto = proc:rw\nlxc.cap.drop = sys_time\n",
              rootfs=probe_rootfs)
    start(lxcpath, ct, "--", "sleep", "100")
    return ct


def cap_bounding(status: str) -> int:
    return int(re.search(r"^CapBnd:\s+([0-9a-f]+)$", status, re.M).group(1), 16)  # type: ignore[union-attr]


SYS_TIME = 1 << 25


def test_attach_uid_gid(lxcpath: Path, running: str) -> None:
    out = attach(lxcpath, running, "-u", "1000", "-g", "1001", "--", "sh", "-c",
                 "id -u; id -g; id -G; grep CapEff /proc/self/status").stdout
    assert out.splitlines()[:3] == ["1000", "1001", "1001"]
    assert out.splitlines()[3].split()[1] == "0000000000000000"  # no capability left
    assert attach(lxcpath, running, "--uid=7", "--", "id", "-u").stdout == "7\n"


def test_attach_rcfile_init_uid(lxcpath: Path, running: str) -> None:
    conf = lxcpath.parent / "rc.conf"
    conf.write_text("lxc.init.uid = 1234\nlxc.init.gid = 1235\n")
    out = attach(lxcpath, running, "-f", str(conf), "--", "sh", "-c", "id -u; id -g").stdout
    assert out == "1234\n1235\n"
    bad = lxcpath.parent / "bad.conf"
    bad.write_text("lxc.bogus = 1\n")
    result = attach(lxcpath, running, "-f", str(bad), "--", "true")
    assert result.returncode == 1 and f"{bad}:1" in result.stderr


def test_attach_arch(lxcpath: Path, running: str) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("linux32 personality checked on x86_64")
    assert attach(lxcpath, running, "-a", "i686", "--", "uname", "-m").stdout == "i686\n"
    assert attach(lxcpath, running, "--", "uname", "-m").stdout == "x86_64\n"
    bad = attach(lxcpath, running, "-a", "sparc", "--", "true")
    assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1


def test_attach_namespaces(lxcpath: Path, running: str) -> None:
    marker = lxcpath.parent / "host-only"
    marker.write_text("x\n")
    out = attach(lxcpath, running, "-s", "UTSNAME", "--", "sh", "-c",
                 f"hostname; cat {marker}; cat /proc/self/cgroup").stdout.splitlines()
    assert out[0] == running[:60]  # the container's uts namespace
    assert out[1] == "x"  # the host's file system (no MOUNT)
    pid = init_pid(lxcpath, running)
    probe = attach(lxcpath, running, "-s", "NETWORK|IPC", "--", "sh", "-c",
                   "readlink /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/uts").stdout
    net, ipc, uts = probe.split()
    assert net == os.readlink(f"/proc/{pid}/ns/net") and ipc == os.readlink(f"/proc/{pid}/ns/ipc")
    assert uts == os.readlink("/proc/self/ns/uts")
    bad = attach(lxcpath, running, "-s", "BOGUS", "--", "true")
    assert bad.returncode == 1 and "invalid namespace 'BOGUS'" in bad.stderr


def test_attach_remount_sys_proc(lxcpath: Path, probe_rootfs: Path) -> None:
    ct = make(lxcpath, "lxc.net.0.type = veth\nlxc.net.0.name = eth9\n", rootfs=probe_rootfs)
    start(lxcpath, ct, "--", "sleep", "100")
    plain = attach(lxcpath, ct, "-s", "NETWORK", "--", "ls", "/sys/class/net").stdout.split()
    assert "eth9" not in plain  # the host's /sys
    fresh = attach(lxcpath, ct, "-s", "NETWORK", "-R", "--", "ls", "/sys/class/net").stdout
    assert sorted(fresh.split()) == ["eth9", "lo"]
    assert "eth9" not in os.listdir("/sys/class/net")  # the host's mounts untouched


def test_attach_elevated_privileges(lxcpath: Path, running: str) -> None:
    status = "cat /proc/self/status /proc/self/cgroup"
    confined = attach(lxcpath, running, "--", "sh", "-c", status).stdout
    assert not cap_bounding(confined) & SYS_TIME  # dropped by the container
    assert "/.." not in confined  # in the container's cgroup
    caps = attach(lxcpath, running, "-e", "CAP", "--", "sh", "-c", status).stdout
    assert cap_bounding(caps) & SYS_TIME and "/.." not in caps
    cgroup = attach(lxcpath, running, "-e", "CGROUP", "--", "sh", "-c", status).stdout
    assert not cap_bounding(cgroup) & SYS_TIME and "/.." in cgroup  # outside its cgroup
    both = attach(lxcpath, running, "-e", "--", "sh", "-c", status).stdout
    assert cap_bounding(both) & SYS_TIME and "/.." in both
    bad = attach(lxcpath, running, "-e", "ROOT", "--", "true")
    assert bad.returncode == 1 and "invalid privilege 'ROOT'" in bad.stderr


def test_attach_keep_var(lxcpath: Path, running: str) -> None:
    env = {**os.environ, "KEEP_ME": "1", "DROP_ME": "2"}
    out = attach(lxcpath, running, "--clear-env", "--keep-var", "KEEP_ME", "-v", "SET=3",
                 "--", "env", env=env).stdout.splitlines()
    assert "KEEP_ME=1" in out and "SET=3" in out and "container=lxc" in out
    assert not any(line.startswith("DROP_ME=") for line in out)


def test_attach_selinux_context_is_refused(lxcpath: Path, running: str) -> None:
    marker = lxcpath.parent / "ran"
    result = attach(lxcpath, running, "-c", "system_u:system_r:container_t:s0", "--",
                    "touch", str(marker))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "SELinux" in result.stderr and not marker.exists()


def test_attach_pty_log(lxcpath: Path, running: str) -> None:
    log = lxcpath.parent / "attach.log"
    log.write_text("before\n")
    result = attach(lxcpath, running, "-L", str(log), "--", "sh", "-c",
                    "echo out; echo err >&2; exit 3")
    assert (result.returncode, result.stdout) == (3, "out\nerr\n")
    assert log.read_text() == "before\nout\nerr\n"
    link = lxcpath.parent / "link.log"
    link.symlink_to(log)
    refused = attach(lxcpath, running, "-L", str(link), "--", "echo", "x")
    assert refused.returncode == 1 and "cannot open the log" in refused.stderr
    assert log.read_text() == "before\nout\nerr\n"


# ---- lxc-config / lxc-checkconfig -------------------------------------------------------

def test_config_items(tmp_path: Path) -> None:
    conf = tmp_path / "lxc.conf"
    conf.write_text(f"lxc.lxcpath = {tmp_path}/ct\nlxc.bdev.lvm.vg = vg0\n")
    env = {k: v for k, v in os.environ.items() if k != "LXC_LXCPATH"}
    env["LXC_GLOBAL_CONF"] = str(conf)
    listed = run("config", "-l", env=env)
    assert listed.stdout.split() == ["lxc.default_config", "lxc.lxcpath", "lxc.bdev.lvm.vg",
                                     "lxc.bdev.lvm.thin_pool", "lxc.bdev.zfs.root",
                                     "lxc.cgroup.use", "lxc.cgroup.pattern"]
    expect = {"lxc.lxcpath": f"{tmp_path}/ct", "lxc.bdev.lvm.vg": "vg0",
              "lxc.bdev.lvm.thin_pool": "lxc", "lxc.bdev.zfs.root": "lxc",
              "lxc.default_config": "/etc/lxc/default.conf",
              "lxc.cgroup.use": "lxc.cgroup.use is not set.",
              "lxc.cgroup.pattern": "lxc.cgroup.pattern is not set."}
    for item, value in expect.items():
        result = run("config", item, env=env)
        assert (result.returncode, result.stdout) == (0, value + "\n"), item
    bogus = run("config", "lxc.bogus", env=env)
    assert (bogus.returncode, bogus.stderr) == (1, "lxc-config: Unknown configuration item: "
                                                   "lxc.bogus\n")


def test_checkconfig_reads_the_kernel_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_NAMESPACES=y\n"
                      "CONFIG_UTS_NS=y\nCONFIG_PID_NS=y\nCONFIG_CGROUPS=y\nCONFIG_MACVLAN=m\n"
                      "# CONFIG_VETH is not set\n")
    result = run("checkconfig", env={**os.environ, "CONFIG": str(config)})
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == ["LXC version 5.0.2", f"lxcpy version {lxcpy_version()}"]
    for expected in ("Namespaces: enabled", "Utsname namespace: enabled",
                     "Ipc namespace: required", "User namespace: missing",
                     "Veth pair device: missing", "Cgroups: enabled",
                     "--- Namespaces ---", "--- Control groups ---", "--- Misc ---"):
        assert expected in lines, expected
    assert any(line.startswith("Macvlan: enabled") for line in lines)
    assert "\033[" not in result.stdout  # no colour without a terminal


def test_checkconfig_probes_without_a_config_and_colours_a_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "CONFIG": str(tmp_path / "none")}
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([tool("lxc-checkconfig")], stdout=slave, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
    out = b"".join(chunks).decode()
    assert f"Kernel configuration not found at {tmp_path}/none; searching..." in out
    # this host's namespaces exist: the probe says so, in green on a terminal
    assert "Pid namespace: \033[1;32menabled\033[0;39m" in out


def lxcpy_version() -> str:
    from lxcpy import __version__

    return __version__

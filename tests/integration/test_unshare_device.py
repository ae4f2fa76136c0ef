"""lxc-unshare and lxc-device: new namespaces for a command, and a running container's
devices (network interfaces made here, in the test's own network namespace)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.hostnet import links, require_private_netns
from tests.integration.helpers import tool, unique, wait_until

pytestmark = pytest.mark.root


def unshare(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("lxc-unshare"), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def veth() -> Iterator[tuple[str, str]]:
    """A veth pair made in the test's own netns (never the host's: require_private_netns)."""
    require_private_netns()
    before = links()
    a, b = unique("va")[:12], unique("vb")[:12]
    ip("link", "add", a, "type", "veth", "peer", "name", b)
    yield a, b
    ip("link", "del", a, check=False)
    # the kernel deletes a dead namespace's veth ends asynchronously: allow it a moment
    assert wait_until(lambda: links() == before, 5), links() ^ before




def test_namespaces_differ_and_status_passes() -> None:
    here = {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in ("mnt", "pid", "uts", "ipc", "net")}
    script = "for n in mnt pid uts ipc net; do readlink /proc/self/ns/$n; done; exit 7"
    r = unshare("-s", "MOUNT|PID|UTSNAME|IPC|NETWORK", "--", "sh", "-c", script)
    assert r.returncode == 7, r.stderr
    there = r.stdout.split()
    assert len(there) == 5
    for ns, link in zip(here, there, strict=True):
        assert link.startswith(f"{ns}:[") and link != here[ns], (ns, link)


def test_only_the_named_namespaces() -> None:
    r = unshare("-s", "UTSNAME", "--", "sh", "-c", "readlink /proc/self/ns/uts /proc/self/ns/net")
    assert r.returncode == 0, r.stderr
    uts, net = r.stdout.split()
    assert uts != os.readlink("/proc/self/ns/uts")
    assert net == os.readlink("/proc/self/ns/net")


def test_hostname() -> None:
    r = unshare("-s", "UTSNAME", "-H", "inside-box", "--", "hostname")
    assert (r.returncode, r.stdout) == (0, "inside-box\n"), r.stderr
    assert os.uname().nodename != "inside-box"


def test_fresh_proc_pid_1() -> None:
    r = unshare("-s", "MOUNT|PID", "-M", "--", "sh", "-c",
                "echo $$; ls /proc | grep -c '^[0-9]'; test -d /sys/kernel")
    assert r.returncode == 0, r.stderr
    pid, count = r.stdout.split()
    assert pid == "1" and int(count) <= 3


def test_user_namespace_root() -> None:
    r = unshare("-s", "USER", "--", "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    uid, *mapping = r.stdout.split()
    assert uid == "0" and mapping == ["0", str(os.geteuid()), "1"]


def test_run_as_user() -> None:
    r = unshare("-s", "MOUNT", "-u", "nobody", "--", "id", "-un")
    assert (r.returncode, r.stdout) == (0, "nobody\n"), r.stderr


def test_interface_moves(veth: tuple[str, str]) -> None:
    a, _ = veth
    r = unshare("-s", "NETWORK", "-i", a, "--", "ip", "-o", "link", "show")
    assert r.returncode == 0, r.stderr
    assert f" {a}@" in r.stdout or f" {a}:" in r.stdout
    # the netns died with the command: its end of the pair went with it
    assert ip("link", "show", a, check=False).returncode != 0


def test_daemonize(tmp_path: Path) -> None:
    out = tmp_path / "done"
    r = unshare("-s", "UTSNAME", "-d", "--", "sh", "-c", f"sleep 0.2; hostname > {out}")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert wait_until(lambda: out.exists() and out.read_text() != "", timeout=10)


@pytest.mark.parametrize(("args", "line"), [
    (["-s", "MOUNT|BOGUS", "--", "true"],
     "lxc-unshare: -s MOUNT|BOGUS: unknown namespace 'BOGUS' (one of MOUNT, PID, UTSNAME, "
     "IPC, USER, NETWORK)"),
    (["-s", "MOUNT", "-H", "x", "--", "true"],
     "lxc-unshare: -H needs a new UTS namespace (-s UTSNAME)"),
    (["-s", "MOUNT", "-M", "--", "true"],
     "lxc-unshare: -M needs new mount and PID namespaces (-s MOUNT|PID)"),
    (["-s", "NETWORK", "-i", "nosuchif0", "--", "true"],
     "lxc-unshare: -i nosuchif0: no such network interface"),
    (["-s", "MOUNT", "--", "/nonexistent"],
     "lxc-unshare: /nonexistent: No such file or directory"),
    (["-s", "MOUNT"], "lxc-unshare: no command to run (lxc-unshare -s NAMESPACES -- COMMAND)"),
])
def test_refusals_one_line(args: list[str], line: str) -> None:
    r = unshare(*args)
    assert r.returncode != 0 and (r.stdout, r.stderr) == ("", line + "\n")

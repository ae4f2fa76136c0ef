"""What a program inside the container can reach of the host: no fd, no cwd, no exe.

* Only fds 0, 1 and 2 reach the program of lxc-execute, lxc-start and lxc-attach, also when
  the caller had more open (a host directory among them: the runc CVE-2024-21626 class).
* Its cwd is inside the container (``/`` with a rootfs), never a host directory.
* ``/proc/<pid>/exe`` of an attaching lxc-attach (the host's Python) cannot be opened from
  inside the container (the runc CVE-2019-5736 class), also when the container shares the
  host's PID namespace; the host's interpreter behind an lxc-execute's init cannot be
  written.

The probe lists the fds of the shell that runs it (``ls /proc/$$/fd``), not ls's own: what
ls itself opens (one directory fd for GNU's and busybox's, more for others) does not count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults._helpers import descendants, kill_pids, kill_tree, tool
from tests.integration.helpers import busybox_rootfs, lxc, make, wait_until

pytestmark = pytest.mark.root

# the fds first: the shell opens none of its own before its first command
PROBE = "ls /proc/$$/fd; echo CWD=$(pwd); ls"
EXPECTED_FDS = ["0", "1", "2"]


def parse_probe(out: str) -> tuple[list[str], str, list[str]]:
    """(fd numbers, cwd, names in the cwd) from PROBE's output."""
    before, _, after = out.partition("CWD=")
    cwd, _, listing = after.partition("\n")
    return sorted(before.split(), key=int), cwd.strip(), listing.split()


@contextmanager
def extra_fds(host_dir: Path) -> Iterator[tuple[int, ...]]:
    """Fds a careless caller has open: a host directory, a host file, a pipe."""
    opened = [os.open(host_dir, os.O_RDONLY | os.O_DIRECTORY),
              os.open(host_dir / "HOSTMARKER", os.O_RDONLY)]
    r, w = os.pipe()
    opened += [r, w]
    try:
        yield tuple(opened)
    finally:
        for fd in opened:
            os.close(fd)


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    d = tmp_path / "hostcwd"
    d.mkdir()
    (d / "HOSTMARKER").write_text("host\n")
    return d


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = busybox_rootfs(tmp_path / "rootfs")
    (root / "ROOTMARKER").write_text("inside\n")
    return root


def rootfs_keys(root: Path | None) -> str:
    if root is None:
        return ""
    return f"lxc.rootfs.path = {root}\nlxc.mount.auto = proc:mixed sys:ro\n"


def run(argv: list[str], cwd: Path, fds: tuple[int, ...] = (),
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          pass_fds=fds, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("with_rootfs", [True, False], ids=["rootfs", "no-rootfs"])
def test_execute_sees_only_std_fds_and_its_own_cwd(lxcpath: Path, tmp_path: Path,
                                                   host_dir: Path, rootfs: Path,
                                                   with_rootfs: bool) -> None:
    name = make(lxcpath, rootfs_keys(rootfs if with_rootfs else None), prefix="in")
    with extra_fds(host_dir) as fds:
        write_exe = "; echo x >> /proc/1/exe && echo WROTE-EXE" if with_rootfs else ""
        r = run([tool("lxc-execute"), "-P", str(lxcpath), "-n", name, "--",
                 "/bin/sh", "-c", PROBE + write_exe + "; true"], host_dir, fds)
    assert r.returncode == 0, r.stderr
    fd_list, cwd, listing = parse_probe(r.stdout)
    assert fd_list == EXPECTED_FDS, r.stdout
    if with_rootfs:
        assert cwd == "/" and "ROOTMARKER" in listing and "HOSTMARKER" not in listing, r.stdout
        # pid 1 is lxc-execute's init, the host's Python: it must not be writable
        assert "WROTE-EXE" not in r.stdout, r.stdout
    else:  # like LXC: no rootfs, the caller's cwd (the host is the container's root)
        assert cwd == str(host_dir), r.stdout


@contextmanager
def running(lxcpath: Path, name: str, cwd: Path, fds: tuple[int, ...] = ()) -> Iterator[None]:
    """lxc-start -d with a named command; always stopped again."""
    r = run([tool("lxc-start"), "-P", str(lxcpath), "-n", name, "-d", "--",
             "/bin/sleep", "300"], cwd, fds)
    assert r.returncode == 0, r.stderr
    try:
        assert wait_until(lambda: "RUNNING" in lxc("info", "-n", name, "-s",
                                                   lxcpath=lxcpath).stdout, 10)
        yield
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)


def attach(lxcpath: Path, name: str, script: str, cwd: Path,
           fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    return run([tool("lxc-attach"), "-P", str(lxcpath), "-n", name, "--",
                "/bin/sh", "-c", script], cwd, fds)


def test_start_and_attach_see_only_std_fds_and_container_cwd(lxcpath: Path, tmp_path: Path,
                                                             host_dir: Path,
                                                             rootfs: Path) -> None:
    name = make(lxcpath, rootfs_keys(rootfs), prefix="in")
    with extra_fds(host_dir) as fds, running(lxcpath, name, host_dir, fds):
        r = attach(lxcpath, name, "ls /proc/1/fd; echo CWD=$(readlink /proc/1/cwd)", host_dir)
        assert r.returncode == 0, r.stderr
        init_fds, init_cwd, _ = parse_probe(r.stdout)
        assert init_fds == ["0", "1", "2"], r.stdout  # lxc-start's init
        assert init_cwd == "/", r.stdout
        r = attach(lxcpath, name, PROBE + "; true", host_dir, fds)
        assert r.returncode == 0, r.stderr
        fd_list, cwd, listing = parse_probe(r.stdout)
        assert fd_list == EXPECTED_FDS, r.stdout
        assert cwd == "/" and "ROOTMARKER" in listing and "HOSTMARKER" not in listing, r.stdout


def python_exe() -> str:
    return os.path.realpath(sys.executable)


@pytest.mark.parametrize("variant", ["own-pidns", "host-pidns-no-ptrace"])
def test_attaching_process_exe_is_out_of_reach(lxcpath: Path, tmp_path: Path,
                                               host_dir: Path, rootfs: Path,
                                               variant: str) -> None:
    extra = ("lxc.namespace.keep = pid\nlxc.cap.drop = sys_ptrace\n"
             if variant == "host-pidns-no-ptrace" else "")
    name = make(lxcpath, rootfs_keys(rootfs) + extra, prefix="in")
    with running(lxcpath, name, host_dir):
        holder = subprocess.Popen(
            [tool("lxc-attach"), "-P", str(lxcpath), "-n", name, "--", "/bin/sh", "-c",
             "echo ready; exec sleep 60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, cwd=host_dir)
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
            # the attaching process: lxc-attach's child, parent of the program
            kids = [p for p in descendants(holder.pid)
                    if os.path.realpath(f"/proc/{p}/exe") == python_exe()]
            assert kids, "no attaching process found"
            attacher = kids[-1]
            script = (f"cat /proc/{attacher}/exe > /dev/null && echo OPENED-ATTACHER; "
                      "for p in /proc/[0-9]*; do "
                      "  echo EXE $(readlink $p/exe); "
                      "  case $(readlink $p/exe) in *python*) "
                      "    cat $p/exe > /dev/null && echo OPENED-PYTHON $p;; esac; "
                      "done; true")
            r = attach(lxcpath, name, script, host_dir)
            assert r.returncode == 0, r.stderr
            assert "OPENED" not in r.stdout, r.stdout
            if variant == "own-pidns":  # not even visible
                assert python_exe() not in r.stdout, r.stdout
            else:  # visible (shared PID namespace), yet out of reach
                assert f"/proc/{attacher}/exe" in r.stderr, (r.stdout, r.stderr)
        finally:
            kill_pids(descendants(holder.pid))
            kill_tree(holder)

"""lxc-attach joins the RUNNING container's confinement, never the config file on disk.

The containers run on the probe rootfs (busybox), except the seccomp one whose probe is a
Python program (raw syscalls), which runs the host's Python without a rootfs."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lxcpy.paths import ContainerPaths
from tests.integration.helpers import lxc, rootfs_keys, unique, wait_until

pytestmark = pytest.mark.root

COMMON = Path(__file__).resolve().parents[1] / "data" / "lxc-5.0.2" / "common.seccomp"
SYS_ADMIN = 1 << 21


@contextmanager
def running(lxcpath: Path, tmp_path: Path, extra: str, *start_args: str,
            create: bool = False, rootfs: Path | None = None) -> Iterator[tuple[str, int]]:
    """A daemonised container running `sleep` (on ``rootfs``, else in the host's tree);
    (name, host PID of its init). Stopped after."""
    name = unique("ac")
    config = tmp_path / f"{name}.conf"
    config.write_text(f"lxc.uts.name = {name}\n{rootfs_keys(rootfs) if rootfs else ''}{extra}")
    if create:
        lxc("create", "-n", name, "-f", str(config), lxcpath=lxcpath, check=True)
        args = ["-n", name]
    else:  # LXC's way without lxc-create: the config only from -f
        args = ["-n", name, "-f", str(config)]
    lxc("start", *args, *start_args, "-d", "--", "sleep", "1000", lxcpath=lxcpath, check=True)
    try:
        pid = int(lxc("info", "-n", name, "-p", "-H", lxcpath=lxcpath, check=True).stdout)
        yield name, pid
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)


def status(text: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def proc_status(pid: int | str) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, v in status(f.read()).items()}


def attach_status(lxcpath: Path, name: str) -> dict[str, str]:
    r = lxc("attach", "-n", name, "--", "cat", "/proc/self/status", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    return {k: v.strip() for k, v in status(r.stdout).items()}


def test_caps_dropped_with_s_at_start_are_dropped_in_the_attach(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    with running(lxcpath, tmp_path, "", "-s", "lxc.cap.drop=sys_admin",
                 rootfs=probe_rootfs) as (name, pid):
        init = proc_status(pid)
        assert not int(init["CapBnd"], 16) & SYS_ADMIN
        got = attach_status(lxcpath, name)
        assert got["CapBnd"] == init["CapBnd"]
        for field in ("CapEff", "CapPrm", "CapInh"):
            assert not int(got[field], 16) & SYS_ADMIN, field
        assert int(got["CapAmb"], 16) == 0
        # and the capability is really gone: a mount needs CAP_SYS_ADMIN
        r = lxc("attach", "-n", name, "--", "mount", "-t", "tmpfs", "x", "/mnt",
                lxcpath=lxcpath)
        assert r.returncode != 0


def test_the_config_file_edited_after_the_start_changes_nothing(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    with running(lxcpath, tmp_path, "lxc.cap.drop = sys_admin net_raw\n",
                 create=True, rootfs=probe_rootfs) as (name, pid):
        stored = Path(ContainerPaths(name, str(lxcpath)).config)
        stored.write_text(stored.read_text().replace("lxc.cap.drop = sys_admin net_raw\n", ""))
        assert attach_status(lxcpath, name)["CapBnd"] == proc_status(pid)["CapBnd"]


def test_no_new_privs_reaches_the_attach(lxcpath: Path, probe_rootfs: Path,
                                         tmp_path: Path) -> None:
    with running(lxcpath, tmp_path, "", "-s", "lxc.no_new_privs=1",
                 rootfs=probe_rootfs) as (name, pid):
        assert proc_status(pid)["NoNewPrivs"] == "1"
        assert attach_status(lxcpath, name)["NoNewPrivs"] == "1"
    with running(lxcpath, tmp_path, "", rootfs=probe_rootfs) as (name, pid):
        assert attach_status(lxcpath, name)["NoNewPrivs"] == "0"


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers of x86_64")
def test_the_attach_runs_under_the_same_seccomp_filter(lxcpath: Path, tmp_path: Path) -> None:
    from tests.integration.test_seccomp import PROBE

    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    with running(lxcpath, tmp_path, f"lxc.seccomp.profile = {COMMON}\n") as (name, pid):
        assert proc_status(pid)["Seccomp"] == "2"
        recorded = Path(ContainerPaths(name, str(lxcpath)).seccomp)
        mode = recorded.stat()
        assert stat.S_IMODE(mode.st_mode) == 0o600 and mode.st_uid == 0
        assert attach_status(lxcpath, name)["Seccomp"] == "2"
        r = lxc("attach", "-n", name, "--", sys.executable, str(probe), lxcpath=lxcpath)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["status=2", "obh=1", "finit=1"]
    assert not recorded.exists()  # removed at stop


def test_an_unfiltered_container_gives_an_unfiltered_attach(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    with running(lxcpath, tmp_path, "", rootfs=probe_rootfs) as (name, _pid):
        assert attach_status(lxcpath, name)["Seccomp"] == "0"
        assert not Path(ContainerPaths(name, str(lxcpath)).seccomp).exists()


def test_a_lost_filter_record_refuses_the_attach(lxcpath: Path, probe_rootfs: Path,
                                                 tmp_path: Path) -> None:
    with running(lxcpath, tmp_path, f"lxc.seccomp.profile = {COMMON}\n",
                 rootfs=probe_rootfs) as (name, _pid):
        os.unlink(ContainerPaths(name, str(lxcpath)).seccomp)
        r = lxc("attach", "-n", name, "--", "true", lxcpath=lxcpath)
        assert r.returncode == 1
        assert "refusing to attach unfiltered" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_a_killed_supervisors_filter_record_is_removed_by_recovery(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    name = unique("ac")
    config = tmp_path / f"{name}.conf"
    config.write_text(f"lxc.uts.name = {name}\n{rootfs_keys(probe_rootfs)}"
                      f"lxc.seccomp.profile = {COMMON}\n")
    recorded = Path(ContainerPaths(name, str(lxcpath)).seccomp)
    r = lxc("execute", "-n", name, "-f", str(config), "--", "sleep", "1000", lxcpath=lxcpath,
            env={**os.environ, "LXCPY_TEST_KILL_AT": "running"})
    assert r.returncode == -9
    assert recorded.exists()  # left behind by the SIGKILLed supervisor
    # any command that looks at the container recovers it, once the dying init let go
    assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath) is not None
                      and not recorded.exists(), timeout=10)


def test_attach_runs_without_the_site_module(lxcpath: Path, probe_rootfs: Path,
                                             tmp_path: Path) -> None:
    """A regular install's launchers run `python -IS`: no site module, so nothing it imports
    (warnings, which os.execvpe's PATH search needs) is loaded before the attach enters the
    container's mount namespace, where the host's Python files are out of reach. (The
    editable install's launchers run site, which hides this.)"""
    import subprocess

    import lxcpy

    repo = str(Path(lxcpy.__file__).resolve().parents[1])
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    code = ("import sys; sys.path[:0] = sys.argv[1:3]; del sys.argv[1:3]; "
            "sys.argv[0] = 'lxc-attach'; from lxcpy.cli.attach import main; sys.exit(main())")
    with running(lxcpath, tmp_path, "", rootfs=probe_rootfs) as (name, _pid):
        r = subprocess.run([sys.executable, "-IS", "-c", code, repo, site_packages,
                            "-P", str(lxcpath), "-n", name, "--", "echo", "attached"],
                           capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "attached\n", "")

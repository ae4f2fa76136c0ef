"""A real OCI client: podman drives lxcpy-oci.

Every podman call uses a storage, run and tmp directory of the test's own (vfs driver,
file events: nothing of the host's podman is touched), ``--network none`` (podman never
makes its bridge on the host), cgroupfs, and rlimits root can set without
CAP_SYS_RESOURCE. The image is made offline: ``podman import`` of a busybox-static tree.
podman is installed with apt-get when missing (it takes a while; set
LXCPY_TEST_NO_INSTALL=1 to skip these tests instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import tool, unique, wait_until

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
pytestmark = [pytest.mark.root, pytest.mark.timeout(900), pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(BUSYBOX), reason="needs root and busybox")]


def _podman() -> str:
    found = shutil.which("podman")
    if found:
        return found
    if os.environ.get("LXCPY_TEST_NO_INSTALL"):
        pytest.skip("podman is not installed")
    subprocess.run(["apt-get", "install", "-y", "podman"], check=True, capture_output=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=800)
    return shutil.which("podman") or pytest.fail("podman did not install")


class Podman:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.argv = [_podman(), "--root", str(base / "storage"), "--runroot",
                     str(base / "run"), "--tmpdir", str(base / "tmp"), "--storage-driver",
                     "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--runtime", tool("lxcpy-oci")]

    def __call__(self, *args: str, timeout: float = 120,
                 check: bool = False) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([*self.argv, *args], capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert out.returncode == 0, (args, out.stdout, out.stderr)
        return out

    def run(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self("run", "--network", "none", *LIMITS, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Podman, str]]:
    base = tmp_path_factory.mktemp("podman")
    tree = base / "rootfs"
    for d in ("bin", "proc", "dev", "sys", "tmp", "etc", "run"):
        (tree / d).mkdir(parents=True)
    shutil.copy(BUSYBOX, tree / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (tree / "bin" / applet).symlink_to("busybox")
    tarball = base / "busybox.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(tree, arcname=".")
    p = Podman(base)
    image = f"localhost/lxcpy-oci-test-{unique('i')}:latest"
    p("import", str(tarball), image, check=True)
    try:
        yield p, image
    finally:
        p("rm", "--all", "--force", "--time", "0")
        p("rmi", "--all", "--force")
        p("system", "reset", "--force")
        shutil.rmtree(base, ignore_errors=True)
        # podman's cgroupfs parents (conmon's own cgroup): removed once empty
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            for leftover in (hierarchy / "libpod_parent" / "conmon",
                             hierarchy / "libpod_parent"):
                try:
                    leftover.rmdir()
                except OSError:
                    pass  # absent, or in use by another podman


def test_run_rm_and_exit_codes(podman: tuple[Podman, str]) -> None:
    p, image = podman
    out = p.run("--rm", image, "echo", "hello from lxcpy-oci")
    assert (out.returncode, out.stdout) == (0, "hello from lxcpy-oci\n"), out.stderr
    assert p.run("--rm", image, "sh", "-c", "exit 42").returncode == 42
    out = p.run("--rm", image, "nonexistent")
    assert out.returncode == 127 and "executable file not found" in out.stderr
    assert p.run("--rm", image, "/etc").returncode == 126
    assert p("ps", "-a", "-q").stdout == ""  # --rm removed them all


def test_detached_logs_exec_ps_pause_stop_rm(podman: tuple[Podman, str]) -> None:
    p, image = podman
    name = unique("c")
    script = "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"
    cid = p.run("-d", "--name", name, image, "sh", "-c", script, check=True).stdout.strip()
    try:
        assert wait_until(lambda: "started" in p("logs", name).stdout)
        listed = p("ps", "--format", "{{.Names}} {{.Status}}").stdout
        assert f"{name} Up" in listed
        out = p("exec", name, "sh", "-c", "echo in-exec $(cat /proc/1/cmdline | head -c 2); "
                "exit 3")
        assert (out.returncode, out.stdout) == (3, "in-exec sh\n"), out.stderr
        top = p("top", name)
        assert top.returncode == 0 and "sh -c" in top.stdout, top
        p("pause", name, check=True)
        assert p("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "paused"
        p("unpause", name, check=True)
        assert p("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "running"
        p("stop", "-t", "10", name, check=True)
        assert p("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
        assert p("logs", name).stdout == "started\nbye\n"
        p("rm", name, check=True)
    finally:
        p("rm", "--force", "--time", "0", name)
    assert p("ps", "-a", "-q").stdout == ""
    # the container's cgroup went with it (podman's cgroupfs parent is podman's own)
    assert not list(Path("/sys/fs/cgroup").glob(f"*/libpod_parent/libpod-{cid}*"))


def test_run_and_exec_with_a_terminal(podman: tuple[Podman, str]) -> None:
    p, image = podman
    out = p.run("-t", "--rm", image, "sh", "-c", "tty; echo $TERM; exit 5")
    assert out.returncode == 5, out.stderr
    assert out.stdout.split() == ["/dev/console", "xterm"]
    name = unique("c")
    p.run("-d", "--name", name, image, "sleep", "1000", check=True)
    try:
        out = p("exec", "-t", name, "tty")
        assert out.returncode == 0 and out.stdout.strip() == "/dev/pts/0", out
    finally:
        p("rm", "--force", "--time", "0", name, check=True)

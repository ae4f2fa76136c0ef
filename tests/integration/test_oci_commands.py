"""lxcpy-oci's update, events, exec --cap/--cgroup (and the exec options beside them) and
checkpoint/restore against the real kernel, on a busybox-static bundle."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lxcpy.oci.spec import default_spec
from tests.integration.helpers import cgroup_version, tool, unique
from tests.integration.test_oci_podman import podman  # noqa: F401 - its module fixture

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
pytestmark = [pytest.mark.root, pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(BUSYBOX), reason="needs root and busybox")]
CAP_SYS_ADMIN = 21


def oci(root: Path, *args: str, stdin: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """lxcpy-oci with its output through files (a detached container keeps our stdio)."""
    argv = [tool("lxcpy-oci"), "--root", str(root), *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run(argv, stdout=out, stderr=err, text=True, timeout=timeout,
                              input=stdin, **({} if stdin is not None
                                              else {"stdin": subprocess.DEVNULL}))
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())


def one_line_error(out: subprocess.CompletedProcess[str], text: str) -> None:
    assert out.returncode == 1, out
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and text in lines[0], out.stderr


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "state"
    yield root
    if root.exists():
        for cid in os.listdir(root):
            oci(root, "delete", "--force", cid)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle"
    rootfs = path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    for d in ("proc", "dev", "sys", "tmp"):
        (rootfs / d).mkdir()
    shutil.copy(BUSYBOX, rootfs / "bin" / "busybox")
    for applet in ("sh", "sleep", "cat", "grep", "dd", "id", "pwd", "hostname", "true"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    spec = default_spec(terminal=False)
    spec["process"]["args"] = ["sleep", "1000"]
    (path / "config.json").write_text(json.dumps(spec))
    return path


@pytest.fixture
def running(root: Path, bundle: Path) -> str:
    cid = unique("u")
    out = oci(root, "run", "--detach", "--bundle", str(bundle), cid)
    assert out.returncode == 0, out.stderr
    return cid


def record(root: Path, cid: str) -> dict:
    return json.loads((root / cid / "state.json").read_text())


def cgroup_of(root: Path, cid: str, name: str) -> Path:
    """The container's directory holding control file ``name`` (v1 or v2)."""
    for path in record(root, cid)["cgroup_paths"]:
        if (Path(path) / name).exists() and (cgroup_version() == 2 or not
                                             (Path(path) / "cgroup.controllers").exists()):
            return Path(path) / name
    raise AssertionError(f"no {name} in the container's cgroups")


def stats(root: Path, cid: str) -> dict:
    out = oci(root, "events", "--stats", cid)
    assert out.returncode == 0, out.stderr
    event = json.loads(out.stdout)
    assert event["type"] == "stats" and event["id"] == cid
    return event["data"]


# ---- update ------------------------------------------------------------------------------
def test_update_sets_limits_records_them_and_events_agree(root: Path, running: str) -> None:
    cid = running
    v1 = cgroup_version() == 1
    out = oci(root, "update", "--memory", "64m", "--pids-limit", "7", "--cpu-share", "512",
              "--cpu-quota", "20000", "--cpu-period", "100000", "--cpuset-cpus", "0", cid)
    assert out.returncode == 0 and out.stdout == "" and out.stderr == "", out
    mem = "memory.limit_in_bytes" if v1 else "memory.max"
    assert cgroup_of(root, cid, mem).read_text().strip() == str(64 << 20)
    assert cgroup_of(root, cid, "pids.max").read_text().strip() == "7"
    assert cgroup_of(root, cid, "cpuset.cpus").read_text().strip() == "0"
    if v1:
        assert cgroup_of(root, cid, "cpu.shares").read_text().strip() == "512"
        assert cgroup_of(root, cid, "cpu.cfs_quota_us").read_text().strip() == "20000"
    else:
        assert cgroup_of(root, cid, "cpu.max").read_text().split() == ["20000", "100000"]
    data = stats(root, cid)
    assert data["memory"]["usage"]["limit"] == 64 << 20
    assert data["pids"] == {"current": 1, "limit": 7}
    assert data["cpuset"]["cpus"] == [0]
    assert data["cpu"]["usage"]["total"] > 0
    assert record(root, cid)["resources"] == {
        "memory": {"limit": 64 << 20}, "pids": {"limit": 7},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0"}}
    # --resources from stdin (runc: the other flags are then ignored); values merge
    out = oci(root, "update", "--resources", "-", "--pids-limit", "99", cid,
              stdin=json.dumps({"memory": {"limit": 96 << 20}, "pids": {"limit": 3}}))
    assert out.returncode == 0, out.stderr
    assert cgroup_of(root, cid, mem).read_text().strip() == str(96 << 20)
    assert stats(root, cid)["pids"]["limit"] == 3
    assert record(root, cid)["resources"]["memory"] == {"limit": 96 << 20}
    assert record(root, cid)["resources"]["cpu"]["shares"] == 512
    # the limit acts: with pids.max 3 the container (init + sh) cannot fork twice more
    out = oci(root, "exec", cid, "sh", "-c", "sleep 100 & sleep 100 & sleep 100 & echo done")
    assert "done" not in out.stdout and "fork" in out.stderr.lower() + out.stdout.lower(), out
    assert oci(root, "update", "--pids-limit", "50", cid).returncode == 0
    out = oci(root, "exec", cid, "sh", "-c", "sleep 0 & sleep 0 & sleep 0 & wait; echo done")
    assert out.returncode == 0 and "done" in out.stdout, out


def test_update_errors_are_runcs(root: Path, running: str, tmp_path: Path) -> None:
    cid = running
    for args, stdin, text in (
            (["--memory", "abc"], None, "invalid value for memory: invalid size: 'abc'"),
            (["--pids-limit", "x"], None, "invalid value for pids-limit"),
            (["--cpu-share", "1"], None, "the minimum allowed cpu-shares is 2"),
            (["--resources", "-"], "{bad", "stdin:"),
            (["--resources", "-"], '{"network": {"classID": 1}}',
             "linux.resources.network cannot be changed"),
            (["--resources", str(tmp_path / "missing.json")], None, "no such file"),
    ):
        one_line_error(oci(root, "update", *args, cid, stdin=stdin), text)
    assert record(root, cid)["resources"] == {}
    # a write the kernel refuses after one it took: that one is set back (runc's way)
    mem = cgroup_of(root, cid, "memory.limit_in_bytes" if cgroup_version() == 1
                    else "memory.max")
    before = mem.read_text()
    one_line_error(oci(root, "update", "--memory", "48m", "--cpuset-cpus", "4096", cid),
                   "failed to write \"4096\"")
    assert mem.read_text() == before and record(root, cid)["resources"] == {}
    one_line_error(oci(root, "update", "--memory", "1m", "nosuch"),
                   "container does not exist: nosuch")
    assert oci(root, "kill", cid, "KILL").returncode == 0
    oci(root, "delete", cid)  # stopped now (or on its way): delete works either way
    one_line_error(oci(root, "update", "--memory", "1m", cid), "container does not exist")


# ---- events ------------------------------------------------------------------------------
def test_events_streams_stats_and_oom_then_ends_with_the_container(root: Path,
                                                                   running: str) -> None:
    cid = running
    v1 = cgroup_version() == 1
    swap = (v1 and Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()) or \
        not v1
    args = ["--memory", "32m"] + (["--memory-swap", "32m"] if swap else [])
    assert oci(root, "update", *args, cid).returncode == 0
    events = subprocess.Popen([tool("lxcpy-oci"), "--root", str(root), "events",
                               "--interval", "1h", cid], stdout=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
    try:
        first = json.loads(events.stdout.readline())  # printed once the OOM watch is armed
        assert first["type"] == "stats" and first["data"]["memory"]["usage"]["limit"] == 32 << 20
        # a 64 MiB buffer filled from /dev/zero in a 32 MiB cgroup: the kernel OOM-kills dd
        out = oci(root, "exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
        assert out.returncode == 137, out
        ready, _, _ = select.select([events.stdout], [], [], 10)
        assert ready, "no event after the OOM kill"
        assert json.loads(events.stdout.readline()) == {"type": "oom", "id": cid}
        assert oci(root, "kill", cid, "KILL").returncode == 0
        assert events.wait(timeout=10) == 0  # the init's exit ends the stream
    finally:
        if events.poll() is None:
            events.kill()
            events.wait()
    one_line_error(oci(root, "events", "--interval", "soon", cid), "invalid value")


# ---- exec options --------------------------------------------------------------------------
def cap_bounding(text: str) -> int:
    line = next(x for x in text.splitlines() if x.startswith("CapBnd:"))
    return int(line.split()[1], 16)


def test_exec_cap_adds_capabilities(root: Path, running: str) -> None:
    cid = running
    # the default spec's init lacks CAP_SYS_ADMIN: so does a plain exec ...
    out = oci(root, "exec", cid, "grep", "Cap", "/proc/self/status")
    assert out.returncode == 0 and not cap_bounding(out.stdout) & 1 << CAP_SYS_ADMIN
    denied = oci(root, "exec", cid, "hostname", "changed")
    assert denied.returncode != 0
    # ... and --cap gives it to that process alone (bounding, permitted, effective)
    out = oci(root, "exec", "--cap", "CAP_SYS_ADMIN", cid, "grep", "Cap", "/proc/self/status")
    assert out.returncode == 0 and cap_bounding(out.stdout) & 1 << CAP_SYS_ADMIN, out
    eff = next(x for x in out.stdout.splitlines() if x.startswith("CapEff:"))
    assert int(eff.split()[1], 16) & 1 << CAP_SYS_ADMIN
    assert oci(root, "exec", "--cap", "CAP_SYS_ADMIN", cid, "hostname", "changed").returncode == 0
    assert oci(root, "exec", cid, "hostname").stdout.strip() == "changed"
    init = Path(f"/proc/{record(root, cid)['pid']}/status").read_text()
    assert not cap_bounding(init) & 1 << CAP_SYS_ADMIN  # the init is untouched
    one_line_error(oci(root, "exec", "--cap", "CAP_NOPE", cid, "true"),
                   'unknown capability "CAP_NOPE"')


def test_exec_cgroup_user_env_cwd_and_refusals(root: Path, running: str) -> None:
    cid = running
    pids = cgroup_of(root, cid, "pids.max").parent
    (pids / "sub").mkdir()
    try:
        spec = "pids:sub" if cgroup_version() == 1 else "sub"
        out = oci(root, "exec", "--cgroup", spec, cid, "cat", "/proc/self/cgroup")
        assert out.returncode == 0, out.stderr
        assert any(line.endswith("/sub") for line in out.stdout.splitlines()), out.stdout
        one_line_error(oci(root, "exec", "--cgroup", "nosuch", cid, "true"),
                       "no such sub-cgroup")
    finally:
        (pids / "sub").rmdir()
    out = oci(root, "exec", "-u", "1000:1001", "-g", "5,6", "--cwd", "/tmp", "-e", "FOO=bar",
              "--no-new-privs", cid, "sh", "-c",
              "id; pwd; echo $FOO; grep NoNewPrivs /proc/self/status")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["uid=1000 gid=1001 groups=5,6", "/tmp", "bar"]
    assert out.stdout.split("\n")[3].split() == ["NoNewPrivs:", "1"]
    for args, text in ((["--apparmor", "p"], "no LSM is enabled"),
                       (["--process-label", "l"], "no LSM is enabled"),
                       (["-u", "nobody"], "uid and gid must be numbers"),
                       (["--cwd", "tmp"], "is not an absolute path")):
        one_line_error(oci(root, "exec", *args, cid, "true"), text)


# ---- checkpoint / restore ----------------------------------------------------------------
def test_checkpoint_and_restore_refuse_in_one_line(root: Path, running: str, bundle: Path,
                                                   tmp_path: Path) -> None:
    """CRIU 3.17 cannot read this kernel's vDSO (runc's checkpoint fails here too): both
    commands say why in one line, the container keeps running and nothing is made."""
    cid = running
    images = tmp_path / "images"
    out = oci(root, "checkpoint", "--image-path", str(images), "--leave-running", cid)
    one_line_error(out, "checkpoint: ")
    assert "criu" in out.stderr.lower()
    assert json.loads(oci(root, "state", cid).stdout)["status"] == "running"
    assert not images.exists()
    one_line_error(oci(root, "checkpoint", "nosuch"), "container does not exist: nosuch")
    images.mkdir()
    other = unique("r")
    out = oci(root, "restore", "--image-path", str(images), "--bundle", str(bundle), other)
    one_line_error(out, "restore: ")
    assert "criu" in out.stderr.lower()
    assert not (root / other).exists()
    one_line_error(oci(root, "restore", "--image-path", str(tmp_path / "none"), "--bundle",
                       str(bundle), other), "no such file or directory")
    one_line_error(oci(root, "restore", "--image-path", str(images), "--bundle",
                       str(bundle), cid), f"container with id exists: {cid}")


# ---- a real client: podman update ------------------------------------------------------------

def test_podman_update_reaches_the_cgroups(podman) -> None:  # noqa: ANN001, F811
    p, image = podman
    out = p.run("-d", image, "sleep", "1000")
    assert out.returncode == 0, out.stderr
    cid = out.stdout.strip()
    try:
        # podman writes linux.resources to a file and calls `update --resources=FILE ID`
        out = p("update", "--memory", "64m", "--cpu-shares", "512", cid)
        assert out.returncode == 0, out.stderr
        pid = p("inspect", "--format", "{{.State.Pid}}", cid).stdout.strip()
        own = dict(line.split(":", 2)[1:] for line in
                   Path(f"/proc/{pid}/cgroup").read_text().splitlines())
        if cgroup_version() == 1:
            base = Path("/sys/fs/cgroup")
            assert (base / "memory" / own["memory"].lstrip("/") /
                    "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
            assert (base / "cpu" / own["cpu"].lstrip("/") /
                    "cpu.shares").read_text().strip() == "512"
        else:
            assert (Path("/sys/fs/cgroup") / own[""].lstrip("/") /
                    "memory.max").read_text().strip() == str(64 << 20)
    finally:
        p("rm", "-f", "-t", "0", cid)

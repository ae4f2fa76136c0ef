"""Backing stores through the installed commands: lxc-create -B overlay|loop|btrfs, a start
on each, and nothing left behind (mounts, loop devices, subvolumes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import cleanup_lxcpath, lxc, unique, wait_until

pytestmark = pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` in our mount namespace (the host's)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == str(path) or point.startswith(f"{path}/"):
            found.append(point)
    return found


def loops_of(image: Path) -> str:
    return subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True,
                          check=True).stdout


def make_busybox(lxcpath: Path, *args: str) -> str:
    name = unique()
    conf = lxcpath.parent / f"{name}.conf"
    conf.write_text(f"lxc.uts.name = {name}\n")
    lxc("create", "-n", name, "-f", str(conf), "-t", "busybox", *args, lxcpath=lxcpath,
        check=True, timeout=120)
    return name


def run_in(lxcpath: Path, name: str, script: str) -> str:
    result = lxc("execute", "-n", name, "--", "sh", "-c", script, lxcpath=lxcpath, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_overlay_store_writes_only_its_upper(lxcpath: Path) -> None:
    name = make_busybox(lxcpath, "-B", "overlay")
    cdir = lxcpath / name
    config = (cdir / "config").read_text()
    assert f"lxc.rootfs.path = overlay:{cdir}/rootfs:{cdir}/delta0\n" in config
    assert (cdir / "delta0" / "bin" / "busybox").is_file()
    assert run_in(lxcpath, name, "echo new > /made; cat /made; hostname") == f"new\n{name}\n"
    assert (cdir / "delta0" / "made").read_text() == "new\n"
    assert not (cdir / "rootfs" / "made").exists()  # the lower is never written
    assert mounts_under(lxcpath) == []
    lxc("destroy", "-n", name, lxcpath=lxcpath, check=True)
    assert not cdir.exists()


def test_loop_store_fssize_and_device_released(lxcpath: Path) -> None:
    # the busybox config's device allow-list has no loop devices: the store is mounted
    # before the container's cgroup rules apply
    name = make_busybox(lxcpath, "-B", "loop", "--fssize", "64M")
    image = lxcpath / name / "rootdev"
    assert (lxcpath / name / "config").read_text().count(f"lxc.rootfs.path = loop:{image}") == 1
    assert image.stat().st_size == 64 << 20
    assert loops_of(image) == ""
    out = run_in(lxcpath, name, "echo kept > /kept; grep ' / ' /proc/mounts")
    assert out.split()[0].startswith("/dev/loop") and out.split()[2] == "ext4"
    assert run_in(lxcpath, name, "cat /kept") == "kept\n"
    # the image holds the data: nothing was written to the mount point directory
    assert list((lxcpath / name / "rootfs").iterdir()) == []
    assert loops_of(image) == "" and mounts_under(lxcpath) == []
    lxc("destroy", "-n", name, lxcpath=lxcpath, check=True)
    assert not (lxcpath / name).exists()


def test_handwritten_overlay_config_over_an_existing_rootfs(lxcpath: Path) -> None:
    base = make_busybox(lxcpath)
    name = unique()
    upper = lxcpath.parent / f"{name}-store" / "delta0"
    upper.mkdir(parents=True)
    conf = lxcpath.parent / f"{name}.conf"
    conf.write_text(f"lxc.uts.name = {name}\n"
                    f"lxc.rootfs.path = overlay:{lxcpath / base / 'rootfs'}:{upper}\n")
    lxc("create", "-n", name, "-f", str(conf), lxcpath=lxcpath, check=True)
    assert run_in(lxcpath, name, "echo x > /etc/mine; ls /bin/busybox") == "/bin/busybox\n"
    assert (upper / "etc" / "mine").is_file()
    assert not (lxcpath / base / "rootfs" / "etc" / "mine").exists()
    shutil.rmtree(upper.parent)


@pytest.mark.parametrize(("value", "message"), [
    ("lvm:/dev/vg/lv", "storage backend 'lvm' is not supported by lxcpy"),
    ("overlay:/only-one", "is not overlay:LOWER:UPPER"),
])
def test_bad_store_spelling_refused_at_create(lxcpath: Path, value: str, message: str) -> None:
    conf = lxcpath.parent / "bad.conf"
    conf.write_text(f"lxc.rootfs.path = {value}\n")
    result = lxc("create", "-n", "bad", "-f", str(conf), lxcpath=lxcpath)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert f"{conf}:1: lxc.rootfs.path" in result.stderr
    assert not (lxcpath / "bad").exists()


def test_btrfs_refused_on_another_file_system(lxcpath: Path) -> None:
    if subprocess.run(["stat", "-f", "-c", "%T", str(lxcpath)], capture_output=True,
                      text=True).stdout.strip() == "btrfs":
        pytest.skip("the test lxcpath is on btrfs")
    result = lxc("create", "-n", "b", "-t", "none", "-B", "btrfs", lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, f"lxc-create: b: btrfs: {lxcpath / 'b'} is not on a btrfs file system\n")
    assert not (lxcpath / "b").exists()


# ---- btrfs: a loop-mounted btrfs image made here ------------------------------------------
def _have_mkfs_btrfs() -> bool:
    if shutil.which("mkfs.btrfs") is None and os.environ.get("LXCPY_NO_APT") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "btrfs-progs"],
                       capture_output=True, timeout=300)
    return shutil.which("mkfs.btrfs") is not None and shutil.which("btrfs") is not None


def _private_mounts() -> None:
    """The test process (and the commands it runs) in a mount namespace of its own, the
    host's mounts still propagating in: a container another test starts meanwhile would
    otherwise copy the btrfs mount into its namespace and keep the loop device busy."""
    from lxcpy import kernel as k

    if _PRIVATE:
        return  # done already (once per test process)
    k.unshare(k.CLONE_NEWNS)
    k.mount(None, "/", None, k.MS_REC | k.MS_SLAVE, None)
    _PRIVATE.append(True)


_PRIVATE: list[bool] = []


@pytest.fixture
def btrfs_lxcpath(tmp_path: Path) -> Iterator[Path]:
    if not _have_mkfs_btrfs():
        pytest.skip("mkfs.btrfs (btrfs-progs) is not installed and could not be installed")
    image = tmp_path / "btrfs.img"
    with open(image, "wb") as f:
        f.truncate(256 << 20)
    subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True, capture_output=True)
    _private_mounts()
    point = tmp_path / "mnt"
    point.mkdir()
    device = subprocess.run(["losetup", "--find", "--show", str(image)], check=True,
                            capture_output=True, text=True).stdout.strip()
    try:
        subprocess.run(["mount", "-t", "btrfs", device, str(point)], check=True)
        lxcpath = point / "lxc"
        lxcpath.mkdir()
        try:
            yield lxcpath
        finally:
            cleanup_lxcpath(lxcpath)
            subprocess.run(["umount", str(point)], check=True)
    finally:
        subprocess.run(["losetup", "-d", device], check=True)
    # a busy device is detached once btrfs lets it go (losetup -d: autoclear)
    assert wait_until(lambda: loops_of(image) == "", timeout=20)


def subvolumes(root: Path) -> list[str]:
    out = subprocess.run(["btrfs", "subvolume", "list", "-o", str(root)], check=True,
                         capture_output=True, text=True).stdout
    return sorted(line.split(" path ")[-1] for line in out.splitlines())


def test_btrfs_store_subvolume_snapshot_and_removal(btrfs_lxcpath: Path) -> None:
    lxcpath = btrfs_lxcpath
    name = make_busybox(lxcpath, "-B", "btrfs")
    assert f"lxc.rootfs.path = btrfs:{lxcpath / name / 'rootfs'}\n" in \
        (lxcpath / name / "config").read_text()
    assert subvolumes(lxcpath.parent) == [f"lxc/{name}/rootfs"]
    assert run_in(lxcpath, name, "echo one > /one; cat /one") == "one\n"
    snap = unique()
    lxc("copy", "-n", name, "-N", snap, "-s", lxcpath=lxcpath, check=True, timeout=60)
    assert f"lxc.rootfs.path = btrfs:{lxcpath / snap / 'rootfs'}\n" in \
        (lxcpath / snap / "config").read_text()
    assert sorted(subvolumes(lxcpath.parent)) == sorted([f"lxc/{name}/rootfs",
                                                        f"lxc/{snap}/rootfs"])
    assert run_in(lxcpath, snap, "cat /one; echo two > /one") == "one\n"
    assert (lxcpath / name / "rootfs" / "one").read_text() == "one\n"
    # btrfs snapshots a running container (lxc-snapshot; lxc-copy -s -a), live
    lxc("start", "-n", name, "-d", "--", "sleep", "300", lxcpath=lxcpath, check=True)
    try:
        lxc("snapshot", "-n", name, lxcpath=lxcpath, check=True, timeout=60)
        live = unique()
        lxc("copy", "-n", name, "-N", live, "-s", "-a", lxcpath=lxcpath, check=True)
        assert (lxcpath / live / "rootfs" / "one").read_text() == "one\n"
        assert (lxcpath / name / "snaps" / "snap0" / "rootfs" / "one").read_text() == "one\n"
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
    lxc("destroy", "-n", live, lxcpath=lxcpath, check=True)
    # a btrfs snapshot is independent: the origin goes without its clone (-s: its snaps/)
    lxc("destroy", "-n", name, "-s", lxcpath=lxcpath, check=True)
    lxc("destroy", "-n", snap, lxcpath=lxcpath, check=True)
    assert subvolumes(lxcpath.parent) == []


@pytest.mark.parametrize("bdev", ["overlay", "loop", "dir"])
def test_failed_template_leaves_nothing(lxcpath: Path, bdev: str) -> None:
    result = lxc("create", "-n", "f", "-t", "busybox", "-B", bdev, "--", "--bogus",
                 lxcpath=lxcpath, timeout=60)
    assert (result.returncode, result.stderr) == (
        1, "lxc-create: f: busybox template: unrecognized arguments: --bogus\n")
    assert not (lxcpath / "f").exists()
    assert mounts_under(lxcpath) == []
    attached = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    assert str(lxcpath) not in attached


def test_bad_fssize_refused_before_anything(lxcpath: Path) -> None:
    result = lxc("create", "-n", "f", "-t", "none", "-B", "loop", "--fssize", "lots",
                 lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, "lxc-create: f: --fssize: 'lots' is not a size (e.g. 500M, 2G)\n")
    assert not (lxcpath / "f").exists()
